"""What a document is, declared once: ``DocumentMeta`` and the status vocabulary.

The catalog entry (``ingest/catalog.py``), the loaded document (``ingest.models.SourceDocument``) and the indexed
document (``ingest.store.IndexedDocument``) extend ``DocumentMeta``; the chunk metadata written to the store is
``DocumentMeta.to_metadata()`` plus the chunk's own keys, and ``DocumentMeta.from_metadata`` reads it back.
The official link is ``source_url`` everywhere; ``official_url`` (the catalog's and the front matter's older
name) is still read.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum


class Status(StrEnum):
    """The one status vocabulary. ``superseded`` and ``open-for-signature`` are kept beside the seven of issue 11:
    the code (superseded) and the shared corpus (the Council of Europe convention) use them."""

    IN_FORCE = "in-force"
    AMENDED = "amended"
    REVOKED = "revoked"
    REPEALED = "repealed"
    SUPERSEDED = "superseded"
    NON_BINDING = "non-binding"
    OPEN_FOR_SIGNATURE = "open-for-signature"
    DRAFT = "draft"
    UNKNOWN = "unknown"


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
# A text that no longer applies: labelled "revoked" in answers, ranked lower unless asked for, never in effect.
NO_LONGER_IN_FORCE: frozenset[str] = frozenset({Status.REVOKED.value, Status.REPEALED.value, Status.SUPERSEDED.value})


def parse_status(value: object) -> str:
    """A status as written in front matter or the catalog ("in force", "Revoked") -> the vocabulary; anything
    else (or nothing) is ``unknown``."""
    text = "-".join(str(value or "").strip().lower().replace("_", " ").split())
    return text if text in STATUSES else Status.UNKNOWN.value


@dataclass(frozen=True, kw_only=True)
class DocumentMeta:
    """The facts about one document that every stage shares."""

    doc_id: str
    title: str = ""
    title_en: str = ""
    jurisdiction: str = ""  # CN, EU, US, US-CA, KR, INT, … ("" = unknown)
    language: str = ""  # "zh" or "en"
    doc_type: str = ""
    status: str = ""  # one of STATUSES
    issued: str = ""  # ISO date
    amended: str = ""  # ISO date of the last amendment the text includes ("" = none known)
    effective: str = ""  # ISO date
    issuer: str = ""
    source_url: str = ""  # the official link (http/https only)

    def to_metadata(self) -> dict[str, str]:
        """The document's keys on every chunk in the store."""
        return {f.name: getattr(self, f.name) for f in fields(DocumentMeta)}

    @classmethod
    def from_metadata(cls, meta: dict) -> DocumentMeta:
        """The document of a stored chunk (or any mapping with these keys; ``official_url`` is read too)."""
        values = {f.name: str(meta.get(f.name) or "") for f in fields(DocumentMeta)}
        values["source_url"] = values["source_url"] or str(meta.get("official_url") or "")
        return cls(**values)
