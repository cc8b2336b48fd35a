"""Typed records passed between the ingest stages: load -> split -> embed -> index."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from common.documents import DocumentMeta

# One stored chunk as the store pages it out: (chunk id, metadata, text; None when the text was not asked for)
ChunkRow: TypeAlias = tuple[str, dict, str | None]


@dataclass(frozen=True, kw_only=True)
class SourceDocument(DocumentMeta):
    """One loaded source file: its body text and its ``DocumentMeta``."""

    body: str  # the text after any front matter, as Markdown (loaders convert other formats)
    path: Path
    sha256: str  # hash of the raw file bytes: the unit of incremental ingest
    scheme: str = ""  # clause-splitting scheme; empty = detect from the text
    version_note: str = ""


@dataclass
class Unit:
    """One citable unit of a document (an article, recital, annex, numbered section, paragraph)."""

    label: str  # as the document prints it: 第十二条, Article 50, Recital 133, GOVERN 1.2, para 4
    path: list[str]  # heading path above the unit: ["第三章 服务规范"]
    blocks: list[str] = field(default_factory=list)  # the unit's paragraphs, verbatim Markdown


ENRICHMENT_KEYS = ("enrichment_zh", "enrichment_en")  # a chunk's metadata keys for its unit's enrichment texts


@dataclass(frozen=True)
class Chunk:
    """One piece of one unit, as stored in the index."""

    doc_id: str
    unit: str
    locator: str  # unit plus paragraph/point when the unit is split: "Article 3(56)", "第四条（二）"
    path: str  # "第三章 服务规范 > 第十二条"
    text: str  # verbatim clause text shown to users and quoted in answers
    embed_text: str  # what is embedded: document title and heading path + text
    chunk_index: int  # position in the document
    unit_index: int  # position of the unit in the document
    part: int  # 0-based piece number within the unit
    parts: int  # how many pieces the unit has
    roles: tuple[str, ...] = ()  # what part of the text it is (ingest/roles.py), primary role first
    enrichment_zh: str = ""  # questions and paraphrases the unit answers (ingest/enrichment.py), never shown
    enrichment_en: str = ""

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.chunk_index}"

    @property
    def role(self) -> str:
        return self.roles[0] if self.roles else "operative"


@dataclass(frozen=True)
class GenerationReport:
    """What ``regqa ingest --enrich`` did (ingest/enrichment.py)."""

    generated: int = 0  # units whose entries the endpoint wrote this run
    cached: int = 0  # units whose entries were already generated for the same text
    failed: int = 0  # units the endpoint gave no usable reply for (left without enrichment)


@dataclass
class FileFailure:
    path: Path
    reason: str


@dataclass
class IngestReport:
    documents: int = 0
    chunks: int = 0
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)
    embedded_chunks: int = 0  # chunks whose embedding had to be computed (not reused)
    stale_enrichment: dict[str, int] = field(default_factory=dict)  # doc_id -> entries whose unit text changed
    enrichment: GenerationReport = field(default_factory=GenerationReport)  # what --enrich generated
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed
