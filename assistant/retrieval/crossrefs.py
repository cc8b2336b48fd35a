"""Cross-references: clauses that the given clauses refer to ("按照《互联网信息服务深度合成管理规定》…",
"第十七条", "referred to in Article 6(2)"), added as supporting context."""

from __future__ import annotations

import re

import numpy as np

from assistant.retrieval.index import ClauseIndex

# The grammar of references inside clause text, not tunable.
_XREF_CN = re.compile(r"(?:《([^》]+)》)?第([一二三四五六七八九十百零]+)条")
_XREF_EN = re.compile(r"\bArticles?\s+(\d+)(?:\(\d+\))?")
_BOOK_OR_ARTICLE = re.compile(r"《[^》]+》|第[一二三四五六七八九十百零]+条")
_XREF_DOC = re.compile(r"《([^》]+)》(?!\s*第[一二三四五六七八九十百零]+条)")


def _referenced_by(index: ClauseIndex, row: int, keep: np.ndarray) -> list[int]:
    """The rows one clause refers to (same document unless another one is named)."""
    meta, text = index.metas[row], index.texts[row]
    out: list[int] = []
    for m in _XREF_CN.finditer(text):
        doc_id = index.resolver.resolve_title(m.group(1)) if m.group(1) else meta["doc_id"]
        unit = f"第{m.group(2)}条"
        if doc_id and unit != meta["unit"]:
            out += [r for r in index.rows_of_unit(doc_id, unit)[:1] if keep[r]]
    for m in _XREF_DOC.finditer(text):  # 按照《互联网信息服务深度合成管理规定》…: its best matching clause
        doc_id = index.resolver.resolve_title(m.group(1))
        if doc_id and doc_id != meta["doc_id"]:
            topic = _BOOK_OR_ARTICLE.sub(" ", text)  # what the clause is about, not whom it cites
            scores = np.where(keep & (index.doc_of == doc_id), index.keyword.scores(topic), 0.0)
            if scores.max() > 0:
                out.append(int(scores.argmax()))
    for m in _XREF_EN.finditer(text):
        unit = f"Article {m.group(1)}"
        if unit != meta["unit"]:
            out += [r for r in index.rows_of_unit(meta["doc_id"], unit)[:1] if keep[r]]
    return out


def cross_references(index: ClauseIndex, rows: list[int], keep: np.ndarray, limit: int) -> list[int]:
    """Clauses referred to by the given clauses, not among them, at most ``limit``."""
    out: list[int] = []
    for row in rows:
        out += _referenced_by(index, row, keep)
    return [r for r in dict.fromkeys(out) if r not in rows][:limit]
