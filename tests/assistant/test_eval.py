"""`regqa eval`: the dump format (a public contract) and agreement of our metrics with shared/eval/score.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_ids import ALGO, EU_AI_ACT, GENAI

from assistant.evaluation import evaluate, run_baseline
from assistant.metrics import load_dataset, summarise
from common.settings import SHARED_CORPUS

SCORE_PY = SHARED_CORPUS.parent / "eval" / "score.py"
REGQA = Path(sys.executable).with_name("regqa")

# A small dataset in the dev.jsonl format (our own questions): a lookup, an answer at rank > 1, a cross-lingual
# miss candidate, a follow-up with history, and an unanswerable item.
ITEMS = [
    {
        "id": "t-lookup",
        "question": "《生成式人工智能服务管理暂行办法》第十七条规定了什么？",
        "lang": "zh",
        "type": "lookup",
        "gold": [{"doc_id": GENAI, "unit": "第十七条", "evidence": "开展安全评估"}],
        "answer_points": ["安全评估", "算法备案"],
    },
    {
        "id": "t-labels",
        "question": "生成式人工智能服务提供者应当对哪些内容进行标识？",
        "lang": "zh",
        "type": "obligation",
        "gold": [{"doc_id": GENAI, "unit": "第十二条", "evidence": "对图片、视频等生成内容进行标识"}],
    },
    {
        "id": "t-deepfake",
        "question": "What must deployers disclose about deep fakes under the EU AI Act?",
        "lang": "en",
        "type": "obligation",
        "gold": [{"doc_id": EU_AI_ACT, "unit": "Article 50(4)", "evidence": "constituting a deep fake"}],
    },
    {
        "id": "t-follow",
        "question": "那不备案会怎么处罚？",
        "lang": "zh",
        "type": "follow-up",
        "history": [
            {"role": "user", "content": "算法推荐服务提供者需要备案吗？"},
            {"role": "assistant", "content": "需要，应当通过互联网信息服务算法备案系统履行备案手续。"},
        ],
        "gold": [{"doc_id": ALGO, "unit": "第三十三条", "evidence": "予以撤销备案"}],
    },
    {
        "id": "t-unanswerable",
        "question": "What does Colorado's AI law require from deployers?",
        "lang": "en",
        "type": "unanswerable",
        "gold": [],
    },
]
COMPARED = (
    "hit@5",
    "mrr@10",
    "citation_correct",
    "unanswerable_refused",
    "answerable_refused",
    "latency_p50_ms",
    "latency_p95_ms",
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("eval") / "small.jsonl"
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in ITEMS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def eval_run(dataset, full_index, cli_env):
    """One `regqa eval --dump … --baseline bm25 --out …` run in a subprocess on the session index."""
    assert REGQA.is_file(), f"the regqa entry point is not installed next to {sys.executable}"
    out_dir = dataset.parent
    dump, report = out_dir / "dump.jsonl", out_dir / "report.json"
    proc = subprocess.run(
        [
            str(REGQA),
            "eval",
            "--dataset",
            str(dataset),
            "--dump",
            str(dump),
            "--baseline",
            "bm25",
            "--out",
            str(report),
        ],
        env=cli_env(full_index.settings),
        cwd=str(out_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, dump, report


def test_dump_has_the_public_keys(eval_run):
    _, dump, _ = eval_run
    records = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [r["id"] for r in records] == [item["id"] for item in ITEMS]
    for rec in records:
        assert {"id", "retrieved", "answer", "citations", "refused", "latency_ms"} <= set(rec)
        assert 0 < len(rec["retrieved"]) <= 10
        for chunk in rec["retrieved"]:
            assert {"doc_id", "unit", "text", "score"} <= set(chunk)
            assert isinstance(chunk["text"], str) and chunk["text"]
            assert isinstance(chunk["score"], (int, float))
        for cit in rec["citations"]:
            assert {"doc_id", "unit"} <= set(cit)
        assert isinstance(rec["answer"], str) and rec["answer"]
        assert isinstance(rec["refused"], bool)
        assert isinstance(rec["latency_ms"], (int, float)) and rec["latency_ms"] > 0
    by_id = {r["id"]: r for r in records}
    lookup = by_id["t-lookup"]
    assert [(c["doc_id"], c["unit"]) for c in lookup["citations"]] == [(GENAI, "第十七条")]
    assert (lookup["retrieved"][0]["doc_id"], lookup["retrieved"][0]["unit"]) == (GENAI, "第十七条")
    assert by_id["t-unanswerable"]["refused"] is True and by_id["t-unanswerable"]["citations"] == []
    assert by_id["t-follow"]["retrieved"][0]["doc_id"] == ALGO  # the history was fed to the assistant


def test_dump_matches_the_service_in_process(eval_run, service):
    _, dump, _ = eval_run
    records = {json.loads(line)["id"]: json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()}
    for item in ITEMS:
        answer = service.answer(item["question"], history=item.get("history"))
        rec = records[item["id"]]
        assert rec["answer"] == answer.text
        assert [(c["doc_id"], c["unit"]) for c in rec["citations"]] == [(c.doc_id, c.unit) for c in answer.citations]
        assert [(r["doc_id"], r["unit"], r["text"]) for r in rec["retrieved"]] == [
            (c.doc_id, c.unit, c.text) for c in answer.retrieved[:10]
        ]


def test_score_py_agrees_with_our_metrics(eval_run, dataset):
    _, dump, report_path = eval_run
    proc = subprocess.run(
        [sys.executable, str(SCORE_PY), str(dataset), str(dump)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    records = {json.loads(line)["id"]: json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()}
    ours = summarise(load_dataset(dataset), records)["overall"]
    assert theirs["items"] == ours["items"] == len(ITEMS) and theirs["missing"] == 0
    for key in COMPARED:
        assert theirs[key] == pytest.approx(ours[key]), key
    # the report the CLI wrote holds the same figures, and the bm25 baseline's
    report = json.loads(report_path.read_text(encoding="utf-8"))
    for key in COMPARED:
        assert report["system"]["overall"][key] == pytest.approx(ours[key]), key
    bm25 = report["baselines"]["bm25"]
    assert set(bm25) >= {"hit@1", "hit@5", "mrr@10"} and 0.0 <= bm25["hit@5"] <= 1.0
    assert ours["hit@5"] > 0.0 and ours["unanswerable_refused"] == 1.0  # the figures are not all trivial


def test_cli_prints_the_comparison_table(eval_run):
    proc, _, _ = eval_run
    assert "bm25" in proc.stdout and "regqa" in proc.stdout and "mrr@10" in proc.stdout


def test_eval_rejects_bad_input(tmp_path, full_index, cli_env):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "no id"}\n', encoding="utf-8")
    env = cli_env(full_index.settings)
    proc = subprocess.run(
        [str(REGQA), "eval", "--dataset", str(bad)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2 and "not a dataset record" in proc.stderr
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(ITEMS[0], ensure_ascii=False) + "\n", encoding="utf-8")
    proc = subprocess.run(
        [str(REGQA), "eval", "--dataset", str(good), "--baseline", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "unknown baseline" in proc.stderr


def test_baselines_in_process(service, dataset):
    items = load_dataset(dataset)
    for name in ("bm25", "bm25-chunks", "dense"):
        records = run_baseline(name, service, items)
        assert set(records) == {item.id for item in items}
        for rec in records.values():
            assert rec["answer"] == "" and rec["citations"] == [] and rec["refused"] is False
            assert len(rec["retrieved"]) <= 10
            scores = [r["score"] for r in rec["retrieved"]]
            assert scores == sorted(scores, reverse=True)
            if name == "bm25-chunks":  # the textbook chunks: at most 1,000 characters, each from one document
                assert all(len(r["text"]) <= 1000 and r["doc_id"] and r["unit"] == "" for r in rec["retrieved"])
        assert any(rec["retrieved"] for rec in records.values()), name
    with pytest.raises(ValueError, match="unknown baseline"):
        run_baseline("nope", service, items)
    report = evaluate(service, items[:1], baselines=["bm25"])
    assert report["system"]["overall"]["items"] == 1 and "bm25" in report["baselines"]
