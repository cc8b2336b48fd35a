"""The answerability model for texts without enrichment (a user's own documents): trained over an index built
without enrichment (`regqa train-answerability --without-enrichment`), it reads the evidence and not the question's
wording (what the bank's own corpus lacks — fees, statistics — a user's rulebook may hold), and the guard asks it
whenever the best clauses have no enrichment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.rulebooks import DEALER_RULES
from support.training_runs import run_training, write_questions

from assistant.answering.answerability import FEATURES, PLAIN_MODEL_FILE, features, load_model
from assistant.answering.answerability_training import PLAIN_LEAVES_OUT

BANK = Path(__file__).resolve().parents[2] / "bench" / "eval" / "bank"


def test_the_plain_model_reads_evidence_only():
    model = load_model(str(PLAIN_MODEL_FILE))
    assert model is not None and model.kind is None and 0 < model.threshold < 1
    for name in PLAIN_LEAVES_OUT:
        assert model.coef[FEATURES.index(name)] == 0.0, name


@pytest.fixture(scope="module")
def dealer_service(collection_of):
    from assistant.answering.service import AnswerService

    return AnswerService(collection_of("plain-answerability", {"dealer-rules.txt": DEALER_RULES}))


@pytest.mark.parametrize(
    "question",
    [
        "How long must a dealer keep records of its orders?",
        "How much is the annual fee for a licensed dealer, and when is it due?",  # the rulebook holds its fees
        "交易商多久之内要书面答复客户投诉？",
        "We are a dealer with a branch in Frankfurt. How fast must we answer a client complaint?",  # where we are
    ],
)
def test_a_question_the_rulebook_answers_is_answered(dealer_service, question):
    result = dealer_service.retriever.run(question)
    assert not result.evidence.enriched
    assert not dealer_service.decide(result).refused, question


@pytest.mark.parametrize(
    "question",
    [
        "What annual fee did the Regulator charge Meridian Securities in 2023?",
        "Did the Regulator cancel the licence of Meridian Securities last year?",
        "Has any dealer in Rotterdam been found to commit market abuse?",
    ],
)
def test_a_question_about_names_the_rulebook_never_uses_is_declined_by_the_plain_model(dealer_service, question):
    # (not yet: "How many dealer licences did the Regulator cancel in 2024?", "Which court hears appeals when the
    # Regulator cancels a dealer's licence?" — answered, 0.16 and 0.27 against 0.15)
    result = dealer_service.retriever.run(question)
    model = load_model(str(PLAIN_MODEL_FILE))
    guard = dealer_service.retriever.policy.guard
    assert result.evidence.unknown_names  # names no clause holds
    settings = dealer_service.settings
    weak = (
        result.top_dense_similarity < settings.refusal_min_similarity
        and result.keyword_coverage < settings.refusal_min_coverage
    )
    assert not weak  # the two thresholds alone would have answered it
    assert model.probability(features(result, guard, None)) < model.threshold
    decision = dealer_service.decide(result)
    assert decision.refused and decision.kind == "weak-evidence", question


def _bank_rows(tmp_path: Path) -> tuple[Path, Path]:
    items = [json.loads(line) for line in (BANK / "validation.jsonl").read_text(encoding="utf-8").splitlines()]
    train = [i for i in items if not i.get("gold")][:20] + [i for i in items if i.get("gold")][:40]
    validation = [i for i in items if not i.get("gold")][20:30] + [i for i in items if i.get("gold")][40:70]
    return write_questions(tmp_path / "train.jsonl", train), write_questions(tmp_path / "val.jsonl", validation)


def test_train_without_enrichment_refuses_an_enriched_index(tmp_path, full_index, cli_env):
    train, validation = _bank_rows(tmp_path)
    env = cli_env(full_index.settings)
    run = run_training(
        "train-answerability", train, validation, tmp_path / "m.json", env, extra=("--without-enrichment",)
    )
    assert run.returncode == 1 and "built without" in run.stdout, run.stdout[-1000:]
    assert not (tmp_path / "m.json").exists()


def test_train_without_enrichment_writes_an_evidence_only_model(tmp_path, collection_of, cli_env):
    settings = collection_of("plain-training", {"dealer-rules.txt": DEALER_RULES})
    train, validation = _bank_rows(tmp_path)
    model, report = tmp_path / "plain.json", tmp_path / "report.json"
    extra = ("--without-enrichment",)
    run = run_training("train-answerability", train, validation, model, cli_env(settings), report, extra=extra)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = load_model(str(model))
    assert loaded is not None and loaded.kind is None
    assert all(loaded.coef[FEATURES.index(name)] == 0.0 for name in PLAIN_LEAVES_OUT)
    assert json.loads(report.read_text())["without_enrichment"] is True
