"""`regqa eval`: run a dataset (format of shared/eval/dev.jsonl) through the answer service and baselines.

The dump (one JSON object per item: id, retrieved [top 10: doc_id, unit, text, score], answer, citations
[doc_id, unit], refused, latency_ms) is a public contract, scored by shared/eval/score.py as well.
Baselines, measured in the same run on the same embedding model:
- ``langchain-default``: RecursiveCharacterTextSplitter(1000/200) + Chroma + the embedding, similarity top-k;
- ``bm25``: our keyword index alone over our clause chunks (which holds titles, headings and, for the shipped corpus,
  the units' enrichment questions and paraphrases: not a plain BM25);
- ``bm25-chunks``: plain BM25 (bm25s over our zh/en tokenizer) over the langchain-default chunks, the baseline
  ``bench/generality.py`` uses for outside collections;
- ``dense``: Chroma similarity alone over our clause chunks.
Baselines retrieve only (no answer, no citation, no refusal).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.answering.service import AnswerService
from assistant.metrics import EvalItem, summarise

BASELINES = ("langchain-default", "bm25", "bm25-chunks", "dense")


def item_query(item: EvalItem) -> str:
    """Baselines have no conversation state: a follow-up is searched together with the previous user turn."""
    previous = [h["content"] for h in item.history if h.get("role") == "user"]
    return "\n".join([item.question, *previous[-1:]])


def run_service(
    service: AnswerService, items: list[EvalItem], progress: Callable[[int, int], None] | None = None
) -> dict[str, dict]:
    records = {}
    for n, item in enumerate(items, 1):
        t = time.perf_counter()
        answer = service.answer(item.question, history=item.history)
        latency = (time.perf_counter() - t) * 1000
        records[item.id] = {
            "id": item.id,
            "retrieved": [
                {"doc_id": c.doc_id, "unit": c.unit, "text": c.text, "score": c.score} for c in answer.retrieved[:10]
            ],
            "answer": answer.text,
            "lead": answer.lead,
            "citations": [
                {"doc_id": c.doc_id, "unit": c.unit, "locator": c.locator, "quote": c.quote} for c in answer.citations
            ],
            "refused": answer.refused,
            "uncovered": answer.uncovered,
            "latency_ms": round(latency, 1),
        }
        if progress:
            progress(n, len(items))
    return records


def _retrieval_records(items: list[EvalItem], search: Callable[[str], list[dict]]) -> dict[str, dict]:
    records = {}
    for item in items:
        t = time.perf_counter()
        retrieved = search(item_query(item))
        records[item.id] = {
            "id": item.id,
            "retrieved": retrieved,
            "answer": "",
            "citations": [],
            "refused": False,
            "latency_ms": round((time.perf_counter() - t) * 1000, 1),
        }
    return records


def run_baseline(name: str, service: AnswerService, items: list[EvalItem]) -> dict[str, dict]:
    retriever = service.retriever
    index = retriever.index
    if name == "bm25":

        def search(q: str) -> list[dict]:
            scores = index.keyword.scores(q)
            order = np.argsort(-scores)[:10]
            return [
                {
                    "doc_id": index.metas[i]["doc_id"],
                    "unit": index.metas[i]["unit"],
                    "text": index.texts[i],
                    "score": float(scores[i]),
                }
                for i in order
                if scores[i] > 0
            ]

        return _retrieval_records(items, search)
    if name == "dense":

        def search(q: str) -> list[dict]:
            rows, sims = retriever.nearest(retriever.embedder.embed_query(q), None, 10)
            return [
                {
                    "doc_id": index.metas[i]["doc_id"],
                    "unit": index.metas[i]["unit"],
                    "text": index.texts[i],
                    "score": sims[i],
                }
                for i in rows
            ]

        return _retrieval_records(items, search)
    if name == "bm25-chunks":
        import bm25s

        from ingest.keyword_index import tokenize

        chunks = baseline_chunks(service)
        bm25 = bm25s.BM25()
        bm25.index([tokenize(d.page_content) for d in chunks], show_progress=False)

        def search(q: str) -> list[dict]:
            tokens = tokenize(q)
            scores = bm25.get_scores(tokens) if tokens else np.zeros(len(chunks))
            return [
                {
                    "doc_id": chunks[i].metadata["doc_id"],
                    "unit": "",
                    "text": chunks[i].page_content,
                    "score": float(scores[i]),
                }
                for i in np.argsort(-scores, kind="stable")[:10]
                if scores[i] > 0
            ]

        return _retrieval_records(items, search)
    if name == "langchain-default":
        store = langchain_default_store(service)

        def search(q: str) -> list[dict]:
            return [
                {"doc_id": d.metadata.get("doc_id", ""), "unit": "", "text": d.page_content, "score": float(s)}
                for d, s in store.similarity_search_with_score(q, k=10)
            ]

        return _retrieval_records(items, search)
    raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")


def baseline_chunks(service: AnswerService) -> list:
    """The textbook chunks of the corpus: RecursiveCharacterTextSplitter(1000/200) over each document's body, as
    LangChain ``Document``s carrying the doc_id."""
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from ingest.catalog import load_catalog
    from ingest.loaders import LoadError, corpus_files, load_document

    settings = service.settings
    catalog = load_catalog(settings.catalog_path)
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    docs = []
    for path in corpus_files(settings.corpus_dir):
        try:
            doc = load_document(path, catalog)
        except LoadError:
            continue
        docs += splitter.split_documents([Document(page_content=doc.body, metadata={"doc_id": doc.doc_id})])
    return docs


def langchain_default_store(service: AnswerService):
    """The textbook LangChain pipeline over the same corpus and embedding model (built once, then reused)."""
    from langchain_chroma import Chroma

    from ingest.embeddings import langchain_embeddings

    settings = service.settings
    collection = f"baseline_langchain_default_{settings.embedding_model}".replace("/", "_").replace(":", "_")[:60]
    store = Chroma(
        collection_name=collection,
        embedding_function=langchain_embeddings(service.retriever.embedder),
        client=service.retriever.index.store.client,
        collection_metadata={"hnsw:space": "cosine"},
    )
    if store._collection.count() == 0:
        docs = baseline_chunks(service)
        for start in range(0, len(docs), 256):
            store.add_documents(docs[start : start + 256])
    return store


def write_dump(records: dict[str, dict], items: list[EvalItem], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            if item.id in records:
                out.write(json.dumps(records[item.id], ensure_ascii=False) + "\n")


def evaluate(
    service: AnswerService,
    items: list[EvalItem],
    baselines: Sequence[str] = (),
    dump: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    records = run_service(service, items, progress)
    if dump:
        write_dump(records, items, dump)
    system = summarise(items, records)
    baseline_figures = {name: summarise(items, run_baseline(name, service, items))["overall"] for name in baselines}
    return {"system": system, "baselines": baseline_figures, "policy": service.retriever.policy.source}
