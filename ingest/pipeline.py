"""Incremental, crash-safe ingest: corpus files -> clause chunks -> embeddings -> Chroma + keyword index.

Per document (keyed by ``doc_id``, hashed by file content):
- unchanged and complete in the index -> skipped (no load of the model at all when nothing changed);
- new, changed, or incomplete (an earlier run was killed) -> its chunks are replaced; embeddings of chunks
  whose embedded text did not change are reused;
- gone from the corpus -> its chunks are deleted. A file that is still there but fails to load keeps its
  previous chunks (nothing is lost because of a bad edit) and is reported as failed.
The keyword index is then re-derived from the collection. Killing the process at any point and running
again gives the same index as one clean run.
"""
from __future__ import annotations

import fcntl
import hashlib
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from common.settings import Settings

from .applicability import rules_fingerprint
from .catalog import load_catalog
from .embeddings import load_embedder
from .keyword_index import sync_keyword_index
from .loaders import LoadError, corpus_files, load_document
from .models import FileFailure, IngestReport, SourceDocument
from .obligations import sync_register
from .splitter import SPLITTER_VERSION, chunk_document
from .store import ClauseStore, embed_sha

# progress(stage, done, total, label)
ProgressCallback = Callable[[str, int, int, str], None]


def _no_progress(stage: str, done: int, total: int, label: str) -> None:
    pass


def sorted_rows(store: ClauseStore) -> list[tuple[str, dict, str]]:
    """All chunks as (id, metadata, text), in document order."""
    rows = list(store.iter_rows(include=("metadatas", "documents")))
    rows.sort(key=lambda r: (r[1].get("doc_id", ""), int(r[1].get("chunk_index", 0))))
    return rows


def keyword_dir(settings: Settings) -> Path:
    suffix = settings.collection_name if not settings.chroma_host else \
        f"{settings.collection_name}@{settings.chroma_host}_{settings.chroma_port}"
    return settings.index_dir / "keyword" / suffix


def register_dir(settings: Settings) -> Path:
    """Where the obligation register derived from the collection is stored (beside the keyword index)."""
    return settings.index_dir / "obligations" / keyword_dir(settings).name


@contextmanager
def ingest_lock(index_dir: Path):
    """One ingest at a time per index dir, across threads and processes (an exclusive lock on a file)."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".ingest.lock", "a+")
    except OSError:  # a read-only index dir: the store reports that itself; only this process is serialised
        handle = None
    with _THREAD_LOCK:
        try:
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()


_THREAD_LOCK = threading.Lock()


def run_ingest(
    settings: Settings,
    *,
    corpus_dir: Path | None = None,
    rebuild: bool = False,
    progress: ProgressCallback = _no_progress,
) -> IngestReport:
    with ingest_lock(settings.index_dir):
        return _run_ingest(settings, corpus_dir=corpus_dir, rebuild=rebuild, progress=progress)


def _run_ingest(
    settings: Settings,
    *,
    corpus_dir: Path | None,
    rebuild: bool,
    progress: ProgressCallback,
) -> IngestReport:
    started = time.perf_counter()
    corpus_dir = (corpus_dir or settings.corpus_dir).resolve()
    report = IngestReport()
    if not corpus_dir.is_dir():
        report.failed.append(FileFailure(corpus_dir, "corpus directory does not exist"))
        return report

    catalog = load_catalog(settings.catalog_path)
    store = ClauseStore(settings, rebuild=rebuild)
    indexed = store.documents()

    # 1. load every file (the corpus, plus documents uploaded through the web app); collect failures
    roots = [("", corpus_dir)]
    upload_dir = settings.index_dir / "uploads"
    if upload_dir.is_dir() and upload_dir.resolve() != corpus_dir:
        roots.append(("uploads/", upload_dir))
    files = [(prefix, root, path) for prefix, root in roots for path in corpus_files(root)]
    loaded: dict[str, SourceDocument] = {}
    source_of: dict[str, str] = {}
    failed_files: set[str] = set()
    for i, (prefix, root, path) in enumerate(files, 1):
        progress("load", i, len(files), path.name)
        rel = prefix + str(path.relative_to(root))
        try:
            doc = load_document(path, catalog, settings.upload_max_unpacked_bytes)
        except LoadError as exc:
            report.failed.append(FileFailure(path, str(exc)))
            failed_files.add(rel)
            continue
        if doc.doc_id in loaded:
            report.failed.append(FileFailure(path, f"duplicate document id {doc.doc_id!r} "
                                                   f"(also in {loaded[doc.doc_id].path.name})"))
            continue
        loaded[doc.doc_id] = doc
        source_of[doc.doc_id] = rel
    report.documents = len(loaded)

    # 2. remove documents whose file is gone (not those whose file merely failed to load)
    for doc_id, state in indexed.items():
        if doc_id not in loaded and state.source_file not in failed_files:
            store.delete_document(doc_id)
            report.removed.append(doc_id)

    # 3. add / replace what changed
    def key(doc: SourceDocument) -> str:
        recipe = f"{SPLITTER_VERSION}|{settings.chunk_max_chars_zh}|{settings.chunk_max_chars_en}|" \
                 f"{catalog.get(doc.doc_id)!r}|{rules_fingerprint(doc.doc_id)}"
        return hashlib.sha256(recipe.encode()).hexdigest()[:16]

    todo = [d for d in loaded.values()
            if not (d.doc_id in indexed and indexed[d.doc_id].complete and indexed[d.doc_id].sha256 == d.sha256
                    and indexed[d.doc_id].ingest_key == key(d))]
    report.skipped = sorted(set(loaded) - {d.doc_id for d in todo})
    if todo:
        embedder = load_embedder(settings.embedding_model)
        embedder.batch_size = max(1, settings.embedding_batch_size)
        for n, doc in enumerate(todo, 1):
            chunks = chunk_document(doc, catalog.get(doc.doc_id), max_chars_zh=settings.chunk_max_chars_zh,
                                    max_chars_en=settings.chunk_max_chars_en)
            if not chunks:
                report.failed.append(FileFailure(doc.path, "no text to index after splitting"))
                continue
            reusable = store.embeddings_by_text_hash(doc.doc_id) if doc.doc_id in indexed else {}
            hashes = [embed_sha(c.embed_text) for c in chunks]
            missing = [i for i, h in enumerate(hashes) if h not in reusable]
            vectors: dict[int, np.ndarray] = {i: reusable[h] for i, h in enumerate(hashes) if h in reusable}
            if missing:
                label = f"{doc.doc_id} ({n}/{len(todo)})"
                fresh = embedder.embed_documents(
                    [chunks[i].embed_text for i in missing],
                    progress=lambda done, total: progress("embed", done, total, label),
                )
                vectors.update(zip(missing, fresh))
                report.embedded_chunks += len(missing)
            store.add_document(doc, chunks, np.vstack([vectors[i] for i in range(len(chunks))]),
                               source_file=source_of[doc.doc_id], ingest_key=key(doc))
            (report.replaced if doc.doc_id in indexed else report.added).append(doc.doc_id)
            progress("index", n, len(todo), doc.doc_id)

    # 4. the keyword index follows the collection
    progress("keyword", 0, 1, "keyword index")
    rows = sorted_rows(store)
    keyword, _ = sync_keyword_index(rows, keyword_dir(settings))
    store.publish_fingerprint(keyword.fingerprint)
    progress("keyword", 1, 1, "keyword index")
    sync_register(rows, register_dir(settings))  # the obligation register follows the collection too
    report.chunks = len(rows)
    report.seconds = time.perf_counter() - started
    return report
