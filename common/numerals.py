"""Chinese numerals as legal texts write them (第一百零五条, 第二十一条, 第三款) and roman numerals (Annex XV): the one
converter both sides use."""

from __future__ import annotations

_DIGITS = "零一二三四五六七八九"
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
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


def to_roman(n: int) -> str:
    """1..3999 in roman numerals (Annex 15 is Annex XV); "" for anything else."""
    if not 0 < n < 4000:
        return ""
    out = ""
    for value, letters in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        count, n = divmod(n, value)
        out += letters * count
    return out


def from_roman(numeral: str) -> int | None:
    """XV -> 15, IV -> 4; None when ``numeral`` holds anything but roman letters (upper case)."""
    if not numeral or any(c not in _ROMAN_VALUES for c in numeral):
        return None
    values = [_ROMAN_VALUES[c] for c in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))
