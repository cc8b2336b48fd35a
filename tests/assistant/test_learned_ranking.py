"""Learned ranking (assistant/retrieval/learned.py, training.py): the shipped model loads and is refused when its
features differ from the code's; it re-scores the fused candidates with probabilities; on bank questions it ranks
at least as well as the fused score and rules alone; ``regqa train-ranker`` writes a model, its metadata and a
report that ``regqa eval --policy`` can then use."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.training_runs import run_training, write_questions

from assistant.metrics import first_hit_rank, load_dataset
from assistant.retrieval import HybridRetriever, PolicyError, default_policy
from assistant.retrieval.learned import FEATURES, RankerError, candidate_rows, load_ranker, rescore
from assistant.retrieval.policy import DEFAULT_POLICY_FILE, parse_policy
from assistant.retrieval.ranking import fused_score
from assistant.retrieval.types import Filters

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BANK = PROJECT_ROOT / "bench" / "eval" / "bank"
POLICY_TEXT = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")


def _policy_with_model(model: str) -> str:
    assert POLICY_TEXT.count('model = "ranker.txt"') == 1
    return POLICY_TEXT.replace('model = "ranker.txt"', f"model = {json.dumps(model)}")


def test_the_shipped_model_loads_with_the_features_this_code_computes():
    policy = default_policy()
    model = Path(policy.learned.model)
    assert model.parent == DEFAULT_POLICY_FILE.parent and model.stat().st_size < 400_000
    meta = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    assert tuple(meta["features"]) == FEATURES
    assert any("train.jsonl" in path["path"] for path in meta["data"].values())  # trained on the bank's train split
    assert "validation.jsonl" in meta["data"]["validation"]["path"]
    assert load_ranker(str(model), policy.learned.candidates).candidates == policy.learned.candidates


def test_a_model_trained_on_other_features_is_refused(tmp_path):
    shipped = Path(default_policy().learned.model)
    shutil.copyfile(shipped, tmp_path / "old.txt")
    meta = json.loads(shipped.with_suffix(".json").read_text(encoding="utf-8"))
    meta["features"] = meta["features"][:-1]
    (tmp_path / "old.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(RankerError, match="retrain"):
        load_ranker(str(tmp_path / "old.txt"), 60)
    with pytest.raises(RankerError, match="cannot load"):
        load_ranker(str(tmp_path / "missing.txt"), 60)


def test_a_rule_marked_after_learned_must_say_true_or_false():
    text = POLICY_TEXT.replace(
        'factor = 0.5\ngroup = "versions"\nafter_learned = true',
        'factor = 0.5\ngroup = "versions"\nafter_learned = "yes"',
    )
    assert text != POLICY_TEXT
    with pytest.raises(PolicyError, match=r"after_learned: expected true or false"):
        parse_policy(text, "variant.toml")


def test_the_model_gives_the_best_candidates_probabilities_above_the_rest(retriever):
    index = retriever.index
    analysis = retriever.analyse("Do we have to tell people that they are talking to a chatbot?")
    keep = index.mask(Filters())
    found = retriever.candidates(analysis, keep)
    fused = fused_score(index, analysis, keep, found.keyword, found.dense, retriever.policy)
    ranker = load_ranker(retriever.policy.learned.model, retriever.policy.learned.candidates)
    assert not found.lookup.candidates  # (no clause named: no row is a lookup hit)
    score = rescore(ranker, index, analysis, fused, found)
    scored = np.flatnonzero(score > 0)
    rows = candidate_rows(fused, found, ranker.candidates)
    assert set(scored.tolist()) == set(np.flatnonzero(fused > 0).tolist()) | set(rows.tolist())
    best = np.argsort(-score)[: ranker.candidates]
    assert score[best].min() > 0 and score.max() <= 1.0
    rest = np.setdiff1d(scored, best)
    assert not len(rest) or score[rest].max() <= score[best].min()
    top = index.metas[int(np.argmax(score))]
    assert (top["doc_id"], top["unit"]) == ("eu-ai-act-2024", "Article 50")


def test_on_bank_validation_questions_it_ranks_at_least_as_well_as_the_rules_alone(retriever):
    """120 validation questions (the split the model's rounds were chosen on, never its training data)."""
    items = [i for i in load_dataset(BANK / "validation.jsonl") if i.answerable][:120]
    rules_only = HybridRetriever(
        retriever.settings,
        index=retriever.index,
        embedder=retriever.embedder,
        policy=parse_policy(_policy_with_model("")),
    )

    def mrr(r: HybridRetriever) -> float:
        ranks = []
        for item in items:
            result = r.run(item.question, history=item.history)
            rank = first_hit_rank(item, [{"doc_id": c.doc_id, "text": c.text} for c in result.clauses[:10]])
            ranks.append(1 / rank if rank else 0.0)
        return sum(ranks) / len(ranks)

    learned, rules = mrr(retriever), mrr(rules_only)
    assert learned >= rules - 0.01, (learned, rules)


def test_train_ranker_writes_a_model_and_report_that_eval_can_use(tmp_path, full_index, cli_env):
    items = [json.loads(line) for line in (BANK / "validation.jsonl").read_text(encoding="utf-8").splitlines()]
    train = write_questions(tmp_path / "train.jsonl", items[:60])
    validation = write_questions(tmp_path / "val.jsonl", items[60:90])
    env = cli_env(full_index.settings)
    model, report = tmp_path / "m" / "ranker.txt", tmp_path / "report.json"
    run = run_training("train-ranker", train, validation, model, env, report)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "validation hit@5" in run.stdout and str(model) in run.stdout.replace("\n", "")
    written = json.loads(report.read_text())
    assert set(written["importance_gain"]) == set(FEATURES) and written["rounds"] >= 25
    assert written["data"]["validation"]["path"].endswith("val.jsonl")
    assert json.loads(model.with_suffix(".json").read_text())["features"] == list(FEATURES)

    policy = tmp_path / "policy.toml"
    policy.write_text(_policy_with_model(str(model)), encoding="utf-8")
    out = tmp_path / "eval.json"
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", "--dataset", str(tmp_path / "val.jsonl"),
         "--policy", str(policy), "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(out.read_text())["system"]["overall"]["hit@5"] is not None
