"""The ranking policy (assistant/resources/ranking.toml): it loads, a variant with one changed number changes a
ranking on the real index, and a malformed file is rejected with a message naming the key."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from corpus_ids import CSL_2016, CSL_2025, EU_AI_ACT

from assistant.answering.guard import decide
from assistant.retrieval import HybridRetriever, PolicyError, default_policy, load_policy
from assistant.retrieval.policy import DEFAULT_POLICY_FILE, ROW_SELECTORS, parse_policy

DEFAULT_TEXT = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")


def variant(old: str, new: str) -> str:
    assert DEFAULT_TEXT.count(old) == 1, old
    return DEFAULT_TEXT.replace(old, new)


def with_policy(retriever, text: str) -> HybridRetriever:
    """A retriever on the session's index and embedder, ranking by the given policy."""
    return HybridRetriever(
        retriever.settings,
        index=retriever.index,
        embedder=retriever.embedder,
        policy=parse_policy(text, "variant.toml"),
    )


def test_the_default_policy_is_the_shipped_file():
    policy = default_policy()
    assert policy.source == str(DEFAULT_POLICY_FILE) and load_policy(DEFAULT_POLICY_FILE) is policy
    assert [r.rows for r in policy.rules] and all(r.rows in ROW_SELECTORS for r in policy.rules)
    assert {i.name for i in policy.intents} == {"penalty", "when_in_force", "definition", "scope"}
    assert policy.diversity.max_pieces_per_unit == 2 and policy.fusion.dense_weight == 0.5


def test_one_changed_number_changes_a_ranking(retriever):
    question = (
        "Our Annex III system only performs a narrow procedural task such as sorting files. "
        "Could it escape the high-risk classification?"
    )
    first = retriever.run(question).clauses[0]
    assert first.unit == "Annex III" and len(first.rows) > 1  # with its neighbouring pieces
    alone = with_policy(
        retriever, variant("passage_max_chars = { zh = 1800, en = 3600 }", "passage_max_chars = { zh = 0, en = 0 }")
    )
    first = alone.run(question).clauses[0]
    assert first.unit == "Annex III" and len(first.rows) == 1


def test_a_rule_factor_from_the_file_decides_between_versions(retriever):
    question = "网络安全等级保护制度有哪些要求？"
    assert retriever.run(question, k=60).clauses[0].doc_id == CSL_2025
    revoked_up = with_policy(
        retriever, variant('rows = "revoked_not_named"\nfactor = 0.5', 'rows = "revoked_not_named"\nfactor = 5.0')
    )
    assert revoked_up.run(question, k=60).clauses[0].doc_id == CSL_2016


def test_the_policy_is_passed_to_the_guard(service):
    question = "百分之多少的企业已经在用生成式人工智能服务？"
    result = service.retriever.run(question)
    assert decide(result, service.settings, {}, {}).kind == "events"
    lenient = parse_policy(variant("'百分之多少的(企业|公司)',", ""), "variant.toml")
    assert not lenient.guard.statistics.search(question)
    assert decide(result, service.settings, {}, {}, lenient).kind != "events"


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("dense_weight = 0.5", 'dense_weight = "half"', "fusion.dense_weight: expected a number, got 'half'"),
        ("dense_weight = 0.5", "", "fusion.dense_weight: missing"),
        ("dense_weight = 0.5", "dense_weight = 0.5\ndense_wieght = 0.6", "fusion.dense_wieght: unknown key"),
        (
            "max_pieces_per_unit = 2",
            "max_pieces_per_unit = 2.5",
            "diversity.max_pieces_per_unit: expected an integer, got 2.5",
        ),
        (
            "passage_max_chars = { zh = 1800, en = 3600 }",
            "passage_max_chars = { zh = 1800, en = 3600, de = 3600 }",
            "diversity.passage_max_chars.de: unknown key",
        ),
        ('rows = "non_operative"', 'rows = "recitals"', "rules[3].rows: unknown rows 'recitals'"),
        ('when = "intent:scope"', 'when = "intent:scopes"', "rules[5].when: unknown condition 'intent:scopes'"),
        ("'不对外',", "'不对外(',", "intents.scope.any: not a valid regular expression"),
        ("[guard.year]\npattern", "[guard.year]\nany", "guard.year.any: expected a list of strings"),
        ("margin = 1.05", "margin = ", "not valid TOML"),
        (
            '[defining_clause]\nwhen = "intent:definition"',
            '[defining_clause]\nwhen = "intent:meaning"',
            "defining_clause.when: unknown condition 'intent:meaning'",
        ),
    ],
)
def test_a_malformed_policy_is_rejected_naming_the_key(old, new, message):
    with pytest.raises(PolicyError, match=re.escape(message)) as err:
        parse_policy(variant(old, new), "variant.toml")
    assert str(err.value).startswith("variant.toml: ")


def test_regqa_eval_evaluates_a_policy_file_and_rejects_a_malformed_one(tmp_path, full_index, cli_env):
    dataset = tmp_path / "one.jsonl"
    dataset.write_text(
        json.dumps(
            {
                "id": "q1",
                "question": "What does Article 50 of the AI Act require?",
                "gold": [{"doc_id": EU_AI_ACT, "unit": "Article 50", "evidence": "natural persons"}],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    env = cli_env(full_index.settings)
    good = tmp_path / "variant.toml"
    good.write_text(variant("coverage_weight = 1.0", "coverage_weight = 1.5"), encoding="utf-8")
    report = tmp_path / "report.json"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "eval",
            "--dataset",
            str(dataset),
            "--policy",
            str(good),
            "--out",
            str(report),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(report.read_text(encoding="utf-8"))["policy"] == str(good)
    bad = tmp_path / "bad.toml"
    bad.write_text(variant("coverage_weight = 1.0", "coverage_weight = true"), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", "--dataset", str(dataset), "--policy", str(bad)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 2, out.stderr
    assert "fusion.coverage_weight: expected a number, got True" in " ".join(out.stderr.split())
