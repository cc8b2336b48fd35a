"""The sentences of a clause, and their embeddings kept beside the index.

``sentences(text)`` splits a clause into [start, end) spans (Markdown heading, list and quote marks and a leading
"第N条" label left out); the answer's lead (assistant/answering/lead.py) quotes from them. ``sync_sentence_vectors``
embeds every sentence of the collection at ingest (reused by content hash) and ``load_sentence_vectors`` reads them
when answering, so that the lead's sentence model has a sentence's similarity to the question without embedding it
while the user waits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.text_vectors import load_text_vectors, sync_text_vectors, text_key

# A full stop ends a sentence before a space or the end, but not after an abbreviation ("etc.", "Jan.", "No.") nor
# before a word in lower case ("… sales, etc. as prescribed by Presidential Decree": one sentence).
_ABBREVIATIONS = (
    "etc",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Sept",
    "Oct",
    "Nov",
    "Dec",
    "No",
    "Nos",
    "Art",
    "Sec",
    "para",
    "e.g",
    "i.e",
    "cf",
    "vs",
    "Co",
    "Inc",
    "Ltd",
    "U.S.C",
    "U.S",
    "p",
    "pp",
    "seq",
    "al",
)
_SENTENCE_END = re.compile(  # the full stop first, then what precedes it: the abbreviations are checked only at a "."
    r"[。；！？!?;]|\." + "".join(rf"(?<!\b{re.escape(a)}\.)" for a in _ABBREVIATIONS) + r"(?=\s*$|\s+(?![a-z]))|\n"
)
_LINE_MARK = re.compile(r"^(#{1,6}\s+|[-*+]\s+|>\s*)")
_HEADING_LINE = re.compile(r"(?m)^[ \t]*#{1,6}\s.*$")
_UNIT_LABEL = re.compile(r"^第[一二三四五六七八九十百零]+条\s*")


def sentences(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence of a clause (ends kept; Markdown heading/list marks excluded)."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append((start, m.end()))
        start = m.end()
    if start < len(text):
        out.append((start, len(text)))
    # a heading is a title, not a sentence, also where a full stop inside it ("#### 4.5. Reducing the Risks …") cuts it
    headings = [(m.start(), m.end()) for m in _HEADING_LINE.finditer(text)]
    spans = []
    for s, e in out:
        chunk = text[s:e]
        lead_ws = len(chunk) - len(chunk.lstrip())
        s += lead_ws
        if any(a <= s < b for a, b in headings):
            continue
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
    """Unit-length embeddings of the collection's sentences, by text key (``text_vectors.text_key``: the model and
    the sentence)."""

    model: str
    rows: dict[str, int]
    vectors: np.ndarray

    def get(self, sentence: str) -> np.ndarray | None:
        row = self.rows.get(text_key(self.model, sentence))
        return None if row is None else self.vectors[row]


def sync_sentence_vectors(
    texts: Sequence[str], directory: Path, model: str, embed: Callable[[list[str]], np.ndarray]
) -> SentenceVectors:
    """At ingest: the embeddings of every sentence of these clause texts (``text_vectors.py``: reused by content
    hash, the new ones embedded, the file rewritten)."""
    wanted = list(dict.fromkeys(text[s:e] for text in texts for s, e in sentences(text)))
    vectors = sync_text_vectors(wanted, directory, model, embed)
    return SentenceVectors(model, {text_key(model, t): n for n, t in enumerate(wanted)}, vectors)


def load_sentence_vectors(directory: Path, model: str) -> SentenceVectors:
    """When answering: the embeddings ingest saved, read only (a sentence missing from them is embedded by the
    lead when it needs it)."""
    known = load_text_vectors(directory)
    keys = list(known)
    vectors = np.vstack([known[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)
    return SentenceVectors(model, {k: n for n, k in enumerate(keys)}, vectors)
