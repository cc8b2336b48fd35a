"""``regqa train-lead``: fit the lead's sentence model (assistant/answering/lead_scoring.py) on a question bank.

Every answerable question of the training files is asked of the answer service as in production (retrieval, the
guard, the cited clauses); for the questions it answers, each candidate sentence of the cited clauses is one row,
labelled 1 where it holds a gold evidence string (the evidence convention of shared/eval/README.md), else 0.
The sentences are grouped as the composer groups them (all cited clauses; for a comparison, each side's).
LightGBM's binary objective gives a probability per sentence. The number of boosting rounds is chosen on the
validation split by the share of answered questions whose lead holds gold evidence. Written: the model (LightGBM
text format), its metadata beside it, and a report (figures per split, feature importances, the grid).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answering.lead import Scored, choose, scored_by
from assistant.answering.lead_scoring import FEATURES, Sentence, sentence_features
from assistant.answering.service import AnswerService
from assistant.metrics import EvalItem, norm
from assistant.model_files import SplitProgress, file_sha, split_progress, write_json
from assistant.retrieval.training import PARAMETERS as RANKER_PARAMETERS

# The ranker's small, regularised trees (row and feature sampling, L2; without sampling, retraining on the same data
# swings the choice between near-equal sentences), with smaller leaves: about 1,200 questions of about ten candidate
# sentences each.
PARAMETERS = {**RANKER_PARAMETERS, "min_data_in_leaf": 20}
ROUNDS = (100, 200, 300, 400)  # a longer grid moved validation by at most one question and doubles the file


@dataclass
class Group:
    """The candidate sentences the lead is chosen from in one pass (all cited clauses, or one side of a
    comparison): their features, labels, and how many sentences the pass keeps."""

    sentences: list[Sentence]
    features: np.ndarray
    labels: np.ndarray
    max_sentences: int


@dataclass
class Case:
    """One answered question: its language and its groups."""

    language: str
    groups: list[Group]


def collect(service: AnswerService, items: list[EvalItem], progress: Callable[[int, int], None] | None = None):
    """The cases of the answerable questions the service answers (declined ones have no lead), grouped as the
    composer groups them (``Composer.lead_choices``)."""
    composer = service.composer
    weight_of = service.retriever.index.keyword.idf
    cases = []
    answerable = [item for item in items if item.answerable]
    for n, item in enumerate(answerable, 1):
        prepared = service.prepare(item.question, item.history)
        if not prepared.decision.refused:
            question, choices = composer.lead_choices(prepared.result, prepared.language)
            evidence = [norm(g["evidence"]) for g in item.gold]
            groups = []
            for group, limit in choices:
                found, x = sentence_features(question, group, weight_of, composer.similarity)
                labels = np.array([float(any(e in norm(s.text) for e in evidence)) for s in found])
                groups.append(Group(found, x, labels, limit))
            cases.append(Case(prepared.language, groups))
        if progress:
            progress(n, len(answerable))
    return cases, len(answerable)


def figures(cases: list[Case], scores: list[list[np.ndarray]]) -> dict:
    """Share of answered questions whose lead holds gold evidence, and median length of the lead's sentences per
    language."""
    hits: list[bool] = []
    chars: dict[str, list[int]] = {"zh": [], "en": []}
    for case, case_scores in zip(cases, scores):
        hit, length = False, 0
        for group, probabilities in zip(case.groups, case_scores):
            if not group.sentences:
                continue
            ranked: list[Scored] = scored_by(group.sentences, probabilities)
            chosen = choose(ranked, case.language, group.max_sentences, 0.0)
            held = {(c.n, c.start) for c in chosen}
            hit = hit or any(y > 0 and (s.n, s.start) in held for s, y in zip(group.sentences, group.labels))
            length += sum(len(c.text) for c in chosen)
        hits.append(hit)
        chars["zh" if case.language == "zh" else "en"].append(length)
    return {
        "lead_holds_evidence": round(sum(hits) / len(hits), 4) if hits else None,
        "answered": len(hits),
        "sentences_chars_p50": {k: statistics.median(v) if v else None for k, v in chars.items()},
    }


def _stack(cases: list[Case]) -> tuple[np.ndarray, np.ndarray]:
    groups = [g for c in cases for g in c.groups if len(g.features)]
    if not groups:
        return np.zeros((0, len(FEATURES))), np.zeros(0)
    return np.vstack([g.features for g in groups]), np.concatenate([g.labels for g in groups])


def _predict(booster, cases: list[Case], rounds: int) -> list[list[np.ndarray]]:
    return [
        [
            np.asarray(booster.predict(g.features, num_iteration=rounds)) if len(g.features) else g.labels
            for g in c.groups
        ]
        for c in cases
    ]


def train(
    service: AnswerService,
    train_items: list[EvalItem],
    validation_items: list[EvalItem],
    model_path: Path,
    report_path: Path | None,
    sources: dict[str, Path],
    progress: SplitProgress | None = None,
) -> dict:
    import lightgbm

    fit_cases, fit_questions = collect(service, train_items, split_progress(progress, "train"))
    val_cases, val_questions = collect(service, validation_items, split_progress(progress, "validation"))
    x, y = _stack(fit_cases)
    if not y.sum():
        raise ValueError("no training sentence holds gold evidence: nothing to learn from")
    booster = lightgbm.train(PARAMETERS, lightgbm.Dataset(x, y, feature_name=list(FEATURES)), max(ROUNDS))
    grid = {rounds: figures(val_cases, _predict(booster, val_cases, rounds)) for rounds in ROUNDS}
    rounds = max(grid, key=lambda r: (grid[r]["lead_holds_evidence"], -r))  # the best share; among equals the fewest
    train_scores = _predict(booster, fit_cases, rounds)
    importance = booster.feature_importance("gain", iteration=rounds)
    meta = {
        "features": list(FEATURES),
        "parameters": PARAMETERS,
        "rounds": rounds,
        "embedding_model": service.settings.embedding_model,
        "data": {name: file_sha(path) for name, path in sources.items()},
        "questions": {"train": fit_questions, "validation": val_questions},
        "sentences": {"train": int(len(y)), "train_holding_evidence": int(y.sum())},
        "train": figures(fit_cases, train_scores),
        "validation": grid[rounds],
    }
    model_path.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_path), num_iteration=rounds)
    write_json(model_path.with_suffix(".json"), meta)
    report = {
        **meta,
        "feature_importance": dict(
            sorted(zip(FEATURES, np.round(importance / max(importance.sum(), 1e-9), 4).tolist()), key=lambda kv: -kv[1])
        ),
        "validation_grid": {str(r): g for r, g in grid.items()},
    }
    if report_path:
        write_json(report_path, report)
    return report
