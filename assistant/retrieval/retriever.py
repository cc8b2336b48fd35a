"""``HybridRetriever.run(question, history, filters, k) -> RetrievalResult``: the retrieval stages wired together —
analysis, candidate sources (lookup, keyword, dense), ranking, cross-references, the evidence measures."""

from __future__ import annotations

import time

import numpy as np

from assistant.retrieval.analysis import QueryAnalysis, analyse, with_unmentioned_as_unknown
from assistant.retrieval.candidates import DenseSource, EnrichmentSource, KeywordSource, LookupSource
from assistant.retrieval.comparison import comparison_sides
from assistant.retrieval.crossrefs import cross_references
from assistant.retrieval.evidence import measure
from assistant.retrieval.index import ClauseIndex
from assistant.retrieval.policy import RankingPolicy, default_policy
from assistant.retrieval.ranking import Scored, keyword_coverage, rank
from assistant.retrieval.types import Candidate, CandidateSets, Filters, RetrievalResult, RetrievedClause
from common.settings import Settings
from ingest.embeddings import Embedder, load_embedder


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


class HybridRetriever:
    """The retrieval stage: ``run(question, history, filters, k) -> RetrievalResult``."""

    def __init__(
        self,
        settings: Settings,
        index: ClauseIndex | None = None,
        embedder: Embedder | None = None,
        policy: RankingPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy or (index.policy if index is not None else default_policy())
        self.index = index or ClauseIndex(settings, policy=self.policy)
        self.embedder = embedder or load_embedder(settings.embedding_model)
        self.lookup = LookupSource(self.index, self.policy.lookup)
        self.keyword = KeywordSource(self.index)
        self.dense = DenseSource(self.index, self.embedder, self.policy.fusion)
        self.enrichment = EnrichmentSource(self.index, self.dense, self.policy.fusion)

    def analyse(self, question: str, history: list[dict] | None = None) -> QueryAnalysis:
        analysis = analyse(question, self.index.resolver, history, policy=self.policy)
        return with_unmentioned_as_unknown(analysis, self.index.mentions, self.index.mentions_number)

    def run(
        self, question: str, history: list[dict] | None = None, filters: Filters | dict | None = None, k: int = 10
    ) -> RetrievalResult:
        t0 = time.perf_counter()
        filters = Filters.of(filters)
        self.index.refresh_if_changed()
        analysis = self.analyse(question, history)
        keep = self.index.mask(filters)
        result = self._search(analysis, keep, k, t0)
        if analysis.may_stand_alone:
            # a follow-up that could also be read on its own: keep the reading with the stronger evidence
            alone = self._search(self.analyse(question), keep, k, time.perf_counter())
            if alone.evidence.top_probability > result.evidence.top_probability:
                result = alone
            result.timings["retrieve_ms"] = _ms(t0)
        return result

    def candidates(self, analysis: QueryAnalysis, keep: np.ndarray, timings: dict | None = None) -> CandidateSets:
        """Every candidate source on one reading of the question (one query embedding for dense and enrichment);
        the time of the keyword and dense searches into ``timings`` when given."""
        t = time.perf_counter()
        lookup = self.lookup.find(analysis, keep)
        keyword = self.keyword.scored(analysis, keep)
        keyword_ms = _ms(t)
        t = time.perf_counter()
        vector = self.dense.embed(analysis)
        dense = self.dense.similar(analysis, keep, vector)
        enriched = self.enrichment.similar(analysis, keep, vector)
        if timings is not None:
            timings.update(keyword_ms=keyword_ms, dense_ms=_ms(t))
        return CandidateSets(lookup, keyword, dense, enriched)

    def _search(self, analysis: QueryAnalysis, keep: np.ndarray, k: int, t0: float) -> RetrievalResult:
        """Candidates, ranking, cross-references and evidence for one reading of the question."""
        index = self.index
        timings: dict[str, float] = {"analyse_ms": _ms(t0)}
        found = self.candidates(analysis, keep, timings)
        lookup, keyword, dense, enriched = found.lookup, found.keyword, found.dense, found.enriched
        sides = comparison_sides(
            analysis.question,
            list(analysis.doc_ids),
            list(analysis.jurisdictions),
            {d: info.jurisdiction for d, info in index.docs.items()},
        )
        scored = rank(index, analysis, keep, found, sides, k, self.policy)
        ranked = list(scored.ranked)
        lookup_rows = [c.row for c in lookup.candidates]
        xrefs = (
            cross_references(
                index, lookup_rows or ranked[: self.policy.crossrefs.from_best], keep, self.policy.crossrefs.limit
            )
            if ranked
            else []
        )
        clauses, lookup_hits = self._clauses(scored, lookup_rows, xrefs, keyword, dense)
        coverage = keyword_coverage(index, analysis, ranked, self.policy.evidence.coverage_clauses)
        top_dense = max((c.score for c in dense), default=0.0)
        evidence = measure(
            index,
            analysis,
            scored.ranked,
            learned=bool(self.policy.learned.model),
            top_dense=top_dense,
            top_enrichment=max((c.score for c in enriched), default=0.0),
            coverage=coverage,
            clauses=self.policy.evidence.coverage_clauses,
            name_tags=self.policy.evidence.name_tags,
        )
        timings["retrieve_ms"] = _ms(t0)
        return RetrievalResult(
            analysis=analysis,
            clauses=clauses,
            lookup_hits=lookup_hits,
            missing_refs=lookup.missing,
            sides=sides,
            top_dense_similarity=round(top_dense, 4),
            keyword_coverage=round(min(coverage, 1.0), 3),
            timings=timings,
            evidence=evidence,
        )

    def _clauses(
        self, scored: Scored, lookup_rows: list[int], xrefs: list[int], keyword: list[Candidate], dense: list[Candidate]
    ) -> tuple[list[RetrievedClause], list[RetrievedClause]]:
        """(the ranked clauses then the cross-referenced ones, the looked-up clauses), each with the signals of
        the searches that found it."""
        index = self.index
        keyword_of = {c.row: c.score for c in keyword}
        similarity_of = {c.row: c.score for c in dense}
        signals: dict[int, dict] = {i: {"lookup": 1} for i in lookup_rows}
        for i in scored.ranked:
            signals.setdefault(i, {}).update(
                bm25=round(keyword_of.get(i, 0.0), 3), dense=round(similarity_of.get(i, 0.0), 3)
            )

        def clause(i: int, score: float, rows: tuple[int, ...] = ()) -> RetrievedClause:
            meta = index.metas[i]
            rows = rows or (i,)
            units = list(dict.fromkeys(index.metas[r]["unit"] for r in rows))
            # a passage of several pieces is named by its unit, of several provisions by their range (6.6.2–6.6.4);
            # one piece by its own locator (Article 3(56))
            if len(units) > 1:
                locator = f"{units[0]}–{units[-1]}"
            else:
                locator = meta.get("locator", meta["unit"]) if len(rows) == 1 else meta["unit"]
            return RetrievedClause(
                chunk_id=index.ids[i],
                doc_id=meta["doc_id"],
                unit=meta["unit"],
                locator=locator,
                text="\n\n".join(index.texts[r] for r in rows),
                meta=meta,
                score=round(score, 5),
                signals=signals.get(i, {}),
                rows=rows,
                piece_text=index.texts[i] if len(rows) > 1 else "",
                provision_text="\n\n".join(index.texts[r] for r in rows if index.metas[r]["unit"] == meta["unit"])
                if len(units) > 1
                else "",
            )

        clauses = [clause(p.row, p.score, p.rows) for p in scored.passages]
        given = {r for p in scored.passages for r in p.rows}
        for i in xrefs:
            if i not in given:
                c = clause(i, 0.0)
                c.signals["cross_reference"] = 1
                clauses.append(c)
        return clauses, [clause(i, float(scored.score[i])) for i in lookup_rows]

    def nearest(self, vector: np.ndarray, mask: np.ndarray | None, limit: int) -> tuple[list[int], dict[int, float]]:
        """Exact dense search (``DenseSource.nearest``): the baselines of ``regqa eval`` use it directly."""
        return self.dense.nearest(vector, mask, limit)
