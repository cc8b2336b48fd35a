"""The one converter of Chinese and roman numerals (common/numerals.py)."""

from __future__ import annotations

import pytest

from common.numerals import cn_to_int, from_roman, int_to_cn, to_roman


@pytest.mark.parametrize(
    "n, text",
    [
        (1, "一"),
        (10, "十"),
        (11, "十一"),
        (20, "二十"),
        (21, "二十一"),
        (99, "九十九"),
        (100, "一百"),
        (105, "一百零五"),
        (110, "一百一十"),
        (999, "九百九十九"),
    ],
)
def test_legal_numbering(n, text):
    assert int_to_cn(n) == text and cn_to_int(text) == n


@pytest.mark.parametrize("n", list(range(1, 1000)))
def test_round_trip(n):
    assert cn_to_int(int_to_cn(n)) == n


def test_outside_the_range_and_not_numerals():
    assert [int_to_cn(n) for n in (0, -1, 1000)] == ["0", "-1", "1000"]
    assert cn_to_int("两") == 2 and cn_to_int("〇") == 0
    assert cn_to_int("第十条") is None and cn_to_int("12") is None


@pytest.mark.parametrize(
    "n, numeral", [(1, "I"), (4, "IV"), (9, "IX"), (13, "XIII"), (15, "XV"), (40, "XL"), (1994, "MCMXCIV")]
)
def test_roman_numerals_both_ways(n, numeral):
    assert to_roman(n) == numeral and from_roman(numeral) == n


def test_what_is_not_a_roman_numeral():
    assert to_roman(0) == "" and to_roman(4000) == ""
    assert from_roman("") is None and from_roman("XA") is None
