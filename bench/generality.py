"""How regqa does on documents it was not tuned on, against the plainest pipelines in the same run.

Each corpus is ingested the way a user would (`regqa ingest` over a folder of plain files, no catalog entry:
the catalog is switched off), its questions are asked through the answer service, and the same questions go to
two baselines over LangChain's RecursiveCharacterTextSplitter(1000/200) chunks of the same loaded texts: BM25
(bm25s over our zh/en tokenizer) and dense (the same embedding model, exact cosine).

Scores, for every system on the same items:
- ``passage_recall@10`` / ``passage_mrr@10``: a gold evidence string (whitespace ignored) is inside one of the top
  10 retrieved texts — unit-agnostic, so clause chunks and character chunks are judged alike;
- regqa only: ``unit_hit@5`` (a gold unit among the top 5 retrieved units), ``citation_correct`` (a cited unit is a
  gold unit), ``unanswerable_declined``, ``answerable_declined``, ``latency_p50_ms``.

Questions: JSON Lines in the dev format, where a gold entry names its document either by ``doc_id`` or by the
``file`` it came from (``{"file": "电子商务法(2018-08-31).md", "unit": "第十二条", "evidence": "..."}``).

    python bench/generality.py --corpus DIR --questions FILE [--name NAME] [--out bench/results/generality.json]

Several ``--corpus/--questions`` pairs may be given (matched in order). Results are printed and merged into the
output file under each corpus name.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.settings import Settings  # noqa: E402
from ingest.embeddings import load_embedder  # noqa: E402
from ingest.keyword_index import tokenize  # noqa: E402
from ingest.loaders import LoadError, corpus_files, load_document  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from ingest.store import ClauseStore  # noqa: E402

K = 10
_SPACE = re.compile(r"\s+")
_UNIT_NOISE = re.compile(r"[\s§]|^section|^sec\.|^article|^rule", re.I)


def squeeze(text: str) -> str:
    return _SPACE.sub("", text)


def unit_key(unit: str) -> str:
    return _UNIT_NOISE.sub("", unit.strip().lower())


@dataclass
class Item:
    id: str
    question: str
    history: list[dict]
    type: str
    lang: str
    gold: list[dict]  # {"doc_id", "unit", "evidence"} after file names are resolved

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


@dataclass
class Scores:
    ranks: list[int | None] = field(default_factory=list)  # rank of the first retrieved text holding evidence

    def add(self, texts: list[str], item: Item) -> None:
        evidence = [squeeze(g["evidence"]) for g in item.gold if g.get("evidence")]
        rank = next((n for n, text in enumerate(texts[:K], 1) if any(e and e in squeeze(text) for e in evidence)), None)
        self.ranks.append(rank)

    def summary(self) -> dict:
        n = len(self.ranks) or 1
        return {
            "passage_recall@10": round(sum(r is not None for r in self.ranks) / n, 3),
            "passage_mrr@10": round(sum(1 / r for r in self.ranks if r) / n, 3),
        }


def load_items(path: Path, doc_of_file: dict[str, str]) -> list[Item]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        gold = []
        for g in raw.get("gold", []):
            doc_id = g.get("doc_id") or doc_of_file.get(Path(g.get("file", "")).name)
            if not doc_id:
                raise SystemExit(f"{path}: item {raw['id']}: no indexed document for {g.get('file')!r}")
            gold.append({"doc_id": doc_id, "unit": g.get("unit", ""), "evidence": g.get("evidence", "")})
        items.append(
            Item(raw["id"], raw["question"], raw.get("history") or [], raw.get("type", ""), raw.get("lang", ""), gold)
        )
    return items


def baseline_chunks(settings: Settings) -> list[str]:
    """RecursiveCharacterTextSplitter(1000/200) over the same loaded texts (no catalog)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks: list[str] = []
    for path in corpus_files(settings.corpus_dir):
        try:
            doc = load_document(path, {})
        except LoadError:
            continue
        chunks += splitter.split_text(doc.body)
    return chunks


def search_query(item: Item) -> str:
    """Baselines keep no conversation state: a follow-up is searched with the previous user turn."""
    previous = [h["content"] for h in item.history if h.get("role") == "user"]
    return "\n".join([item.question, *previous[-1:]])


def run_baselines(settings: Settings, items: list[Item]) -> dict[str, dict]:
    import bm25s

    chunks = baseline_chunks(settings)
    bm25 = bm25s.BM25()
    bm25.index([tokenize(c) for c in chunks], show_progress=False)
    embedder = load_embedder(settings.embedding_model)
    vectors = np.asarray(embedder.embed_documents(chunks), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    scores = {"bm25-chunks": Scores(), "dense-chunks": Scores()}
    for item in items:
        if not item.answerable:
            continue
        query = search_query(item)
        tokens = tokenize(query)
        keyword = bm25.get_scores(tokens) if tokens else np.zeros(len(chunks))
        top = [chunks[i] for i in np.argsort(-keyword, kind="stable")[:K] if keyword[i] > 0]
        scores["bm25-chunks"].add(top, item)
        q = np.asarray(embedder.embed_query(query), dtype=np.float32)
        sims = vectors @ (q / max(float(np.linalg.norm(q)), 1e-12))
        scores["dense-chunks"].add([chunks[i] for i in np.argsort(-sims, kind="stable")[:K]], item)
    return {name: {"chunks": len(chunks), **s.summary()} for name, s in scores.items()}


def run_regqa(settings: Settings, items: list[Item], decisions: list[dict] | None = None) -> dict:
    from assistant.answering.service import AnswerService

    service = AnswerService(settings)
    service.warm_up()
    passages = Scores()
    unit_hits, cited_right, declined_ok, declined_wrong, latencies = [], [], [], [], []
    by_type: dict[str, list[int]] = {}
    for item in items:
        t = time.perf_counter()
        answer = service.answer(item.question, history=item.history)
        latencies.append((time.perf_counter() - t) * 1000)
        if decisions is not None:
            decisions.append(
                {
                    "question": item.question,
                    "type": item.type,
                    "answerable": item.answerable,
                    "declined": answer.refused,
                    "kind": answer.refusal_kind,
                    "cited": [f"{c.doc_id} {c.unit}" for c in answer.citations],
                }
            )
        if not item.answerable:
            declined_ok.append(answer.refused)
            continue
        declined_wrong.append(answer.refused)
        passages.add([c.text for c in answer.retrieved], item)
        gold_units = {(g["doc_id"], unit_key(g["unit"])) for g in item.gold}
        top_units = [(c.doc_id, unit_key(c.unit)) for c in answer.retrieved[:5]]
        hit = any(u in gold_units for u in top_units)
        unit_hits.append(hit)
        by_type.setdefault(item.type, []).append(hit)
        cited_right.append(any((c.doc_id, unit_key(c.unit)) in gold_units for c in answer.citations))

    def share(values: list[bool]) -> float:
        return round(sum(values) / len(values), 3) if values else 0.0

    return {
        **passages.summary(),
        "unit_hit@5": share(unit_hits),
        "citation_correct": share(cited_right),
        "unanswerable_declined": share(declined_ok),
        "answerable_declined": share(declined_wrong),
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "unit_hit@5_by_type": {t: share(v) for t, v in sorted(by_type.items())},
        "items": len(items),
        "answerable": len(unit_hits),
        "unanswerable": len(declined_ok),
    }


def measure(
    corpus: Path, questions: Path, work: Path, embedding_model: str | None, decisions: list[dict] | None = None
) -> dict:
    empty_catalog = work / "no-catalog.toml"
    empty_catalog.write_text("", encoding="utf-8")
    values = {"corpus_dir": corpus, "index_dir": work / "index", "catalog_path": empty_catalog, "chroma_host": ""}
    if embedding_model:
        values["embedding_model"] = embedding_model
    settings = Settings(**values)
    t = time.perf_counter()
    report = run_ingest(settings)
    ingest_s = time.perf_counter() - t
    if not report.ok:
        raise SystemExit(f"ingest of {corpus} failed: {report.failed}")
    documents = ClauseStore(settings).documents()
    doc_of_file = {Path(d.source_file).name: d.doc_id for d in documents.values()}
    items = load_items(questions, doc_of_file)
    return {
        "corpus": str(corpus),
        "questions": str(questions),
        "documents": len(documents),
        "units": sum(d.units for d in documents.values()),
        "ingest_s": round(ingest_s, 1),
        "regqa": run_regqa(settings, items, decisions),
        **run_baselines(settings, items),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, action="append", required=True)
    parser.add_argument("--questions", type=Path, action="append", required=True)
    parser.add_argument("--name", action="append", help="a name per corpus (default: the folder name)")
    parser.add_argument("--embedding-model", default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "generality.json")
    parser.add_argument("--dump", type=Path, help="also write each question's decision and citations: DUMP/NAME.jsonl")
    args = parser.parse_args(argv)
    if len(args.corpus) != len(args.questions):
        parser.error("give one --questions per --corpus")
    names = args.name or [c.name for c in args.corpus]
    results = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    for name, corpus, questions in zip(names, args.corpus, args.questions):
        decisions: list[dict] = []
        with tempfile.TemporaryDirectory(prefix="regqa-generality-") as tmp:
            result = measure(corpus.resolve(), questions.resolve(), Path(tmp), args.embedding_model, decisions)
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            lines = [json.dumps(d, ensure_ascii=False) for d in decisions]
            (args.dump / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        result["measured"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        results[name] = result
        print(json.dumps({name: result}, ensure_ascii=False, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
