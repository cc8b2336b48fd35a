"""How an answer names documents and clauses: 《生成式人工智能服务管理暂行办法》第十二条, EU AI Act Article 5(1)(d)–(f),
with the catalog's short titles and editions and a "revoked" mark; and the ``Citation`` of a retrieved clause."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from assistant.answering.models import Citation
from assistant.answering.policy import policy
from assistant.retrieval import HybridRetriever, RetrievedClause
from common.documents import DocumentMeta
from ingest.applicability import applicability_of
from ingest.catalog import load_catalog

_POINT_START = re.compile(r"^(?:\(([0-9]+|[a-z]{1,4})\)|([0-9]+)\.|[（(]([一二三四五六七八九十]+)[）)])\s*", re.M)


class DocumentNames:
    """Titles and labels over the retriever's index (read on each call: the index reloads in place)."""

    def __init__(self, retriever: HybridRetriever, catalog_path: Path) -> None:
        self.retriever = retriever
        catalog = load_catalog(catalog_path)
        self._short_titles = {k: v.short_title for k, v in catalog.items() if v.short_title}
        self._editions = {k: v.edition for k, v in catalog.items() if v.edition}

    def document_title(self, doc_id: str) -> str:
        info = self.retriever.index.docs.get(doc_id)
        if info is None:
            return doc_id
        if info.language == "zh":
            edition = self._editions.get(doc_id)
            return f"《{info.title}》" + (f"（{edition}）" if edition else "")
        return self._short_titles.get(doc_id) or info.title

    def clause_label(self, clause: RetrievedClause, language: str, locator: str | None = None) -> str:
        title = self.document_title(clause.doc_id)
        locator = locator or clause.locator + span_end(clause)
        label = f"{title}{locator}" if title.startswith("《") else f"{title} {locator}"
        if clause.revoked:
            label += policy().revoked_suffix(language)
        return label

    def unit_label(self, citation: Citation) -> str:
        """A citation named by its unit (EU AI Act Article 5, 《…》第十二条), without the piece locator."""
        title = self.document_title(citation.doc_id)
        return f"{title}{citation.unit}" if title.startswith("《") else f"{title} {citation.unit}"

    def citation(self, n: int, clause: RetrievedClause, language: str) -> Citation:
        m = clause.meta
        document = DocumentMeta.from_metadata(m)
        citation = Citation(
            n=n,
            document=replace(
                document, doc_id=clause.doc_id, title=document.title or clause.doc_id, status=clause.status
            ),
            unit=clause.unit,
            locator=clause.locator,
            label=self.clause_label(clause, language),
            quote=clause.text,
            path=m.get("path", ""),
            chunk_id=clause.chunk_id,
        )
        return with_dates(citation, m)

    def effective_date(self, doc_id: str) -> str:
        return next((m.get("effective") or "" for m in self.retriever.index.metas if m.get("doc_id") == doc_id), "")


def span_end(clause: RetrievedClause) -> str:
    """ "–(h)" when a piece labelled from where it starts (Article 5(1)(d)) runs on to further points of the same
    level, so that the label does not claim a single point for text that covers several. The end is of the same
    kind as the start's last part: Article 99(5)–(7) for paragraphs, Article 5(1)(d)–(f) for points; never a
    mixed "Article 99(5)–(a)"."""
    if clause.locator == clause.unit:
        return ""
    start = re.findall(r"\(([^)]+)\)$", clause.locator)
    if not start:
        return ""
    numeric = start[0].isdigit()
    marks = []
    for m in _POINT_START.finditer(clause.text):
        mark = next(g for g in m.groups() if g)
        if mark.isdigit() == numeric and not re.fullmatch(r"[一二三四五六七八九十]+", mark):
            marks.append(mark)
    if len(marks) < 2 or marks[-1] == start[0]:
        return ""
    return f"–({marks[-1]})"


def with_dates(citation: Citation, meta: dict) -> Citation:
    """Dates from the chunk metadata (set at ingest); computed here for an index made before they were."""
    if "applies_from" in meta:
        citation.applies_from = meta.get("applies_from") or ""
        citation.applies_until = meta.get("applies_until") or ""
        citation.applies_condition = meta.get("applies_condition") or ""
        citation.applies_note = meta.get("applies_note") or ""
        return citation
    found = applicability_of(citation.doc_id, citation.locator, meta.get("effective", ""), citation.status)
    citation.applies_from, citation.applies_until = found.applies_from, found.applies_until
    citation.applies_condition, citation.applies_note = found.condition, found.note
    return citation


def join_en(items: list[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
