"""The [n] marks of a generated answer, checked against the citations the model was offered: ``check_citations``
for a whole reply, ``CitationStreamFilter`` for a reply as it streams. The answer service uses both (the generator
only produces text)."""

from __future__ import annotations

import re

_CITATION = re.compile(r"\[(\d{1,3})\]")


def check_citations(text: str, valid: set[int]) -> tuple[str, list[int], list[int]]:
    """(text with invalid [n] removed, valid numbers cited in order, invalid numbers found)."""
    cited, invalid = [], []

    def keep_or_drop(m: re.Match) -> str:
        n = int(m.group(1))
        if n in valid:
            if n not in cited:
                cited.append(n)
            return m.group(0)
        if n not in invalid:
            invalid.append(n)
        return ""

    cleaned = _CITATION.sub(keep_or_drop, text)
    cleaned = re.sub(r"[ \t]+([。，；,.;])", r"\1", cleaned)
    return cleaned, cited, invalid


class CitationStreamFilter:
    """Drops invalid ``[n]`` marks from streamed text as it arrives (a mark may be split across chunks), and
    the blank before a dropped mark when punctuation follows it ("see [9]." -> "see.")."""

    _PUNCTUATION = set("。，；：！？、,.;:!?)）")

    def __init__(self, valid: set[int]) -> None:
        self.valid = valid
        self.pending = ""  # an unfinished "[1" waiting for its "]"
        self.blanks = ""  # blanks not yet shown: they are dropped if a removed mark and punctuation follow
        self.dropped = False  # a mark was just removed

    def _emit(self, out: list[str], ch: str) -> None:
        if ch in " \t":
            self.blanks += ch
            return
        if not (self.dropped and ch in self._PUNCTUATION):
            out.append(self.blanks)
        self.blanks = ""
        self.dropped = False
        out.append(ch)

    def feed(self, delta: str) -> str:
        text = self.pending + delta
        out: list[str] = []
        self.pending = ""
        i = 0
        while i < len(text):
            if text[i] != "[":
                self._emit(out, text[i])
                i += 1
                continue
            m = re.match(r"\[(\d{0,3})(\]?)", text[i:])
            assert m is not None  # "[" always matches
            if m.end() == len(text) - i and not m.group(2) and len(m.group(1)) < 3:
                self.pending = text[i:]  # "[", "[1": wait for the rest
                break
            if m.group(2) and m.group(1):  # a complete [n]
                if int(m.group(1)) in self.valid:
                    for ch in m.group(0):
                        self._emit(out, ch)
                else:
                    self.dropped = True
                i += m.end()
            else:
                self._emit(out, "[")
                i += 1
        return "".join(out)

    def flush(self) -> str:
        rest = ("" if self.dropped else self.blanks) + self.pending
        self.pending = self.blanks = ""
        return rest
