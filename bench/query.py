"""Query latency: retrieval + extractive answer, warm, over the dev questions.

Usage: python bench/query.py [--rounds 3] [--dataset ../shared/eval/dev.jsonl]
Uses the settings' index (run `regqa ingest` first). Prints p50/p95/max per stage and for the whole answer,
and the same for the langchain-default baseline (similarity top-10 over 1000/200 chunks) measured in the
same run; writes bench/results/query.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ingest.py is named like the ``ingest`` package: drop this directory from sys.path so that it cannot
# shadow the package, and make the project root importable.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

import argparse
import json
import platform
import statistics
import time

from assistant.answering.service import AnswerService
from assistant.evaluation import item_query, langchain_default_store
from assistant.metrics import load_dataset
from common.settings import PROJECT_ROOT, get_settings


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def pick(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {
        "n": len(values),
        "p50": round(statistics.median(values), 1),
        "p95": pick(0.95),
        "max": round(ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dataset", default=str(PROJECT_ROOT.parent / "shared" / "eval" / "dev.jsonl"))
    parser.add_argument("--out", default=str(PROJECT_ROOT / "bench" / "results" / "query.json"))
    args = parser.parse_args()
    settings = get_settings().with_overrides(feedback_log_declined=False)  # benchmark questions are not users'
    items = load_dataset(Path(args.dataset))
    t = time.perf_counter()
    service = AnswerService(settings)
    if not len(service.retriever.index):  # timing an empty index measures nothing
        raise SystemExit(
            f"the index in {settings.index_dir} is empty: run `regqa ingest` first (or set REGQA_INDEX_DIR)"
        )
    service.warm_up()
    startup_s = time.perf_counter() - t
    total, retrieve = [], []
    for _ in range(args.rounds):
        for item in items:
            t = time.perf_counter()
            answer = service.answer(item.question, history=item.history)
            total.append((time.perf_counter() - t) * 1000)
            retrieve.append(answer.timings["retrieve_ms"])
    store = langchain_default_store(service)
    store.similarity_search(items[0].question, k=10)  # warm
    baseline = []
    for _ in range(args.rounds):
        for item in items:
            t = time.perf_counter()
            store.similarity_search(item_query(item), k=10)
            baseline.append((time.perf_counter() - t) * 1000)
    result = {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "embedding_model": settings.embedding_model,
        "chunks": len(service.retriever.index),
        "service_startup_s": round(startup_s, 2),
        "answer_ms": percentiles(total),
        "retrieve_ms": percentiles(retrieve),
        "baseline_langchain_default_search_ms": percentiles(baseline),
    }
    result["ratio_p50_answer_vs_baseline_search"] = round(
        result["answer_ms"]["p50"] / result["baseline_langchain_default_search_ms"]["p50"], 2
    )
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
