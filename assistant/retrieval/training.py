"""``regqa train-ranker``: fit the learned ranking model (assistant/retrieval/learned.py) on a question bank.

For every answerable question of the train split the retriever's candidate sources run as in production; the
``candidates`` best fused rows (plus the best of each source) become one query group, labelled 1 where the
clause holds a gold evidence string (the hit definition of shared/eval/README.md), else 0. LightGBM's binary
objective gives a probability per clause; the number of boosting rounds is chosen on the validation split by
mean reciprocal rank of the first relevant candidate. Written: the model (LightGBM text format), its metadata
(features, parameters, data, figures) beside it, and a report with feature importances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.metrics import EvalItem, norm
from assistant.model_files import SplitProgress, file_sha, split_progress, write_json
from assistant.retrieval.learned import FEATURES, candidate_rows, feature_matrix
from assistant.retrieval.ranking import fused_score
from assistant.retrieval.retriever import HybridRetriever
from assistant.retrieval.types import Filters

# LightGBM settings: small trees, strong regularisation (about 1,000 questions of about 70 candidates each).
PARAMETERS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "seed": 7,
    "deterministic": True,
    "num_threads": 1,
    "verbosity": -1,
}
MAX_ROUNDS = 600


@dataclass
class Groups:
    """Features, labels and group sizes of a split (one group per answerable question with a relevant candidate
    or not: questions whose gold no candidate holds still count in the validation figures)."""

    features: np.ndarray
    labels: np.ndarray
    sizes: list[int]
    questions: int


def collect(
    retriever: HybridRetriever,
    items: list[EvalItem],
    candidates: int,
    progress: Callable[[int, int], None] | None = None,
) -> Groups:
    index = retriever.index
    keep = index.mask(Filters())
    features, labels, sizes = [], [], []
    answerable = [item for item in items if item.answerable]
    for n, item in enumerate(answerable, 1):
        analysis = retriever.analyse(item.question, item.history)
        found = retriever.candidates(analysis, keep)
        fused = fused_score(index, analysis, keep, found.keyword, found.dense, retriever.policy)
        rows = candidate_rows(fused, found, candidates)
        if len(rows):
            features.append(feature_matrix(index, analysis, rows, fused, found))
            evidence = [(g["doc_id"], norm(g["evidence"])) for g in item.gold]
            labels.append(
                np.array(
                    [
                        float(any(doc == index.doc_of[r] and ev in norm(index.texts[r]) for doc, ev in evidence))
                        for r in rows.tolist()
                    ]
                )
            )
            sizes.append(len(rows))
        if progress:
            progress(n, len(answerable))
    return Groups(
        np.vstack(features) if features else np.zeros((0, len(FEATURES))),
        np.concatenate(labels) if labels else np.zeros(0),
        sizes,
        len(answerable),
    )


def mean_reciprocal_rank(scores: np.ndarray, groups: Groups, cutoff: int = 10) -> float:
    """MRR@cutoff of the first relevant candidate, over all answerable questions (0 where none is found)."""
    total, start = 0.0, 0
    for size in groups.sizes:
        s, y = scores[start : start + size], groups.labels[start : start + size]
        order = np.argsort(-s, kind="stable")[:cutoff]
        hits = np.flatnonzero(y[order] > 0)
        total += 1.0 / (hits[0] + 1) if len(hits) else 0.0
        start += size
    return total / groups.questions if groups.questions else 0.0


def hit_at(scores: np.ndarray, groups: Groups, k: int) -> float:
    total, start = 0, 0
    for size in groups.sizes:
        s, y = scores[start : start + size], groups.labels[start : start + size]
        total += bool((y[np.argsort(-s, kind="stable")[:k]] > 0).any())
        start += size
    return total / groups.questions if groups.questions else 0.0


def train(
    retriever: HybridRetriever,
    train_items: list[EvalItem],
    validation_items: list[EvalItem],
    model_path: Path,
    report_path: Path | None,
    data_files: dict[str, Path],
    candidates: int,
    progress: SplitProgress | None = None,
) -> dict:
    """Fit, choose the rounds on validation, write the model, its metadata and the report; return the report."""
    import lightgbm

    train_groups = collect(retriever, train_items, candidates, split_progress(progress, "train"))
    validation_groups = collect(retriever, validation_items, candidates, split_progress(progress, "validation"))
    dataset = lightgbm.Dataset(
        train_groups.features, train_groups.labels, feature_name=list(FEATURES), free_raw_data=False
    )
    booster = lightgbm.train(PARAMETERS, dataset, num_boost_round=MAX_ROUNDS)
    curve = []
    for rounds in range(25, MAX_ROUNDS + 1, 25):
        scores = np.asarray(booster.predict(validation_groups.features, num_iteration=rounds))
        curve.append((rounds, mean_reciprocal_rank(scores, validation_groups)))
    best_rounds = max(curve, key=lambda rc: (round(rc[1], 4), -rc[0]))[0]
    final = lightgbm.train(PARAMETERS, dataset, num_boost_round=best_rounds)

    def figures(groups: Groups, scores: np.ndarray) -> dict:
        return {
            "questions": groups.questions,
            "hit@5": round(hit_at(scores, groups, 5), 4),
            "mrr@10": round(mean_reciprocal_rank(scores, groups), 4),
        }

    fused_column = FEATURES.index("fused")
    report = {
        "features": list(FEATURES),
        "parameters": PARAMETERS,
        "rounds": best_rounds,
        "candidates": candidates,
        "data": {name: {"path": str(path), "sha256": file_sha(path)} for name, path in data_files.items()},
        "rows": {"train": int(len(train_groups.labels)), "validation": int(len(validation_groups.labels))},
        "positives": {"train": int(train_groups.labels.sum()), "validation": int(validation_groups.labels.sum())},
        "candidate_figures": {
            "train": figures(train_groups, np.asarray(final.predict(train_groups.features))),
            "validation": figures(validation_groups, np.asarray(final.predict(validation_groups.features))),
            "validation_fused_only": figures(validation_groups, validation_groups.features[:, fused_column]),
        },
        "validation_curve": [{"rounds": r, "mrr@10": round(m, 4)} for r, m in curve],
        "importance_gain": dict(
            sorted(
                zip(FEATURES, (round(float(g), 1) for g in final.feature_importance("gain"))),
                key=lambda kv: -kv[1],
            )
        ),
    }
    model_path.parent.mkdir(parents=True, exist_ok=True)
    final.save_model(str(model_path))
    meta = {k: report[k] for k in ("features", "parameters", "rounds", "candidates", "data", "candidate_figures")}
    write_json(model_path.with_suffix(".json"), meta)
    if report_path:
        write_json(report_path, report)
    return report
