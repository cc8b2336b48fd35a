"""Learned ranking: a LightGBM model re-scores the best candidates of the hand-set fusion from per-candidate
features (each source's score and rank, the question's rare words a clause covers, its heading, named-document /
jurisdiction / language match, unit role, version status, …).

The model is trained on the question bank's train split and chosen on its validation split (``regqa
train-ranker``; ``assistant/retrieval/training.py``); the policy file names it (``[learned] model``). Its output
is the probability that a clause holds the answer, so the answer stage's "share of the best" keeps its meaning.
Hand-set rules that no feature can express stay after it: a clause named by number comes first, the
date-of-application rule, a comparison's sides, the per-unit cap.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.retrieval.analysis import QueryAnalysis
from assistant.retrieval.candidates import keyword_query
from assistant.retrieval.documents import REVOKED_STATUSES
from assistant.retrieval.index import ClauseIndex
from assistant.retrieval.types import Candidate, CandidateSets
from ingest.keyword_index import tokenize

# The features, in the model's column order. The model file's metadata repeats them: a model trained on other
# columns is refused at load.
FEATURES: tuple[str, ...] = (
    "fused",  # the hand-set fusion score (keyword + dense + coverage, times the policy's rules)
    "fused_share",  # fused / best fused of this question
    "fused_rank",  # log(1 + rank by fused)
    "keyword",  # keyword score relative to the best of its group
    "keyword_rank",
    "dense",  # cosine similarity to the question
    "dense_gap",  # best similarity of this question minus this one
    "dense_rank",
    "enrichment",  # best similarity of the unit's enrichment texts (questions, paraphrases) to the question
    "enrichment_gap",
    "enrichment_rank",
    "coverage",  # rarity-weighted share of the question's words in the clause (with a follow-up's context)
    "question_coverage",  # ... of the words of the question as asked (without the conversation's context)
    "heading_coverage",  # ... in the clause's heading path (chapter, section, article title)
    "title_coverage",  # ... in its document's title
    "named_document",  # the clause's document is named (or carried over from the conversation)
    "names_documents",  # the question names any document
    "named_jurisdiction",
    "names_jurisdictions",
    "same_language",
    "question_chinese",
    "follow_up",
    "lookup",  # a clause named by number
    "non_operative",  # recital, preamble
    "definitions",
    "scope",
    "penalty",
    "final",
    "signature",
    "revoked",
    "wants_old_version",
    "intent_definition",
    "intent_scope",
    "intent_penalty",
    "intent_when_in_force",
    "length",  # log characters
    "later_piece",  # not the first piece of a unit cut into several
    "document_share",  # share of the 10 best fused candidates that are in this clause's document
    "question_words",  # log(1 + distinct words of the question)
)

_MISSING_RANK = 1000


class RankerError(ValueError):
    """A model file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class Ranker:
    """A trained model and the number of best fused candidates it re-scores."""

    path: str
    booster: object  # lightgbm.Booster
    candidates: int

    def predict(self, features: np.ndarray) -> np.ndarray:
        # one thread: for ~70 rows, OpenMP's start-up costs more than it saves
        return np.asarray(self.booster.predict(features, num_threads=1), dtype=np.float64)  # type: ignore[attr-defined]


@lru_cache(maxsize=4)
def load_ranker(path: str, candidates: int) -> Ranker:
    import lightgbm  # imported on first use: a rules-only policy never needs it

    model = Path(path)
    meta_path = model.with_suffix(".json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        booster = lightgbm.Booster(model_file=str(model))
    except (OSError, ValueError, lightgbm.basic.LightGBMError) as exc:
        raise RankerError(f"{model}: cannot load the ranking model: {exc}") from exc
    if tuple(meta.get("features", ())) != FEATURES:
        raise RankerError(
            f"{model}: trained on other features than this code computes; retrain it with `regqa train-ranker`"
        )
    return Ranker(str(model), booster, candidates)


def candidate_rows(score: np.ndarray, found: CandidateSets, limit: int) -> np.ndarray:
    """The rows the model re-scores: the ``limit`` best by fused score, plus the best few of each source (the
    sources search only the rows kept by the filters)."""
    positive = np.flatnonzero(score > 0)
    best = positive[np.argsort(-score[positive], kind="stable")][:limit]
    extra: list[int] = []
    for source in (found.keyword, found.dense, found.enriched):
        ordered = sorted(source, key=lambda c: -c.score)[: max(limit // 5, 1)]
        extra += [c.row for c in ordered]
    return np.array(list(dict.fromkeys([*best.tolist(), *extra])), dtype=int)


def _ranks(candidates: list[Candidate]) -> dict[int, int]:
    ordered = sorted(candidates, key=lambda c: -c.score)
    return {c.row: n for n, c in enumerate(ordered)}


def _share(weights: dict[str, float], tokens: set[str], total: float) -> float:
    return sum(w for t, w in weights.items() if t in tokens) / total if total else 0.0


def feature_matrix(
    index: ClauseIndex,
    analysis: QueryAnalysis,
    rows: np.ndarray,
    fused: np.ndarray,
    found: CandidateSets,
) -> np.ndarray:
    """One row of ``FEATURES`` per candidate row."""
    keyword, dense, enriched = found.keyword, found.dense, found.enriched
    lookup_rows = {c.row for c in found.lookup.candidates}
    keyword_of = {c.row: c.score for c in keyword}
    dense_of = {c.row: c.score for c in dense}
    enriched_of = {c.row: c.score for c in enriched}
    keyword_rank, dense_rank, enriched_rank = _ranks(keyword), _ranks(dense), _ranks(enriched)
    top_dense = max(dense_of.values(), default=0.0)
    top_enriched = max(enriched_of.values(), default=0.0)
    order = np.flatnonzero(fused > 0)
    order = order[np.argsort(-fused[order], kind="stable")]
    fused_rank = {int(r): n for n, r in enumerate(order[: max(len(rows), 10) * 4])}
    best = float(fused[order[0]]) if len(order) else 0.0
    top_docs = [index.doc_of[r] for r in order[:10]]
    weights = {t: index.keyword.idf(t) for t in dict.fromkeys(tokenize(keyword_query(analysis)))}
    total = sum(weights.values())
    asked = {t: index.keyword.idf(t) for t in dict.fromkeys(tokenize(analysis.question))}
    asked_total = sum(asked.values())
    named = set(analysis.doc_ids)
    intents = analysis.intents
    roles = index.roles
    query = [
        float(bool(analysis.doc_ids)),
        float(bool(analysis.jurisdictions)),
        float(analysis.language == "zh"),
        float(analysis.is_follow_up),
        float(analysis.wants_old_version),
        *(float(name in intents) for name in ("definition", "scope", "penalty", "when_in_force")),
        math.log1p(len(weights)),
    ]
    out = np.zeros((len(rows), len(FEATURES)), dtype=np.float64)
    for n, r in enumerate(rows.tolist()):
        meta = index.metas[r]
        doc = index.doc_of[r]
        names_docs, names_jur, chinese, follow_up, old, i_def, i_scope, i_pen, i_force, words = query
        out[n] = (
            fused[r],
            fused[r] / best if best else 0.0,
            math.log1p(fused_rank.get(r, _MISSING_RANK)),
            keyword_of.get(r, 0.0),
            math.log1p(keyword_rank.get(r, _MISSING_RANK)),
            dense_of.get(r, 0.0),
            top_dense - dense_of[r] if r in dense_of else 1.0,
            math.log1p(dense_rank.get(r, _MISSING_RANK)),
            enriched_of.get(r, 0.0),
            top_enriched - enriched_of[r] if r in enriched_of else 1.0,
            math.log1p(enriched_rank.get(r, _MISSING_RANK)),
            _share(weights, index.tokens_of(r), total),
            _share(asked, index.tokens_of(r), asked_total),
            _share(weights, index.heading_tokens_of(r), total),
            _share(weights, index.title_tokens_of(doc), total),
            float(doc in named),
            names_docs,
            float(index.jurisdiction_of[r] in analysis.jurisdictions),
            names_jur,
            float(index.language_of[r] == analysis.language),
            chinese,
            follow_up,
            float(r in lookup_rows),
            float(roles.non_operative[r]),
            float(roles.definitions[r]),
            float(roles.scope[r]),
            float(roles.penalty[r]),
            float(roles.final[r]),
            float(roles.signature[r]),
            float(index.status_of[r] in REVOKED_STATUSES),
            old,
            i_def,
            i_scope,
            i_pen,
            i_force,
            math.log1p(len(index.texts[r])),
            float(int(meta.get("part", 0) or 0) > 0),
            top_docs.count(doc) / max(len(top_docs), 1),
            words,
        )
    return out


def rescore(
    ranker: Ranker,
    index: ClauseIndex,
    analysis: QueryAnalysis,
    fused: np.ndarray,
    found: CandidateSets,
) -> np.ndarray:
    """The model's probability for the best candidates; the other positive rows keep their fused order below
    them (scaled under the smallest probability)."""
    rows = candidate_rows(fused, found, ranker.candidates)
    score = np.zeros_like(fused, dtype=np.float64)
    if not len(rows):
        return score
    probability = np.clip(
        ranker.predict(feature_matrix(index, analysis, rows, fused, found)),
        1e-6,
        1.0,
    )
    rest = fused > 0
    rest[rows] = False
    if rest.any():
        floor = float(probability.min()) / 2
        score[rest] = floor * fused[rest] / float(fused[rest].max())
    score[rows] = probability
    return score
