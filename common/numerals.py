"""Chinese numerals as legal texts write them (第一百零五条, 第二十一条, 第三款): the one converter both sides use."""

from __future__ import annotations

_DIGITS = "零一二三四五六七八九"
_VALUES = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def int_to_cn(n: int) -> str:
    """1 -> 一, 10 -> 十, 21 -> 二十一, 105 -> 一百零五, 110 -> 一百一十; 0, negatives and 1000+ stay Arabic."""
    if n <= 0:
        return str(n)
    if n < 10:
        return _DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        out = _DIGITS[hundreds] + "百"
        if rest == 0:
            return out
        if rest < 10:
            return out + "零" + _DIGITS[rest]
        tens, ones = divmod(rest, 10)
        return out + _DIGITS[tens] + "十" + (_DIGITS[ones] if ones else "")
    return str(n)


def cn_to_int(text: str) -> int | None:
    """一百零五 -> 105, 二十一 -> 21, 十 -> 10, 两 -> 2; None when ``text`` holds anything but numerals up to 百."""
    total, current = 0, 0
    for ch in text:
        if ch in _VALUES:
            current = _VALUES[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current
