"""Which retrieved clauses an answer cites (assistant/answering/selection.py), on hand-made retrieval results: no
index needed. The numbers come from resources/answering.toml."""

from __future__ import annotations

from assistant.answering.policy import policy
from assistant.answering.selection import cited_clauses, select_clauses
from assistant.retrieval import QueryAnalysis, RetrievalResult, RetrievedClause, default_policy

MAX_UNITS = 3


def clause(
    doc_id: str, unit: str, score: float, piece: int = 0, parts: int = 1, roles: str = "operative", **signals
) -> RetrievedClause:
    return RetrievedClause(
        f"{doc_id}:{unit}:{piece}",
        doc_id,
        unit,
        unit,
        f"text of {doc_id} {unit} ({piece})",
        {"doc_id": doc_id, "parts": parts, "roles": roles},
        score,
        dict(signals),
    )


def result(
    question: str, clauses: list[RetrievedClause], lookup_hits: list[RetrievedClause] = (), doc_ids: list[str] = ()
) -> RetrievalResult:
    intents = frozenset(i.name for i in default_policy().intents if i.pattern.search(question))
    analysis = QueryAnalysis(
        question=question, search_text=question, language="en", doc_ids=tuple(doc_ids), intents=intents
    )
    return RetrievalResult(analysis=analysis, clauses=clauses, lookup_hits=list(lookup_hits))


def units(selected: list[RetrievedClause]) -> list[tuple[str, str]]:
    return [(c.doc_id, c.unit) for c in selected]


def select(res: RetrievalResult, framing: set[str] = frozenset()) -> list[RetrievedClause]:
    return select_clauses(res, MAX_UNITS, lambda chunk_id: chunk_id in framing, lambda doc_id: "")


def test_units_close_to_the_best_are_cited_up_to_the_limit():
    share = policy().share_of_best
    ranked = [clause("a", "1", 1.0), clause("a", "2", share + 0.01), clause("b", "1", share - 0.01)]
    assert units(select(result("obligations of providers", ranked))) == [("a", "1"), ("a", "2")]
    many = [clause("a", str(n), 1.0 - n / 100) for n in range(6)]
    assert len(select(result("obligations of providers", many))) == MAX_UNITS


def test_named_clauses_are_what_is_cited_and_cross_references_never_are():
    named = clause("a", "9", 0.2)
    ranked = [named, clause("b", "1", 0.19), clause("c", "1", 0.9, cross_reference=True)]
    assert units(select(result("a Article 9", ranked, lookup_hits=[named]))) == [("a", "9")]
    assert ("c", "1") not in units(select(result("anything", ranked)))


def test_a_unit_ranked_above_a_named_clause_is_cited_before_it():
    """Only a liability clause citing the named article is ranked above it ('违反第二十七条会被罚多少？')."""
    named = clause("a", "27", 0.5)
    ranked = [clause("a", "45", 1.0), named, clause("a", "30", 0.49)]
    assert units(select(result("a Article 27", ranked, lookup_hits=[named]))) == [("a", "45"), ("a", "27")]


def test_a_named_document_gets_its_best_clause_beyond_the_limit():
    ranked = [clause("a", str(n), 1.0) for n in range(MAX_UNITS)] + [clause("b", "7", 0.1)]
    chosen = units(select(result("what do a and b say", ranked, doc_ids=["b"])))
    assert chosen[-1] == ("b", "7") and len(chosen) == MAX_UNITS + policy().named_document_extra_units


def test_every_named_document_keeps_its_best_clause_when_one_document_fills_the_limit():
    """Three documents named, the first ranking its four units above the others' best: each named document is cited,
    the first document's weakest units giving way (its best stays first)."""
    ranked = [clause("a", str(n), 1.0 - n / 100) for n in range(4)] + [clause("b", "5", 0.5), clause("c", "9", 0.4)]
    chosen = units(select(result("compare a, b and c", ranked, doc_ids=["a", "b", "c"])))
    assert chosen[0] == ("a", "0") and {("b", "5"), ("c", "9")} <= set(chosen)
    assert len(chosen) == MAX_UNITS + policy().named_document_extra_units


def test_a_named_document_is_cited_by_its_best_clause_that_is_not_framing_text():
    ranked = [clause("a", str(n), 1.0 - n / 100) for n in range(3)]
    ranked += [clause("b", "Recital 5", 0.5, roles="recital"), clause("b", "5", 0.4), clause("c", "9", 0.3)]
    chosen = units(select(result("a, b and c", ranked, doc_ids=["a", "b", "c"]), framing={"b:Recital 5:0"}))
    assert ("b", "5") in chosen and ("c", "9") in chosen and ("b", "Recital 5") not in chosen


def test_a_unit_in_several_pieces_is_quoted_with_its_first_pieces():
    pieces = [clause("a", "5", 1.0 - n / 100, piece=n, parts=4) for n in range(4)]
    selected = select(result("Article 5", pieces))
    assert [c.chunk_id for c in selected] == [p.chunk_id for p in pieces[: policy().pieces_per_split_unit]]


def test_framing_text_is_cited_only_when_first_or_asked_for():
    """A recital (even one that defines a term) only when ranked first; a definition list also when the question
    asks what something means."""
    ranked = [
        clause("a", "1", 1.0),
        clause("a", "Recital 3", 0.95, roles="recital,definitions"),
        clause("a", "3", 0.92, roles="definitions"),
    ]
    framing = {ranked[1].chunk_id, ranked[2].chunk_id}
    assert units(select(result("obligations of providers", ranked), framing)) == [("a", "1")]
    assert units(select(result("what does provider mean", ranked), framing)) == [("a", "1"), ("a", "3")]
    assert units(select(result("obligations of providers", ranked), {ranked[0].chunk_id}))[0] == ("a", "1")


def test_citations_are_grouped_by_document_in_order_of_first_appearance():
    ranked = [clause("a", "1", 1.0), clause("b", "1", 0.99), clause("a", "2", 0.98)]
    res = result("obligations of providers", ranked)
    assert units(cited_clauses(res, MAX_UNITS, lambda _: False, lambda _: "")) == [("a", "1"), ("a", "2"), ("b", "1")]
