"""Answerability from evidence (assistant/answering/answerability.py): the shipped model loads and is refused when
its features differ; its question-text part scores questions asking for facts regulation texts do not hold above
questions about obligations; the guard declines by it only when the policy ranks with the learned model; and
``regqa train-answerability`` writes a model that loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.training_runs import run_training, write_questions

from assistant.answering.answerability import FEATURES, MODEL_FILE, AnswerabilityError, features, load_model
from assistant.answering.guard import EXPLICIT_RULES, RULES, weak_evidence
from assistant.retrieval import HybridRetriever
from assistant.retrieval.policy import DEFAULT_POLICY_FILE, parse_policy

BANK = Path(__file__).resolve().parents[2] / "bench" / "eval" / "bank"


def test_the_shipped_model_loads_with_a_threshold_and_its_question_text_part():
    model = load_model(str(MODEL_FILE))
    assert model is not None and 0 < model.threshold < 1 and model.kind is not None
    assert len(model.coef) == len(model.mean) == len(model.scale)


def test_a_model_with_other_features_is_refused(tmp_path):
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    data["features"] = data["features"][1:]
    (tmp_path / "a.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(AnswerabilityError, match="retrain"):
        load_model(str(tmp_path / "a.json"))
    (tmp_path / "b.json").write_text("{", encoding="utf-8")
    with pytest.raises(AnswerabilityError, match="not an answerability model"):
        load_model(str(tmp_path / "b.json"))
    assert load_model(str(tmp_path / "missing.json")) is None


@pytest.mark.parametrize(
    "fact, rule",
    [
        ("How much does it cost to hire a notified body for a conformity assessment?",
         "What must a notified body check in a conformity assessment?"),
        ("成都市对人工智能客服有没有自己出台的地方规定？", "人工智能客服需要向用户说明自己是AI吗？"),
        ("How many deepfake apps were taken down in China last year?",
         "What must deep synthesis service providers do about deepfake apps?"),
    ],
)  # fmt: skip
def test_the_question_text_part_tells_facts_texts_do_not_hold_from_rules(fact, rule):
    kind = load_model(str(MODEL_FILE)).kind
    assert kind.score(fact) > kind.score(rule)


@pytest.mark.parametrize(
    ("question", "unknown", "asked"),
    [
        ("Does Amsterdam's municipal algorithm register add duties on top of the AI Act?", ("amsterdam",), 1),
        ("Has the CJEU ruled yet on the emotion-recognition ban in the AI Act?", ("cjeu",), 1),
        ("深圳对AI生成内容标识有没有自己的地方规定？", ("深圳",), 1),
        # said only as where the asker is: read past
        ("We're a small startup in Berlin. Does the AI Act apply to our hiring tool?", ("berlin",), 0),
        ("我们在深圳，企业是否要自己制定个人信息保护的细则？", ("深圳",), 0),
        # names the corpus uses, or names of its documents
        ("What does the CoE AI Convention say about remedies?", (), 0),
        ("Which practices does Article 5 of the EU AI Act prohibit?", (), 0),
    ],
)
def test_a_name_the_corpus_never_uses_is_a_feature_unless_it_says_where_the_asker_is(
    retriever, question, unknown, asked
):
    result = retriever.run(question)
    assert result.evidence.unknown_names == unknown
    x = features(result, retriever.policy.guard, None)
    assert x[FEATURES.index("unknown_names")] == asked


def test_the_guard_declines_by_the_model_and_answers_a_covered_question(service):
    # (not "How much does the AI Office pay its staff?" nor "上海市对自动驾驶出租车的收费标准是多少？": the fee rule declines
    # those first, no clause stating a sum)
    for question in (
        "What salary does the head of the AI Office earn?",
        "How much is the AI Office director paid?",
        "上海的无人驾驶出租车由哪家公司运营？",
    ):
        declined = service.answer(question)
        assert declined.refused and declined.refusal_kind == "weak-evidence", question
    answered = service.answer("Which AI practices are prohibited by the EU AI Act?")
    assert not answered.refused and answered.citations


def test_a_question_naming_a_document_is_declined_by_the_model_only_below_its_own_threshold(service, tmp_path):
    model = load_model(str(MODEL_FILE))
    assert 0 < model.named_threshold < 1
    future = "Will the AI Act be delayed by a new amending package next year?"  # names the Act, asks for the future
    declined = service.answer(future)
    assert declined.refused and declined.refusal_kind == "weak-evidence"
    for covered in (
        "When does the AI Act apply?",
        "How many articles does the AI Act have?",
        "深度合成管理规定还有效吗？",
    ):
        assert not service.answer(covered).refused, covered  # (how the named document is built: never declined)
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    del data["named_threshold"]  # a model from before: questions naming a document are not its to decline
    (tmp_path / "old.json").write_text(json.dumps(data), encoding="utf-8")
    assert load_model(str(tmp_path / "old.json")).named_threshold == 0.0


def test_without_the_learned_ranking_the_guard_uses_its_two_thresholds(service, retriever):
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8").replace('model = "ranker.txt"', 'model = ""')
    rules_only = HybridRetriever(retriever.settings, index=retriever.index, embedder=retriever.embedder,
                                 policy=parse_policy(text, "rules-only.toml"))  # fmt: skip
    result = rules_only.run("Which AI practices are prohibited by the EU AI Act?")
    assert result.evidence.top_probability == 0.0  # no probabilities without the model
    assert RULES[: RULES.index(weak_evidence)] == EXPLICIT_RULES
    assert not service.decide(result).refused


def test_train_answerability_writes_a_model_that_loads(tmp_path, full_index, cli_env):
    items = [json.loads(line) for line in (BANK / "validation.jsonl").read_text(encoding="utf-8").splitlines()]
    train = [i for i in items if not i.get("gold")][:25] + [i for i in items if i.get("gold")][:60]
    validation = [i for i in items if not i.get("gold")][25:] + [i for i in items if i.get("gold")][60:120]
    model, report = tmp_path / "answerability.json", tmp_path / "report.json"
    run = run_training(
        "train-answerability",
        write_questions(tmp_path / "train.jsonl", train),
        write_questions(tmp_path / "val.jsonl", validation),
        model,
        cli_env(full_index.settings),
        report,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "threshold" in run.stdout
    loaded = load_model(str(model))
    assert loaded is not None and loaded.kind is not None
    written = json.loads(report.read_text())
    assert written["max_false_declines"] == 0.01 and written["threshold"] == loaded.threshold
    assert written["named_threshold"] == loaded.named_threshold
    named_never = written["curve_named"]["0.0"]  # questions naming a document never declined by it
    assert named_never == written["curve"][str(written["threshold"])]
    chosen = written["curve_named"][str(written["named_threshold"])]
    lowest = min(written["curve"], key=float)  # (taken when no threshold keeps within the limit)
    assert chosen["answerable_declined"] <= 0.01 or str(written["threshold"]) == lowest
    assert chosen == written["chosen_on"]["all"]
    assert set(written["validation"]) == set(written["train_out_of_fold"]) == {"all", "zh", "en"}
    assert set(written["coefficients"]) == set(json.loads(model.read_text())["features"])
