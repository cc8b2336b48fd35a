"""Ranking: fusion of the candidate sources' scores, the policy's table of rules (boosts and penalties from the
structure of legal texts and what the question asks), the date-of-application rule, named clauses first, then
diversification (a comparison's sides side by side, at most a few pieces per unit)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assistant.metrics import unit_norm
from assistant.retrieval.analysis import QueryAnalysis
from assistant.retrieval.candidates import keyword_query
from assistant.retrieval.comparison import Side, interleave, side_mask
from assistant.retrieval.comparison import policy as comparison_policy
from assistant.retrieval.documents import REVOKED_STATUSES
from assistant.retrieval.index import ClauseIndex
from assistant.retrieval.learned import Ranker, load_ranker, rescore
from assistant.retrieval.policy import (
    CrossRefPolicy,
    DateOfApplicationPolicy,
    DefiningClausePolicy,
    DiversityPolicy,
    FusionPolicy,
    RankingPolicy,
)
from assistant.retrieval.types import Candidate, CandidateSets
from ingest.keyword_index import tokenize

# The structure of a chapter reference, not tunable.
_CHAPTER_OF_PATH = re.compile(r"CHAPTER ([IVXLC]+)\b", re.I)
_CHAPTERS_NAMED = re.compile(r"\bChapters? ([IVXLC]+(?:(?:,\s*|\s+and\s+)[IVXLC]+)*)\b")


def fuse(size: int, keyword: list[Candidate], dense: list[Candidate], policy: FusionPolicy) -> np.ndarray:
    """keyword score + dense_weight * dense similarity rescaled from dense_floor..best to 0..1, for every row."""
    keyword_part = np.zeros(size, dtype=np.float32)  # the keyword index's precision: scores are float32 throughout
    for c in keyword:
        keyword_part[c.row] = c.score
    dense_part = np.zeros(size, dtype=np.float32)
    if dense:
        rows = np.fromiter((c.row for c in dense), dtype=int)
        values = np.fromiter((c.score for c in dense), dtype=np.float32)
        top = max(float(values.max()), policy.dense_floor + policy.dense_floor_epsilon)
        dense_part[rows] = np.clip((values - policy.dense_floor) / (top - policy.dense_floor), 0.0, 1.0)
    return keyword_part + policy.dense_weight * dense_part


def add_coverage(score: np.ndarray, index: ClauseIndex, query_text: str, policy: FusionPolicy) -> None:
    """Reward the best candidates for covering more of the question's distinct (rare) words."""
    if not policy.coverage_weight:
        return
    q_weights = {t: index.keyword.idf(t) for t in dict.fromkeys(tokenize(query_text))}
    total = sum(q_weights.values())
    for i in np.argsort(-score)[: policy.coverage_candidates]:
        if score[i] > 0 and total:
            tokens = index.tokens_of(int(i))
            score[i] += policy.coverage_weight * sum(w for t, w in q_weights.items() if t in tokens) / total


def condition_holds(name: str, analysis: QueryAnalysis, named: list[str]) -> bool:
    """A rule's condition (see the rules of assistant/resources/ranking.toml)."""
    if name.startswith("intent:"):
        return name[len("intent:") :] in analysis.intents
    return {
        "always": True,
        "names_documents": bool(named),
        "names_jurisdictions": bool(analysis.jurisdictions),
        "wants_old_version": analysis.wants_old_version,
    }[name]


def _row_selectors(index: ClauseIndex, analysis: QueryAnalysis, named: list[str]) -> dict[str, Callable]:
    roles = index.roles

    def revoked() -> np.ndarray:
        return np.isin(index.status_of, list(REVOKED_STATUSES))

    return {
        "named_documents": lambda: np.isin(index.doc_of, named),
        "named_jurisdictions": lambda: np.isin(index.jurisdiction_of, analysis.jurisdictions),
        "question_language": lambda: index.language_of == analysis.language,
        "non_operative": lambda: roles.non_operative,
        "definitions": lambda: roles.definitions,
        "scope": lambda: roles.scope,
        "penalty": lambda: roles.penalty,
        "final": lambda: roles.final,
        "revoked": revoked,
        "revoked_not_named": lambda: revoked() & ~np.isin(index.doc_of, analysis.named_in_question),
    }


def apply_rules(
    score: np.ndarray, index: ClauseIndex, analysis: QueryAnalysis, policy: RankingPolicy, after_learned: bool = False
) -> None:
    """Multiply each rule's rows by its factor (in the policy's order; the first applicable rule of a group); with
    ``after_learned``, only the rules marked to apply again to the learned model's probabilities."""
    named = [d for d in analysis.doc_ids if d in index.docs]
    selectors = _row_selectors(index, analysis, named)
    groups_done: set[str] = set()
    for rule in policy.rules:
        if rule.group and rule.group in groups_done:
            continue
        if after_learned and not rule.after_learned:
            if rule.group and condition_holds(rule.when, analysis, named):
                groups_done.add(rule.group)
            continue
        holds = condition_holds(rule.when, analysis, named)
        if rule.group and holds:
            groups_done.add(rule.group)
        factor = rule.factor if holds else rule.otherwise
        if factor != 1.0:
            score *= np.where(selectors[rule.rows](), factor, 1.0)


def penalties_citing_best(score: np.ndarray, keep: np.ndarray, index: ClauseIndex, policy: CrossRefPolicy) -> None:
    """A question about penalties whose best clauses are obligations, not liability clauses: a liability clause of
    the same text that cites one of them ("违反本法第二十一条规定的…" for 第二十一条) is what answers it, so it is
    scored as the best clause it cites plus its own score (which keeps the order among such clauses). When
    liability clauses cite different paragraphs of one clause (第二十四条第一款 / 第三款), which one answers is not
    known: none is lifted for it."""
    penalty = index.roles.penalty
    top = np.argsort(-np.where(keep, score, -np.inf), kind="stable")[: policy.penalty_from_best]
    best: dict[tuple[str, str], float] = {}
    for r in top:
        if not keep[r] or penalty[r]:
            break  # only the obligations ranked above every liability clause
        best.setdefault((str(index.doc_of[r]), unit_norm(index.metas[r]["unit"])), float(score[r]))
    if not best:
        return
    citing: dict[tuple[str, str], list[tuple[int, frozenset[str]]]] = {}
    for r in np.flatnonzero(keep & penalty & np.isin(index.doc_of, list({d for d, _ in best}))):
        for unit, paragraphs in index.units_cited(int(r)).items():
            if (key := (str(index.doc_of[r]), unit)) in best:
                citing.setdefault(key, []).append((int(r), paragraphs))
    lift: dict[int, float] = {}
    for key, rows in citing.items():
        if len({p for _, p in rows if "" not in p}) > 1:
            continue  # different paragraphs of the clause, by different liability clauses
        for r, _ in rows:
            lift[r] = max(lift.get(r, 0.0), best[key])
    for r, value in lift.items():
        score[r] += value


def date_of_application(
    score: np.ndarray,
    keep: np.ndarray,
    index: ClauseIndex,
    policy: DateOfApplicationPolicy,
    fused: np.ndarray | None = None,
) -> None:
    """ "When do the bans apply?": the best clauses sit in a chapter (CHAPTER II > Article 5), and a final
    provision that names that chapter ("Chapters I and II shall apply from …") is the answer — rank it first.
    The best clauses: by ``score`` and, when given, by the fused score before the learned model."""
    final = index.roles.final

    def best_not_final(s: np.ndarray) -> list[int]:
        """The ``best_clauses`` best positive rows that are not final provisions (among the 10x best)."""
        window = np.argsort(-s)[: policy.best_clauses * 10]
        return [int(i) for i in window if s[i] > 0 and not final[i]][: policy.best_clauses]

    best = best_not_final(score) + best_not_final(fused if fused is not None else score)
    chapters = {
        (index.doc_of[i], m.group(1).upper())
        for i in best
        for m in [_CHAPTER_OF_PATH.match(index.metas[i].get("path", ""))]
        if m
    }
    if not chapters:
        return
    top_score = float(score.max())
    docs = list({doc for doc, _ in chapters})
    for i in np.flatnonzero(final & keep & np.isin(index.doc_of, docs)):
        if not policy.applies_from.search(index.texts[i]):
            continue  # e.g. amendments to other acts that mention a chapter
        named = {
            (index.doc_of[i], n.upper())
            for m in _CHAPTERS_NAMED.finditer(index.texts[i])
            for n in re.split(r",\s*|\s+and\s+", m.group(1))
        }
        if named & chapters:
            score[i] = max(score[i], top_score * policy.margin)


def defining_clause(
    score: np.ndarray,
    keep: np.ndarray,
    index: ClauseIndex,
    analysis: QueryAnalysis,
    named: list[str],
    policy: DefiningClausePolicy,
) -> None:
    """A question asking what a term means: the clauses defining it (``ClauseIndex.rows_defining``), of the
    ``named`` documents if the question names any, rank first, in the order of their own scores."""
    rows = index.rows_defining(analysis.question) & keep
    if named:
        rows &= np.isin(index.doc_of, named)
    if rows.any():
        kept = score[keep]
        score[rows] += (float(kept.max()) - min(float(kept.min()), 0.0)) * policy.margin


def is_pure_lookup(analysis: QueryAnalysis, policy: DiversityPolicy) -> bool:
    """The question names a clause and asks little else (at most a few words besides document and clause)."""
    rest = analysis.topic_text or analysis.search_text
    for ref in analysis.clause_refs:
        if ref.lookup:
            rest = rest.replace(ref.raw, " ")
    rest = policy.pure_lookup_filler.sub(" ", rest)
    return len(tokenize(rest)) <= policy.pure_lookup_max_words


def order_rows(score: np.ndarray, index: ClauseIndex, sides: list[Side]) -> np.ndarray:
    """Rows with a positive score, best first; a comparison: each side's best clauses first, side by side."""
    candidates = np.flatnonzero(score > 0)
    order = candidates[np.argsort(-score[candidates], kind="stable")]
    if sides:
        order = interleave(
            order,
            [side_mask(side, index.doc_of, index.jurisdiction_of) for side in sides],
            lambda row: (index.doc_of[row], index.metas[row]["unit"]),
            comparison_policy().clauses_per_side,
        )
    return order


def diversify(
    order: np.ndarray, score: np.ndarray, index: ClauseIndex, k: int, whole_units: set, policy: DiversityPolicy
) -> dict[int, float]:
    """The first ``k`` rows with at most ``max_pieces_per_unit`` pieces of one unit, so that other clauses get a
    place — except the ``whole_units`` (a unit the question asks for and nothing else: all its pieces come
    first). {row: score} in rank order."""
    fused: dict[int, float] = {}
    per_unit: dict[tuple[str, str], int] = {}
    for i in order[: k * policy.window_per_k]:
        key = (index.doc_of[i], index.metas[i]["unit"])
        if per_unit.get(key, 0) < policy.max_pieces_per_unit or key in whole_units:
            per_unit[key] = per_unit.get(key, 0) + 1
            fused[int(i)] = float(score[i])
            if len(fused) == k:
                break
    return fused


@dataclass(frozen=True)
class Passage:
    """What a user is given for one ranked piece: the piece with the neighbouring pieces of its unit (the whole
    article when it fits the policy's characters), in document order."""

    row: int  # the ranked piece
    rows: tuple[int, ...]
    score: float


def unit_window(
    index: ClauseIndex, row: int, max_chars: int, given: set[int] | frozenset = frozenset()
) -> tuple[int, ...]:
    """``row`` and the pieces of its unit after, then before it, taken in turn while the text fits ``max_chars``
    (0: the piece alone) and up to a piece already ``given`` in another passage."""
    pieces = index.rows_of_unit(index.doc_of[row], index.metas[row]["unit"])
    if row not in pieces or max_chars <= 0:
        return (row,)
    at = pieces.index(row)
    lo = hi = at
    used = len(index.texts[row])
    grew = True
    while grew:
        grew = False
        for j in (hi + 1, lo - 1):
            if (
                0 <= j < len(pieces)
                and not lo <= j <= hi
                and pieces[j] not in given
                and used + len(index.texts[pieces[j]]) <= max_chars
            ):
                used += len(index.texts[pieces[j]])
                lo, hi, grew = min(lo, j), max(hi, j), True
    return tuple(pieces[lo : hi + 1])


_LEADING_NUMBER = re.compile(r"\s*(\d+(?:\.\w+)*)")


def numbered_heading(index: ClauseIndex, row: int) -> str:
    """The heading path above ``row``'s provision when the provision is numbered under it (6.6.4 under "6.6 Marking
    to market"), else ""."""
    path = str(index.metas[row].get("path", ""))
    head, _, _ = path.rpartition(" > ")
    number = _LEADING_NUMBER.match(head.rpartition(" > ")[2])
    if not head or number is None or not str(index.metas[row]["unit"]).startswith(number.group(1) + "."):
        return ""
    return head


def with_siblings(
    index: ClauseIndex, rows: tuple[int, ...], max_chars: int, given: set[int] | frozenset = frozenset()
) -> tuple[int, ...]:
    """A passage shorter than ``max_chars`` of a numbered provision, with the neighbouring provisions numbered under
    the same heading, after and then before it, while the text fits and up to a row ``given`` in another passage."""
    heading = numbered_heading(index, rows[0]) if max_chars > 0 else ""
    if not heading:
        return rows
    doc = index.doc_of[rows[0]]
    used = sum(len(index.texts[r]) for r in rows)
    lo, hi = rows[0], rows[-1]

    def sibling(j: int) -> bool:
        return 0 <= j < len(index.ids) and index.doc_of[j] == doc and numbered_heading(index, j) == heading

    grew = used < max_chars
    while grew:
        grew = False
        for j in (hi + 1, lo - 1):
            if not lo <= j <= hi and j not in given and sibling(j) and used + len(index.texts[j]) <= max_chars:
                used += len(index.texts[j])
                lo, hi, grew = min(lo, j), max(hi, j), True
    return tuple(range(lo, hi + 1))


def passages(
    index: ClauseIndex,
    ranked: dict[int, float],
    k: int,
    policy: DiversityPolicy,
    whole_units: set | frozenset = frozenset(),
    alone: set | frozenset = frozenset(),
) -> list[Passage]:
    """The first ``k`` passages of the ranked rows: a row already inside an earlier passage is not given again.
    A unit asked for and nothing else (``whole_units``) is given whole; a piece the question names a point of
    (``alone``: Article 5(1)(e)) is given alone."""
    out: list[Passage] = []
    given: set[int] = set()
    sibling_chars: list[int] = []  # each passage's cap for numbered siblings (0: a unit asked whole, a point alone)
    for row, s in ranked.items():
        if row in given:
            continue
        language = "zh" if index.language_of[row] == "zh" else "en"
        unit = (index.doc_of[row], index.metas[row]["unit"])
        if row in alone:
            rows: tuple[int, ...] = (row,)
        elif unit in whole_units:
            rows = tuple(r for r in index.rows_of_unit(*unit) if r not in given) or (row,)
        else:
            rows = unit_window(index, row, policy.passage_max_chars[language], given)
        given.update(rows)
        out.append(Passage(row, rows, s))
        sibling_chars.append(0 if row in alone or unit in whole_units else policy.sibling_context_chars[language])
        if len(out) == k:
            break
    # then, in rank order, each short numbered provision takes the siblings no other passage holds: no row twice
    for n, (passage, max_chars) in enumerate(zip(out, sibling_chars)):
        rows = with_siblings(index, passage.rows, max_chars, given)
        given.update(rows)
        out[n] = Passage(passage.row, rows, passage.score)
    return out


@dataclass(frozen=True)
class Scored:
    """The ranking stage's output: every row's final score, the ranked rows (at most k) with their score, and the
    passages given for them (refilled from the rows after the k-th when pieces merge)."""

    score: np.ndarray
    ranked: dict[int, float]
    passages: list[Passage]


def fused_score(
    index: ClauseIndex,
    analysis: QueryAnalysis,
    keep: np.ndarray,
    keyword: list[Candidate],
    dense: list[Candidate],
    policy: RankingPolicy,
) -> np.ndarray:
    """The hand-set score of every row: fusion, coverage, the policy's rules; 0 outside ``keep``."""
    score = fuse(len(index), keyword, dense, policy.fusion)
    add_coverage(score, index, keyword_query(analysis), policy.fusion)
    apply_rules(score, index, analysis, policy)
    return np.where(keep, score, 0.0)


def policy_ranker(policy: RankingPolicy) -> Ranker | None:
    """The policy's learned model, or None for a rules-only policy."""
    if not policy.learned.model:
        return None
    return load_ranker(policy.learned.model, policy.learned.candidates)


def rank(
    index: ClauseIndex,
    analysis: QueryAnalysis,
    keep: np.ndarray,
    found: CandidateSets,
    sides: list[Side],
    k: int,
    policy: RankingPolicy,
) -> Scored:
    lookup = found.lookup.candidates
    score = fused = fused_score(index, analysis, keep, found.keyword, found.dense, policy)
    ranker = policy_ranker(policy)
    if ranker is not None:
        score = rescore(ranker, index, analysis, score, found)
        apply_rules(score, index, analysis, policy, after_learned=True)
    named = [d for d in analysis.doc_ids if d in index.docs]
    if condition_holds(policy.date_of_application.when, analysis, named):
        date_of_application(score, keep, index, policy.date_of_application, fused)
    if condition_holds(policy.defining_clause.when, analysis, named):
        defining_clause(score, keep, index, analysis, named, policy.defining_clause)
    for n, c in enumerate(lookup):  # the first row of a lookup is the piece asked for
        score[c.row] += policy.lookup.bonus + (policy.lookup.first_bonus if n == 0 else 0.0)
    if "penalty" in analysis.intents:  # "违反第二十七条会被罚多少？" too: after the lookup's bonus
        penalties_citing_best(score, keep, index, policy.crossrefs)
    whole_units = (
        {(index.doc_of[c.row], index.metas[c.row]["unit"]) for c in lookup}
        if lookup and is_pure_lookup(analysis, policy.diversity)
        else set()
    )
    more = diversify(order_rows(score, index, sides), score, index, 2 * k, whole_units, policy.diversity)
    ranked = dict(list(more.items())[:k])
    pointed = {lookup[0].row} if lookup and any(r.point for r in analysis.clause_refs if r.lookup) else set()
    return Scored(score, ranked, passages(index, more, k, policy.diversity, whole_units, pointed))


def keyword_coverage(index: ClauseIndex, analysis: QueryAnalysis, ranked: list[int], clauses: int) -> float:
    """Rarity-weighted share of the question's words that the best ``clauses`` ranked clauses contain."""
    if not ranked:
        return 0.0
    q_tokens = set(tokenize(" ".join([analysis.question, *analysis.expansions])))
    top_tokens = set().union(*(index.tokens_of(i) for i in ranked[:clauses]))  # saved with the keyword index
    weights = {t: index.keyword.idf(t) for t in q_tokens}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in top_tokens) / total if total else 0.0
