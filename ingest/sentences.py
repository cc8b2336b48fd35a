"""The sentences of a clause, and their embeddings kept beside the index.

``sentences(text)`` splits a clause into [start, end) spans (Markdown heading, list and quote marks and a leading
"第N条" label left out); the answer's lead (assistant/answering/lead.py) quotes from them. ``sync_sentence_vectors``
embeds every sentence of the collection at ingest (reused by content hash), so that the lead's sentence model reads
a sentence's similarity to the question without embedding it while the user waits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.text_vectors import sync_text_vectors

_SENTENCE_END = re.compile(r"[。；！？!?;]|\.(?=\s|$)|\n")
_LINE_MARK = re.compile(r"^(#{1,6}\s+|[-*+]\s+|>\s*)")
_UNIT_LABEL = re.compile(r"^第[一二三四五六七八九十百零]+条\s*")


def sentences(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence of a clause (ends kept; Markdown heading/list marks excluded)."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append((start, m.end()))
        start = m.end()
    if start < len(text):
        out.append((start, len(text)))
    spans = []
    for s, e in out:
        chunk = text[s:e]
        lead_ws = len(chunk) - len(chunk.lstrip())
        s += lead_ws
        mark = _LINE_MARK.match(text[s:e])
        if mark:
            if mark.group(1).startswith("#"):
                continue  # a heading is a title, not a sentence
            s += mark.end()
        label = _UNIT_LABEL.match(text[s:e])
        if label:  # "第十二条 提供者应当…": the sentence starts after the article's label
            s += label.end()
        e = s + len(text[s:e].rstrip())
        if e > s:
            spans.append((s, e))
    return spans


@dataclass(frozen=True)
class SentenceVectors:
    """Unit-length embeddings of the collection's sentences."""

    rows: dict[str, int]
    vectors: np.ndarray

    def get(self, sentence: str) -> np.ndarray | None:
        row = self.rows.get(sentence)
        return None if row is None else self.vectors[row]


def sync_sentence_vectors(
    texts: Sequence[str], directory: Path, model: str, embed: Callable[[list[str]], np.ndarray]
) -> SentenceVectors:
    """The embeddings of every sentence of these clause texts (``text_vectors.py``: reused by content hash)."""
    wanted = list(dict.fromkeys(text[s:e] for text in texts for s, e in sentences(text)))
    return SentenceVectors({t: n for n, t in enumerate(wanted)}, sync_text_vectors(wanted, directory, model, embed))
