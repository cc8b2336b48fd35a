"""Ingest benchmark: cold full-corpus ingest, no-change re-ingest, memory and chunk-length distribution.

Usage: python bench/ingest.py [--model usem3] [--corpus ../shared/corpus] [--out bench/results/ingest.json]

Builds a fresh index in a temporary directory (removed afterwards unless --keep), so the numbers are for a cold
ingest. The embedding model is loaded first and timed on its own (load + one warm-up sentence: some bundled
models load lazily on the first encode), so the ingest time is splitting + embedding + indexing only.
Prints a summary and writes the JSON results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# This script is named like the ``ingest`` package: run as ``python bench/ingest.py`` its own directory comes
# first on sys.path and would shadow the package. Drop it, and make sure the project root is importable.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402

from common.settings import PROJECT_ROOT, Settings  # noqa: E402
from ingest.embeddings import load_embedder  # noqa: E402
from ingest.pipeline import run_ingest, sorted_rows  # noqa: E402
from ingest.store import ClauseStore  # noqa: E402


def peak_rss_mb() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(usage / (1024 * 1024) if sys.platform == "darwin" else usage / 1024, 1)  # bytes on macOS, KiB else


def distribution(lengths: list[int]) -> dict:
    if not lengths:
        return {"chunks": 0}
    values = np.asarray(lengths)
    return {
        "chunks": int(values.size),
        "min": int(values.min()),
        "p50": int(np.percentile(values, 50)),
        "p90": int(np.percentile(values, 90)),
        "max": int(values.max()),
        "mean": round(float(values.mean()), 1),
    }


def main() -> None:
    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default=defaults.embedding_model,
        help=f"embedding model (default: the setting, {defaults.embedding_model})",
    )
    parser.add_argument(
        "--corpus", type=Path, default=defaults.corpus_dir, help=f"corpus directory (default: {defaults.corpus_dir})"
    )
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results" / "ingest.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary index directory")
    args = parser.parse_args()

    corpus = args.corpus.expanduser().resolve()
    if not corpus.is_dir():
        sys.exit(f"corpus directory not found: {corpus}")
    index_dir = Path(tempfile.mkdtemp(prefix="regqa-bench-ingest-"))
    settings = defaults.with_overrides(embedding_model=args.model, index_dir=index_dir, corpus_dir=corpus)
    rss_start = peak_rss_mb()

    def progress(stage: str, done: int, total: int, label: str) -> None:
        if stage == "index":
            print(f"  indexed {done}/{total} {label}", file=sys.stderr, flush=True)

    try:
        t0 = time.perf_counter()
        embedder = load_embedder(args.model)
        embedder.embed_documents(["warm-up"])  # lazy models load their weights on the first encode
        model_load_s = time.perf_counter() - t0
        rss_after_model = peak_rss_mb()
        print(f"model {args.model}: loaded in {model_load_s:.1f} s", file=sys.stderr)

        t0 = time.perf_counter()
        cold = run_ingest(settings, progress=progress)
        cold_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        warm = run_ingest(settings)
        warm_s = time.perf_counter() - t0
        if warm.embedded_chunks:
            print(f"warning: the no-change re-ingest embedded {warm.embedded_chunks} chunks", file=sys.stderr)

        rows = sorted_rows(ClauseStore(settings))
        lengths: dict[str, list[int]] = {"zh": [], "en": []}
        per_doc: Counter[str] = Counter()
        for _, meta, text in rows:
            lengths.setdefault(meta.get("language") or "?", []).append(len(text or ""))
            per_doc[meta["doc_id"]] += 1
        index_mb = sum(f.stat().st_size for f in index_dir.rglob("*") if f.is_file()) / 1e6
    finally:
        if args.keep:
            print(f"index kept at {index_dir}", file=sys.stderr)
        else:
            shutil.rmtree(index_dir, ignore_errors=True)

    results = {
        "model": args.model,
        "corpus": str(corpus),
        "documents": cold.documents,
        "failed": [f"{f.path.name}: {f.reason}" for f in cold.failed],
        "chunks": cold.chunks,
        "model_load_seconds": round(model_load_s, 2),
        "cold_ingest_seconds": round(cold_s, 2),
        "cold_ingest_embedded_chunks": cold.embedded_chunks,
        "chunks_per_second": round(cold.embedded_chunks / cold_s, 1) if cold_s else None,
        "no_change_reingest_seconds": round(warm_s, 2),
        "no_change_reingest_embedded_chunks": warm.embedded_chunks,
        "peak_rss_mb": peak_rss_mb(),
        "rss_mb_before_model": rss_start,
        "rss_mb_after_model_load": rss_after_model,
        "index_size_mb": round(index_mb, 1),
        "chunk_chars": {lang: distribution(values) for lang, values in lengths.items() if values},
        "chunk_limits": {"zh": settings.chunk_max_chars_zh, "en": settings.chunk_max_chars_en},
        "chunks_per_document": dict(sorted(per_doc.items())),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "notes": "cold_ingest_seconds excludes model_load_seconds (load + one warm-up encode); "
        "chunks_per_second = embedded chunks / cold ingest time (split + embed + index + keyword index).",
    }

    print(f"\nIngest benchmark — model {args.model}, corpus {corpus}")
    print(f"  documents            {results['documents']} ({len(results['failed'])} failed)")
    print(f"  chunks               {results['chunks']}")
    print(f"  model load           {results['model_load_seconds']:.2f} s")
    print(f"  cold ingest          {results['cold_ingest_seconds']:.2f} s  ({results['chunks_per_second']} chunks/s)")
    print(
        f"  no-change re-ingest  {results['no_change_reingest_seconds']:.2f} s  "
        f"({warm.embedded_chunks} embedded, {len(warm.skipped)} skipped)"
    )
    print(f"  peak RSS             {results['peak_rss_mb']:.0f} MB")
    print(f"  index size           {results['index_size_mb']:.1f} MB")
    for lang, dist in results["chunk_chars"].items():
        print(
            f"  chunk chars [{lang}]     n={dist['chunks']} min={dist['min']} p50={dist['p50']} "
            f"p90={dist['p90']} max={dist['max']}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"  written to           {args.out}")


if __name__ == "__main__":
    main()
