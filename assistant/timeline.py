"""The timeline: dated milestones (provisions start to apply, texts stop applying) of the indexed documents, for
``regqa timeline`` and the Documents tab of the UI. Dates come from ``ingest/applicability.py``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ingest.applicability import milestones

KIND_LABELS = {
    "in force": "enters into force / 生效",
    "applies": "applies / 适用",
    "pending": "pending / 待定",
    "ends": "ends / 失效",
}


@dataclass(frozen=True)
class TimelineDoc:
    doc_id: str
    title: str
    jurisdiction: str
    effective: str
    status: str


@dataclass(frozen=True)
class TimelineRow:
    day: str  # ISO date, "" for a milestone that waits on a condition
    doc_id: str
    title: str
    jurisdiction: str
    kind: str
    provisions: str
    source: str


def docs_from_metadata(metas: Iterable[dict]) -> list[TimelineDoc]:
    """One ``TimelineDoc`` per document of the chunk metadata (the first chunk of each document)."""
    first: dict[str, dict] = {}
    for m in metas:
        first.setdefault(m.get("doc_id", ""), m)
    return [
        TimelineDoc(
            doc_id, m.get("title", doc_id), m.get("jurisdiction", ""), m.get("effective", "") or "", m.get("status", "")
        )
        for doc_id, m in sorted(first.items())
        if doc_id
    ]


def _wanted(doc: TimelineDoc, doc_ids: Iterable[str], jurisdictions: Iterable[str]) -> bool:
    doc_ids, jurisdictions = list(doc_ids), [j.upper() for j in jurisdictions]
    if doc_ids and doc.doc_id not in doc_ids:
        return False
    code = doc.jurisdiction.upper()
    return not jurisdictions or any(code == j or code.startswith(j + "-") for j in jurisdictions)


def timeline_rows(
    docs: Iterable[TimelineDoc], doc_ids: Iterable[str] = (), jurisdictions: Iterable[str] = ()
) -> list[TimelineRow]:
    """The milestones of the chosen documents in date order; milestones of one document on one day, of one kind,
    are one row."""
    merged: dict[tuple[str, str, str], TimelineRow] = {}
    for doc in docs:
        if not _wanted(doc, doc_ids, jurisdictions):
            continue
        for m in milestones(doc.doc_id, doc.effective, doc.status):
            key = (m.day, doc.doc_id, m.kind)
            if key in merged:
                row = merged[key]
                merged[key] = TimelineRow(
                    row.day,
                    row.doc_id,
                    row.title,
                    row.jurisdiction,
                    row.kind,
                    f"{row.provisions}; {m.provisions}",
                    row.source,
                )
            else:
                merged[key] = TimelineRow(
                    m.day, doc.doc_id, doc.title, doc.jurisdiction, m.kind, m.provisions, m.source
                )
    return sorted(merged.values(), key=lambda r: (r.day or "9999", r.doc_id, r.kind))
