"""Which retrieved clauses an answer cites (both modes): the clauses the question names, else the strongest units
(one or two pieces each); for a comparison each side's best units; framing text only when it holds the answer."""

from __future__ import annotations

from collections.abc import Callable

from assistant.answering.policy import policy
from assistant.retrieval import RetrievalResult, RetrievedClause
from assistant.retrieval.comparison import policy as comparison_policy
from assistant.retrieval.comparison import side_of

Unit = tuple[str, str]  # (doc_id, unit)


def cited_clauses(
    result: RetrievalResult, max_units: int, is_framing: Callable[[str], bool], jurisdiction_of: Callable[[str], str]
) -> list[RetrievedClause]:
    """The selected clauses grouped by document, in the order citations are numbered. ``is_framing(chunk_id)``
    tells definition lists, recitals, preambles and signature blocks; ``jurisdiction_of(doc_id)`` a document's
    jurisdiction ("" when unknown)."""
    selected = select_clauses(result, max_units, is_framing, jurisdiction_of)
    doc_order = list(dict.fromkeys(c.doc_id for c in selected))
    return sorted(selected, key=lambda c: doc_order.index(c.doc_id))


def select_clauses(
    result: RetrievalResult, max_units: int, is_framing: Callable[[str], bool], jurisdiction_of: Callable[[str], str]
) -> list[RetrievedClause]:
    """The clauses an answer cites: named clauses first, then the strongest units (one or two pieces each)."""
    ranked = [c for c in result.clauses if "cross_reference" not in c.signals]
    if not ranked:
        return []
    by_unit: dict[Unit, list[RetrievedClause]] = {}
    for c in ranked:
        by_unit.setdefault((c.doc_id, c.unit), []).append(c)
    lookups = {(c.doc_id, c.unit) for c in result.lookup_hits}
    searched = [c for c in ranked if (c.doc_id, c.unit) not in lookups]
    # the clauses named, and any unit ranked above them (the liability clause citing a named article, for a
    # question about its penalty)
    units = list(by_unit)
    first_named = next((n for n, u in enumerate(units) if u in lookups), None)
    chosen: list[Unit] = [] if first_named is None else [*units[:first_named], *(u for u in units if u in lookups)]
    if result.sides:  # a comparison: each side's best units, whatever their score against the other side's
        chosen += _units_per_side(result, searched, chosen, jurisdiction_of)
    elif not chosen:
        chosen = _strongest_units(result, searched, max_units, is_framing)
    chosen = _without_framing(result, chosen, by_unit, lookups, is_framing)
    out: list[RetrievedClause] = []
    limit = max(
        max_units + policy().named_document_extra_units, len(result.sides) * comparison_policy().cited_units_per_side
    )
    for key in chosen[:limit]:
        pieces = by_unit[key]
        out += pieces[: policy().pieces_per_split_unit] if pieces[0].meta.get("parts", 1) > 1 else pieces[:1]
    return out


def _strongest_units(
    result: RetrievalResult, searched: list[RetrievedClause], max_units: int, is_framing: Callable[[str], bool]
) -> list[Unit]:
    """The units scoring close to the best, then the best clause of each document the question names."""
    best = searched[0].score if searched else 0.0
    chosen: list[Unit] = []
    for c in searched:
        key = (c.doc_id, c.unit)
        if key not in chosen and c.score >= policy().share_of_best * best and len(chosen) < max_units:
            chosen.append(key)
    # every document the question names gets its best clause, if retrieval found one: a weaker unit of a document
    # not named (or a further unit of a named one) gives way to it, never the best unit
    named = result.analysis.doc_ids
    missing: list[Unit] = []
    for doc_id in named:
        if not any(d == doc_id for d, _ in chosen):
            # its best unit that is not framing text (a recital added here would be dropped as framing)
            of_doc = [c for c in searched if c.doc_id == doc_id]
            first = next((c for c in of_doc if not is_framing(c.chunk_id)), of_doc[0] if of_doc else None)
            if first is not None:
                missing.append((first.doc_id, first.unit))
    limit = max_units + policy().named_document_extra_units
    while len(chosen) + len(missing) > limit:
        weaker = [
            k
            for k in range(len(chosen) - 1, 0, -1)
            if chosen[k][0] not in named or sum(d == chosen[k][0] for d, _ in chosen) > 1
        ]
        if not weaker:
            break
        del chosen[weaker[0]]
    return chosen + missing[: max(0, limit - len(chosen))]


def _without_framing(
    result: RetrievalResult,
    chosen: list[Unit],
    by_unit: dict[Unit, list[RetrievedClause]],
    lookups: set[Unit],
    is_framing: Callable[[str], bool],
) -> list[Unit]:
    """Definition lists, recitals, preambles and signature blocks are quoted only when they hold the answer:
    when named, ranked first, or (a definition list) when the question asks what something means or whether a
    text applies."""
    asks_meaning = bool(result.analysis.intents & {"definition", "scope"})

    def kept(rank: int, key: Unit) -> bool:
        piece = by_unit[key][0]
        if rank == 0 or key in lookups or not is_framing(piece.chunk_id):
            return True
        roles = set(str(piece.meta.get("roles", "")).split(","))
        return asks_meaning and "definitions" in roles and not roles & {"recital", "preamble", "signature_block"}

    return [key for rank, key in enumerate(chosen) if kept(rank, key)]


def _units_per_side(
    result: RetrievalResult, searched: list[RetrievedClause], chosen: list[Unit], jurisdiction_of: Callable[[str], str]
) -> list[Unit]:
    per_side = comparison_policy().cited_units_per_side
    picked: list[Unit] = []
    for n in range(len(result.sides)):
        count = sum(1 for d, _ in chosen if side_of(d, jurisdiction_of(d), result.sides) == n)
        for c in searched:
            key = (c.doc_id, c.unit)
            if count >= per_side:
                break
            if (
                key not in chosen
                and key not in picked
                and side_of(c.doc_id, c.meta.get("jurisdiction", ""), result.sides) == n
            ):
                picked.append(key)
                count += 1
    return picked
