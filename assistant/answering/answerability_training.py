"""``regqa train-answerability``: fit the answerability model (assistant/answering/answerability.py).

Every question of the training files is asked of the answer service (its retrieval and its explicit guard
rules); the questions the rules already decline are left out of the fit, and so are those the model never decides
(a clause named by number was found, the question asks how a named document is built, or the evidence comes from
texts without enrichment). Declines are counted as the guard makes them: the explicit rules, then the two thresholds
or the model.
A logistic regression (scikit-learn, balanced classes, standardised features) is fitted; the threshold is the
highest that keeps the answer service's declined answerable questions (rules and model together) within
``max_false_declines`` on the validation split joined with the training questions scored out of fold (a
validation split alone holds a few dozen unanswerable questions: its curve moves by single questions). Written:
the coefficients as JSON, and a report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answering.answerability import FEATURES, AnswerabilityModel, QuestionKindModel, features, question_grams
from assistant.answering.guard import EXPLICIT_RULES
from assistant.answering.service import AnswerService
from assistant.metrics import EvalItem
from assistant.model_files import SplitProgress, split_progress, write_json

# What the model for texts without enrichment does not read: what the question's wording says of the bank's corpus
# (its unanswerable questions ask for fees, statistics, years, amendments, enforcement against companies; a
# user's rulebook may answer exactly those), not how well the evidence covers the question.
PLAIN_LEAVES_OUT = (
    "question_kind",
    "numbers_asked",
    "question_chinese",
    "mentions_companies_and_enforcement",
    "mentions_statistics",
    "mentions_amendment",
)
THRESHOLDS = np.round(np.arange(0.02, 0.9, 0.01), 2)
KIND_C = 1.0  # the question-text model's regularisation (smaller: stronger)
# A feature set (non-zero) on fewer of the questions the model may decline is left out: a flag seen a few times gets
# a weight no fold can check.
MIN_FEATURE_ROWS = 3


@dataclass
class Rows:
    x: np.ndarray  # questions the rules did not decline (the question-kind column filled in later)
    answerable: np.ndarray
    langs: list[str]
    declined_by_rules: list[tuple[bool, str]]  # (answerable, lang) of the questions the rules declined
    questions: list[str]
    exempt: np.ndarray  # never declined by the model: what the guard lets through (see ``passed``), or the
    #                     evidence comes from texts without enrichment
    passed: np.ndarray  # the guard answers without looking at the evidence: a clause named by number was found, or
    #                     the question asks how a named document is built
    named: np.ndarray  # names a document: decided by the named threshold, never by the two thresholds
    weak: np.ndarray  # declined by the two thresholds (assistant/answering/guard.py weak_evidence)


def collect(
    service: AnswerService,
    items: list[EvalItem],
    progress: Callable[[int, int], None] | None = None,
    plain: bool = False,
) -> Rows:
    """The rows of ``items``; ``plain``: for the model of evidence from texts without enrichment (the index has none,
    so that is not a reason to exempt a question)."""
    xs, ys, langs, ruled, questions, exempt, passed, named, weak = [], [], [], [], [], [], [], [], []
    guard = service.retriever.policy.guard
    settings = service.settings
    for n, item in enumerate(items, 1):
        result = service.retriever.run(item.question, history=item.history)
        if service.decide(result, EXPLICIT_RULES).refused:
            ruled.append((item.answerable, item.lang))
        else:
            xs.append(features(result, guard, None))
            ys.append(item.answerable)
            langs.append(item.lang)
            questions.append(item.question)
            structure = bool(result.analysis.doc_ids and guard.structure.search(result.analysis.question))
            passed.append(bool(result.lookup_hits or structure))
            exempt.append(passed[-1] or (not plain and not result.evidence.enriched))
            named.append(bool(result.analysis.doc_ids))
            weak.append(
                not result.analysis.doc_ids
                and result.top_dense_similarity < settings.refusal_min_similarity
                and result.keyword_coverage < settings.refusal_min_coverage
            )
        if progress:
            progress(n, len(items))
    return Rows(
        np.array(xs),
        np.array(ys, dtype=bool),
        langs,
        ruled,
        questions,
        np.array(exempt, bool),
        np.array(passed, bool),
        np.array(named, bool),
        np.array(weak, bool),
    )


def joined(a: Rows, b: Rows) -> Rows:
    """The questions of both."""
    return Rows(
        np.vstack([a.x, b.x]),
        np.concatenate([a.answerable, b.answerable]),
        a.langs + b.langs,
        a.declined_by_rules + b.declined_by_rules,
        a.questions + b.questions,
        np.concatenate([a.exempt, b.exempt]),
        np.concatenate([a.passed, b.passed]),
        np.concatenate([a.named, b.named]),
        np.concatenate([a.weak, b.weak]),
    )


def _leave_out(names: tuple[str, ...] | list[str], *rows: Rows) -> None:
    """Set these features' columns to 0: the fitted model gives them no weight."""
    for name in names:
        for r in rows:
            r.x[:, FEATURES.index(name)] = 0.0


def _regression():
    """The evidence model's logistic regression (balanced classes), fitted once on all rows and once per fold."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)


def _kind_pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer=question_grams, min_df=2, sublinear_tf=True),
        LogisticRegression(C=KIND_C, class_weight="balanced", max_iter=2000),
    )


def fit_question_kind(questions: list[str], unanswerable: np.ndarray) -> tuple[QuestionKindModel, dict[str, float]]:
    """The question-text model on all training questions, and its out-of-fold scores for them (so that the
    evidence model does not learn from scores the text model fitted to the same questions)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=7)
    out_of_fold = cross_val_predict(_kind_pipeline(), questions, unanswerable, cv=folds, method="decision_function")
    pipeline = _kind_pipeline().fit(questions, unanswerable)
    vectorizer, regression = pipeline[0], pipeline[1]
    vocabulary = vectorizer.vocabulary_
    model = QuestionKindModel(
        {g: float(vectorizer.idf_[i]) for g, i in vocabulary.items()},
        {g: float(regression.coef_[0][i]) for g, i in vocabulary.items()},
        float(regression.intercept_[0]),
    )
    return model, dict(zip(questions, out_of_fold))


def declines(rows: Rows, probabilities: np.ndarray, threshold: float, named_threshold: float = 0.0) -> dict:
    """Share of answerable / unanswerable questions declined (rules and model), overall and per language."""
    out = {}
    for lang in ("all", "zh", "en"):
        pick = np.array([lang in ("all", item_lang) for item_lang in rows.langs], dtype=bool)
        ruled = [a for a, item_lang in rows.declined_by_rules if lang in ("all", item_lang)]
        below = np.where(rows.named, probabilities < named_threshold, probabilities < threshold)
        declined = ~rows.passed & (rows.weak | (~rows.exempt & below))  # as guard.weak_evidence decides
        ans_total = int((rows.answerable & pick).sum()) + sum(ruled)
        unans_total = int((~rows.answerable & pick).sum()) + sum(1 for a in ruled if not a)
        ans_declined = int((declined & rows.answerable & pick).sum()) + sum(ruled)
        unans_declined = int((declined & ~rows.answerable & pick).sum()) + sum(1 for a in ruled if not a)
        out[lang] = {
            "answerable_declined": round(ans_declined / ans_total, 4) if ans_total else None,
            "unanswerable_declined": round(unans_declined / unans_total, 4) if unans_total else None,
        }
    return out


def train(
    service: AnswerService,
    train_items: list[EvalItem],
    validation_items: list[EvalItem],
    model_path: Path,
    report_path: Path | None,
    max_false_declines: float,
    progress: SplitProgress | None = None,
    plain: bool = False,
) -> dict:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if plain and service.retriever.index.enrichment.vectors.size:
        raise ValueError("the model for texts without enrichment is trained on an index built without it")
    fit_rows = collect(service, train_items, split_progress(progress, "train"), plain)
    val_rows = collect(service, validation_items, split_progress(progress, "validation"), plain)
    # The question-text model learns what the bank's corpus does not hold (fees, court cases …); a user's own
    # documents may hold exactly that (a fees rulebook): the model for texts without enrichment reads evidence only.
    kind: QuestionKindModel | None = None
    if plain:
        _leave_out(PLAIN_LEAVES_OUT, fit_rows, val_rows)
    else:
        kind, out_of_fold = fit_question_kind(
            [item.question for item in train_items], np.array([not item.answerable for item in train_items])
        )
        column = FEATURES.index("question_kind")
        fit_rows.x[:, column] = [out_of_fold[q] for q in fit_rows.questions]
        val_rows.x[:, column] = [kind.score(q) for q in val_rows.questions]
    rare = [
        name for n, name in enumerate(FEATURES) if np.count_nonzero(fit_rows.x[~fit_rows.exempt, n]) < MIN_FEATURE_ROWS
    ]
    _leave_out(rare, fit_rows, val_rows)
    decidable = fit_rows.x[~fit_rows.exempt]  # the questions the model may decline
    # Yes/no features are not standardised: divided by the spread of a flag set on 1 row in 2,000, a unit of weight
    # becomes 45 on the log-odds (mentions_companies_and_enforcement, set once, had +6.9), out of the reach of the
    # regularisation; unscaled, the regularisation bounds what a flag alone can do.
    flags = np.all(np.isin(decidable, (0.0, 1.0)), axis=0)
    mean = np.where(flags, 0.0, decidable.mean(axis=0))
    scale = np.where(flags | (decidable.std(axis=0) <= 1e-9), 1.0, decidable.std(axis=0))
    regression = _regression()
    labels = fit_rows.answerable[~fit_rows.exempt]
    regression.fit((decidable - mean) / scale, labels)
    model = AnswerabilityModel(mean, scale, regression.coef_[0], float(regression.intercept_[0]), 0.0)
    # the training questions' probabilities out of fold, beside validation's, choose the thresholds
    fit_p = np.array([model.probability(x) for x in fit_rows.x])
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=7)
    fit_p[~fit_rows.exempt] = cross_val_predict(
        _regression(),
        (decidable - mean) / scale,
        labels,
        cv=folds,
        method="predict_proba",
    )[:, 1]
    val_p = np.array([model.probability(x) for x in val_rows.x])
    choose_rows, choose_p = joined(fit_rows, val_rows), np.concatenate([fit_p, val_p])
    curve = {float(t): declines(choose_rows, choose_p, float(t)) for t in THRESHOLDS}
    allowed = [t for t, d in curve.items() if (d["all"]["answerable_declined"] or 0) <= max_false_declines]
    threshold = max(allowed) if allowed else float(THRESHOLDS[0])
    named_curve = {float(t): declines(choose_rows, choose_p, threshold, float(t)) for t in [0.0, *THRESHOLDS]}
    named_allowed = [t for t, d in named_curve.items() if (d["all"]["answerable_declined"] or 0) <= max_false_declines]
    named_threshold = max(named_allowed) if named_allowed else 0.0
    model = AnswerabilityModel(mean, scale, model.coef, model.intercept, threshold, kind, named_threshold)
    train_p = np.array([model.probability(x) for x in fit_rows.x])
    report = {
        **model.to_dict(),
        "without_enrichment": plain,
        "left_out_rare": rare,
        "max_false_declines": max_false_declines,
        "questions": {
            "train": len(train_items),
            "train_declined_by_rules": len(fit_rows.declined_by_rules),
            "validation": len(validation_items),
            "validation_declined_by_rules": len(val_rows.declined_by_rules),
        },
        "train": declines(fit_rows, train_p, threshold, named_threshold),
        "train_out_of_fold": declines(fit_rows, fit_p, threshold, named_threshold),
        "validation": declines(val_rows, val_p, threshold, named_threshold),
        "chosen_on": named_curve[named_threshold],
        "coefficients": dict(sorted(zip(FEATURES, model.coef.round(3).tolist()), key=lambda kv: -abs(kv[1]))),
        "curve": {str(t): d["all"] for t, d in curve.items()},
        "curve_named": {str(t): d["all"] for t, d in named_curve.items()},
    }
    write_json(model_path, model.to_dict())
    if report_path:
        write_json(report_path, report)
    return report
