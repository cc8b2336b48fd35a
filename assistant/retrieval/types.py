"""The values passed between the retrieval stages: filters, candidates, retrieved clauses, the result."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.retrieval.analysis import QueryAnalysis
from assistant.retrieval.comparison import Side
from assistant.retrieval.documents import REVOKED_STATUSES
from assistant.retrieval.evidence import Evidence
from assistant.retrieval.references import ClauseRef


@dataclass(frozen=True)
class Filters:
    jurisdictions: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    @classmethod
    def of(cls, value: Filters | dict | None) -> Filters:
        if value is None:
            return cls()
        if isinstance(value, Filters):
            return value

        def tup(v):
            if not v:
                return ()
            return (v,) if isinstance(v, str) else tuple(v)

        return cls(
            jurisdictions=tup(value.get("jurisdiction") or value.get("jurisdictions")),
            doc_ids=tup(value.get("doc_id") or value.get("doc_ids") or value.get("document")),
            statuses=tup(value.get("status") or value.get("statuses")),
        )

    def __bool__(self) -> bool:
        return bool(self.jurisdictions or self.doc_ids or self.statuses)


@dataclass(frozen=True)
class Candidate:
    """One row of the index proposed by a candidate source, with that source's score: the row's similarity for
    dense search, its keyword score relative to the best of its group for keyword search, 0 for a lookup (the
    order of a lookup's candidates is its ranking: the first is the piece asked for)."""

    row: int
    score: float
    source: str  # "lookup", "keyword", "dense"


@dataclass(frozen=True)
class Lookup:
    """What a direct clause lookup found: the named clauses' rows, and named clauses that do not exist."""

    candidates: list[Candidate]
    missing: list[tuple[str, ClauseRef]]


@dataclass(frozen=True)
class CandidateSets:
    """What the candidate sources found for one reading of a question (``HybridRetriever.candidates``)."""

    lookup: Lookup
    keyword: list[Candidate]
    dense: list[Candidate]
    enriched: list[Candidate]


@dataclass(frozen=True)
class RetrievedClause:
    chunk_id: str
    doc_id: str
    unit: str
    locator: str
    text: str
    meta: dict
    score: float
    signals: dict = field(default_factory=dict)  # which searches found it, at which rank
    rows: tuple[int, ...] = ()  # the index rows of the pieces its text joins (the ranked piece's among them)
    piece_text: str = ""  # the ranked piece's text when ``text`` joins several pieces
    provision_text: str = ""  # its own unit's pieces when ``text`` also holds neighbouring provisions (6.6.2–6.6.4)

    @property
    def own_text(self) -> str:
        """The text of its own unit: what the lead quotes under its number (the neighbouring provisions a passage
        adds are context, each under its own number in ``text``)."""
        return self.provision_text or self.text

    @property
    def ranked_text(self) -> str:
        """The text of the piece the ranking chose: what the guard's evidence checks read (they were set on it,
        not on the neighbouring pieces a passage adds for the reader)."""
        return self.piece_text or self.text

    @property
    def title(self) -> str:
        return self.meta.get("title", self.doc_id)

    @property
    def status(self) -> str:
        return self.meta.get("status", "")

    @property
    def revoked(self) -> bool:
        return self.status in REVOKED_STATUSES


@dataclass(frozen=True)
class RetrievalResult:
    analysis: QueryAnalysis
    clauses: list[RetrievedClause]
    lookup_hits: list[RetrievedClause] = field(default_factory=list)  # clauses the question named exactly
    missing_refs: list[tuple[str, ClauseRef]] = field(default_factory=list)  # named clauses that don't exist
    sides: list[Side] = field(default_factory=list)  # a comparison's sides (documents or jurisdictions)
    top_dense_similarity: float = 0.0
    keyword_coverage: float = 0.0  # rarity-weighted share of the question's words found in the best clauses
    timings: dict = field(default_factory=dict)
    evidence: Evidence = field(default_factory=Evidence)  # how well the best clauses support the question
