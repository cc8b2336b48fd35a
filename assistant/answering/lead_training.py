"""``regqa train-lead``: fit the lead's sentence model (assistant/answering/lead_scoring.py) on a question bank.

Every answerable question of the training files is asked of the answer service as in production (retrieval, the
guard, the cited clauses); for the questions it answers, each candidate sentence of the cited clauses is one row,
labelled 1 where it holds a gold evidence string (the evidence convention of shared/eval/README.md), else 0.
LightGBM's binary objective gives a probability per sentence. The number of boosting rounds and ``also_above``
(the probability a further sentence needs to join the lead) are chosen on the validation split by the share of
answered questions whose lead holds gold evidence. Written: the model (LightGBM text format), its metadata beside
it, and a report (figures per split, feature importances, the grid).
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answering.lead import Scored, choose, policy, scored_by
from assistant.answering.lead_scoring import FEATURES, Sentence, sentence_features
from assistant.answering.service import AnswerService
from assistant.metrics import EvalItem, norm

PARAMETERS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 20,
    "seed": 7,
    "deterministic": True,
    "num_threads": 1,
    "verbosity": -1,
}
ROUNDS = (100, 200, 300, 400)  # validation is flat beyond 300 rounds; more only grows the file
ALSO_ABOVE = (0.0, 0.05, 0.1, 0.2, 0.3)


@dataclass
class Case:
    """One answered question: its candidate sentences, their features and labels, and the lead's limits."""

    language: str
    sentences: list[Sentence]
    features: np.ndarray
    labels: np.ndarray
    max_sentences: int


def collect(service: AnswerService, items: list[EvalItem], progress: Callable[[int, int], None] | None = None):
    """The cases of the answerable questions the service answers (declined ones have no lead)."""
    composer = service.composer
    weight_of = service.retriever.index.keyword.idf
    cases = []
    answerable = [item for item in items if item.answerable]
    for n, item in enumerate(answerable, 1):
        prepared = service.prepare(item.question, item.history)
        if not prepared.decision.refused:
            clauses = composer.cited_clauses(prepared.result)
            citations = composer.citations(prepared.result, prepared.language)
            question, pieces = composer.lead_material(prepared.result, clauses, citations, prepared.language)
            found, x = sentence_features(question, pieces, weight_of, composer.similarity)
            evidence = [norm(g["evidence"]) for g in item.gold]
            labels = np.array([float(any(e in norm(s.text) for e in evidence)) for s in found])
            limit = policy().max_sentences_per_side if question.comparison else policy().max_sentences
            cases.append(Case(prepared.language, found, x, labels, limit))
        if progress:
            progress(n, len(answerable))
    return cases, len(answerable)


def figures(cases: list[Case], scores: list[np.ndarray], also_above: float) -> dict:
    """Share of answered questions whose lead holds gold evidence, and median lead length per language."""
    hits: list[bool] = []
    chars: dict[str, list[int]] = {"zh": [], "en": []}
    for case, probabilities in zip(cases, scores):
        if not case.sentences:
            hits.append(False)
            continue
        ranked: list[Scored] = scored_by(case.sentences, probabilities)
        chosen = choose(ranked, case.language, case.max_sentences, also_above)
        held = {(c.n, c.start) for c in chosen}
        hits.append(any(y > 0 and (s.n, s.start) in held for s, y in zip(case.sentences, case.labels)))
        chars["zh" if case.language == "zh" else "en"].append(sum(len(c.text) for c in chosen))
    return {
        "lead_holds_evidence": round(sum(hits) / len(hits), 4) if hits else None,
        "answered": len(hits),
        "sentences_chars_p50": {k: statistics.median(v) if v else None for k, v in chars.items()},
    }


def _stack(cases: list[Case]) -> tuple[np.ndarray, np.ndarray]:
    rows = [c.features for c in cases if len(c.features)]
    labels = [c.labels for c in cases if len(c.features)]
    return (np.vstack(rows), np.concatenate(labels)) if rows else (np.zeros((0, len(FEATURES))), np.zeros(0))


def _predict(booster, cases: list[Case], rounds: int) -> list[np.ndarray]:
    return [
        np.asarray(booster.predict(c.features, num_iteration=rounds)) if len(c.features) else c.labels for c in cases
    ]


def train(
    service: AnswerService,
    train_items: list[EvalItem],
    validation_items: list[EvalItem],
    model_path: Path,
    report_path: Path | None,
    sources: dict[str, Path],
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    import lightgbm

    fit_cases, fit_questions = collect(service, train_items, lambda d, t: progress and progress("train", d, t))
    val_cases, val_questions = collect(
        service, validation_items, lambda d, t: progress and progress("validation", d, t)
    )
    x, y = _stack(fit_cases)
    if not y.sum():
        raise ValueError("no training sentence holds gold evidence: nothing to learn from")
    booster = lightgbm.train(PARAMETERS, lightgbm.Dataset(x, y, feature_name=list(FEATURES)), max(ROUNDS))
    grid = {}
    for rounds in ROUNDS:
        scores = _predict(booster, val_cases, rounds)
        for also_above in ALSO_ABOVE:
            grid[(rounds, also_above)] = figures(val_cases, scores, also_above)
    # the best share; among equals the fewest rounds and the highest floor (shorter leads)
    rounds, also_above = max(grid, key=lambda k: (grid[k]["lead_holds_evidence"], -k[0], k[1]))
    train_scores = _predict(booster, fit_cases, rounds)
    importance = booster.feature_importance("gain", iteration=rounds)
    meta = {
        "features": list(FEATURES),
        "parameters": PARAMETERS,
        "rounds": rounds,
        "also_above": also_above,
        "embedding_model": service.settings.embedding_model,
        "data": {name: hashlib.sha256(path.read_bytes()).hexdigest()[:16] for name, path in sources.items()},
        "questions": {"train": fit_questions, "validation": val_questions},
        "sentences": {"train": int(len(y)), "train_holding_evidence": int(y.sum())},
        "train": figures(fit_cases, train_scores, also_above),
        "validation": grid[(rounds, also_above)],
    }
    model_path.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_path), num_iteration=rounds)
    model_path.with_suffix(".json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    report = {
        **meta,
        "feature_importance": dict(
            sorted(zip(FEATURES, np.round(importance / max(importance.sum(), 1e-9), 4).tolist()), key=lambda kv: -kv[1])
        ),
        "validation_grid": {f"{r}/{a}": g for (r, a), g in grid.items()},
    }
    if report_path:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return report
