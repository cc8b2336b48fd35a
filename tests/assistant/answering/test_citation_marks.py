"""The [n] marks of a generated reply (assistant/answering/citation_marks.py): invalid numbers are removed from the
whole reply and from the reply as it streams, however the stream cuts it."""

from __future__ import annotations

import pytest

from assistant.answering.citation_marks import CitationStreamFilter, check_citations


@pytest.mark.parametrize(
    "text, valid, expected",
    [
        ("a [1] b [2].", {1, 2}, ("a [1] b [2].", [1, 2], [])),
        ("a [1][9] b [9] .", {1}, ("a [1] b.", [1], [9])),
        ("规定[3]。另见[4]。", {3}, ("规定[3]。另见。", [3], [4])),
        ("no citations", {1}, ("no citations", [], [])),
        ("[2] first, then [1], then [2] again", {1, 2}, ("[2] first, then [1], then [2] again", [2, 1], [])),
    ],
)
def test_check_citations(text, valid, expected):
    assert check_citations(text, valid) == expected


@pytest.mark.parametrize(
    "text, valid",
    [
        ("a [1][9] b [9] .", {1}),
        ("规定[3]。另见[4]。", {3}),
        ("see [12] and [9].", {12}),
        ("x [1] [2] [3]", {1, 2, 3}),
        ("open [ bracket and [abc] [1", {1}),
    ],
)
def test_streamed_text_is_cleaned_the_same_wherever_the_chunks_are_cut(text, valid):
    """A mark split across chunks ("[1" + "2]") is judged whole: the streamed text, cut at any two places, is the
    whole reply cleaned by ``check_citations``."""
    expected = check_citations(text, valid)[0]
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1):
            shown = CitationStreamFilter(valid)
            streamed = "".join([shown.feed(text[:i]), shown.feed(text[i:j]), shown.feed(text[j:]), shown.flush()])
            assert streamed == expected, (text[:i], text[i:j], text[j:])
