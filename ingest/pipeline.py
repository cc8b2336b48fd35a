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
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.settings import Settings

from .applicability import rules_fingerprint
from .catalog import CatalogEntry, load_catalog
from .embeddings import Embedder, load_embedder
from .enrichment import enrich, entries_for, generate_missing, sync_vectors
from .enrichment import fingerprint as enrichment_fingerprint
from .keyword_index import sync_keyword_index
from .loaders import LoadError, corpus_files, load_document
from .models import Chunk, ChunkRow, FileFailure, GenerationReport, IngestReport, SourceDocument
from .obligations import sync_register
from .sentences import SentenceVectors, load_sentence_vectors, sync_sentence_vectors
from .splitter import SPLITTER_VERSION, chunk_document
from .store import ClauseStore, IndexedDocument, embed_sha

# progress(stage, done, total, label)
ProgressCallback = Callable[[str, int, int, str], None]


def _no_progress(stage: str, done: int, total: int, label: str) -> None:
    pass


def sorted_rows(store: ClauseStore) -> list[ChunkRow]:
    """All chunks as (id, metadata, text), in document order."""
    rows = list(store.iter_rows(include=("metadatas", "documents")))
    rows.sort(key=lambda r: (r[1].get("doc_id", ""), int(r[1].get("chunk_index", 0))))
    return rows


def keyword_dir(settings: Settings) -> Path:
    suffix = (
        settings.collection_name
        if not settings.chroma_host
        else f"{settings.collection_name}@{settings.chroma_host}_{settings.chroma_port}"
    )
    return settings.index_dir / "keyword" / suffix


def register_dir(settings: Settings) -> Path:
    """Where the obligation register derived from the collection is stored (beside the keyword index)."""
    return settings.index_dir / "obligations" / keyword_dir(settings).name


@contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """One ingest at a time per index dir, across threads and processes (an exclusive lock on a file)."""
    with ExitStack() as stack:
        try:
            index_dir.mkdir(parents=True, exist_ok=True)
            handle = stack.enter_context(open(index_dir / ".ingest.lock", "a+"))
        except OSError:  # a read-only index dir: the store reports that itself; only this process is serialised
            handle = None
        stack.enter_context(_THREAD_LOCK)
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
            stack.callback(fcntl.flock, handle, fcntl.LOCK_UN)
        yield


_THREAD_LOCK = threading.Lock()


def run_ingest(
    settings: Settings,
    *,
    corpus_dir: Path | None = None,
    rebuild: bool = False,
    progress: ProgressCallback = _no_progress,
    enrich: bool = False,
) -> IngestReport:
    """Index the corpus; with ``enrich``, first have the configured LLM endpoint write enrichment for the units
    no shipped entry covers (``EnrichmentUnavailable`` when no endpoint is configured)."""
    with ingest_lock(settings.index_dir):
        return _run_ingest(settings, corpus_dir=corpus_dir, rebuild=rebuild, progress=progress, enrich=enrich)


@dataclass(frozen=True)
class LoadedCorpus:
    """Stage 1's result: the documents that loaded, the file each came from, and the files that failed."""

    documents: dict[str, SourceDocument]  # doc_id -> document
    source_of: dict[str, str]  # doc_id -> file relative to its root ("uploads/…" for uploads)
    failed_files: frozenset[str]  # relative paths of files that failed to load


def _run_ingest(
    settings: Settings,
    *,
    corpus_dir: Path | None,
    rebuild: bool,
    progress: ProgressCallback,
    enrich: bool = False,
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
    corpus = _load_corpus(settings, corpus_dir, catalog, report, progress)
    report.documents = len(corpus.documents)
    _remove_gone(store, indexed, corpus, report)
    if enrich:
        _generate_enrichment(settings, corpus, catalog, report, progress)
    _index_changed(settings, store, indexed, corpus, catalog, report, progress)
    report.chunks = _sync_derived(settings, store, progress)
    report.seconds = time.perf_counter() - started
    return report


def _load_corpus(
    settings: Settings,
    corpus_dir: Path,
    catalog: dict[str, CatalogEntry],
    report: IngestReport,
    progress: ProgressCallback,
) -> LoadedCorpus:
    """1. Load every file (the corpus, plus documents uploaded through the web app); collect failures."""
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
            report.failed.append(
                FileFailure(path, f"duplicate document id {doc.doc_id!r} (also in {loaded[doc.doc_id].path.name})")
            )
            continue
        loaded[doc.doc_id] = doc
        source_of[doc.doc_id] = rel
    return LoadedCorpus(loaded, source_of, frozenset(failed_files))


def _remove_gone(
    store: ClauseStore, indexed: dict[str, IndexedDocument], corpus: LoadedCorpus, report: IngestReport
) -> None:
    """2. Remove documents whose file is gone (not those whose file merely failed to load)."""
    for doc_id, state in indexed.items():
        if doc_id not in corpus.documents and state.source_file not in corpus.failed_files:
            store.delete_document(doc_id)
            report.removed.append(doc_id)


def ingest_key(settings: Settings, doc: SourceDocument, entry: CatalogEntry | None) -> str:
    """What a document's chunks are made with besides its file: splitter version, chunk sizes, catalog entry, the
    dates the loader reads from the text (issued, amended) and applicability rules. A document is re-split when this
    (or its file's hash) changes."""
    recipe = (
        f"{SPLITTER_VERSION}|{settings.chunk_max_chars_zh}|{settings.chunk_max_chars_en}|"
        f"{entry!r}|{doc.issued}|{doc.amended}|{rules_fingerprint(doc.doc_id)}|"
        f"{enrichment_fingerprint(enrichment_dirs(settings), doc.doc_id)}"
    )
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def _index_changed(
    settings: Settings,
    store: ClauseStore,
    indexed: dict[str, IndexedDocument],
    corpus: LoadedCorpus,
    catalog: dict[str, CatalogEntry],
    report: IngestReport,
    progress: ProgressCallback,
) -> None:
    """3. Add / replace what changed (new, changed, or left incomplete by an earlier run)."""
    keys = {doc_id: ingest_key(settings, doc, catalog.get(doc_id)) for doc_id, doc in corpus.documents.items()}

    def up_to_date(doc: SourceDocument) -> bool:
        state = indexed.get(doc.doc_id)
        return bool(state and state.complete and state.sha256 == doc.sha256 and state.ingest_key == keys[doc.doc_id])

    todo = [d for d in corpus.documents.values() if not up_to_date(d)]
    report.skipped = sorted(set(corpus.documents) - {d.doc_id for d in todo})
    if not todo:
        return
    embedder = load_embedder(settings.embedding_model)
    embedder.batch_size = max(1, settings.embedding_batch_size)
    for n, doc in enumerate(todo, 1):
        chunks = chunk_document(
            doc,
            catalog.get(doc.doc_id),
            max_chars_zh=settings.chunk_max_chars_zh,
            max_chars_en=settings.chunk_max_chars_en,
        )
        if not chunks:
            report.failed.append(FileFailure(doc.path, "no text to index after splitting"))
            continue
        chunks, stale = enrich(chunks, entries_for(enrichment_dirs(settings), doc.doc_id))
        if stale:
            report.stale_enrichment[doc.doc_id] = stale
        reusable = store.embeddings_by_text_hash(doc.doc_id) if doc.doc_id in indexed else {}
        vectors = _embeddings(embedder, chunks, reusable, f"{doc.doc_id} ({n}/{len(todo)})", report, progress)
        store.add_document(doc, chunks, vectors, source_file=corpus.source_of[doc.doc_id], ingest_key=keys[doc.doc_id])
        (report.replaced if doc.doc_id in indexed else report.added).append(doc.doc_id)
        progress("index", n, len(todo), doc.doc_id)


def _embeddings(
    embedder: Embedder,
    chunks: list[Chunk],
    reusable: dict[str, np.ndarray],
    label: str,
    report: IngestReport,
    progress: ProgressCallback,
) -> np.ndarray:
    """The chunks' embeddings, one row per chunk: reused where the embedded text is unchanged, else computed."""
    hashes = [embed_sha(c.embed_text) for c in chunks]
    missing = [i for i, h in enumerate(hashes) if h not in reusable]
    vectors: dict[int, np.ndarray] = {i: reusable[h] for i, h in enumerate(hashes) if h in reusable}
    if missing:
        fresh = embedder.embed_documents(
            [chunks[i].embed_text for i in missing],
            progress=lambda done, total: progress("embed", done, total, label),
        )
        vectors.update(zip(missing, fresh))
        report.embedded_chunks += len(missing)
    return np.vstack([vectors[i] for i in range(len(chunks))])


def _sync_derived(settings: Settings, store: ClauseStore, progress: ProgressCallback) -> int:
    """4. The keyword index and the obligation register follow the collection. Returns the number of chunks."""
    progress("keyword", 0, 1, "keyword index")
    rows = sorted_rows(store)
    keyword, _ = sync_keyword_index(rows, keyword_dir(settings))
    progress("keyword", 1, 1, "keyword index")
    sync_register(rows, register_dir(settings))
    progress("enrichment", 0, 1, "enrichment embeddings")
    sync_enrichment(settings, [meta for _, meta, _ in rows], progress)
    progress("enrichment", 1, 1, "enrichment embeddings")
    progress("sentences", 0, 1, "sentence embeddings")
    sync_sentences(settings, [text or "" for _, _, text in rows], progress)
    progress("sentences", 1, 1, "sentence embeddings")
    store.publish_fingerprint(keyword.fingerprint)  # last: a running server reloads once everything is in place
    return len(rows)


def generated_enrichment_dir(settings: Settings) -> Path:
    """Where entries generated at ingest (``--enrich``) are cached, by document and unit text hash."""
    return settings.index_dir / "enrichment" / "generated"


def enrichment_dirs(settings: Settings) -> list[Path | None]:
    """The shipped entries (they win), then the generated ones."""
    return [settings.enrichment_dir, generated_enrichment_dir(settings)]


def _stage_progress(progress: ProgressCallback, stage: str, label: str) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        progress(stage, done, total, label)

    return report


def _generate_enrichment(
    settings: Settings, corpus: LoadedCorpus, catalog: dict[str, CatalogEntry], report: IngestReport,
    progress: ProgressCallback,
) -> None:  # fmt: skip
    """``--enrich``: entries for every unit no shipped entry covers, written by the configured LLM endpoint
    (cached by unit text hash, so an unchanged unit is never sent twice)."""
    from .llm import endpoint_ask, enrichment_prompt

    ask, prompt = endpoint_ask(settings), enrichment_prompt()
    for doc in corpus.documents.values():
        entry = catalog.get(doc.doc_id)
        chunks = chunk_document(
            doc, entry, max_chars_zh=settings.chunk_max_chars_zh, max_chars_en=settings.chunk_max_chars_en
        )
        done = generate_missing(
            doc.doc_id,
            doc.title,
            chunks,
            entries_for([settings.enrichment_dir], doc.doc_id),
            generated_enrichment_dir(settings),
            ask,
            prompt,
            _stage_progress(progress, "enrich", doc.doc_id),
        )
        report.enrichment = GenerationReport(
            report.enrichment.generated + done.generated,
            report.enrichment.cached + done.cached,
            report.enrichment.failed + done.failed,
        )


def enrichment_dir(settings: Settings) -> Path:
    """Where the embeddings of the enrichment texts are kept (beside the keyword index)."""
    return settings.index_dir / "enrichment" / keyword_dir(settings).name


def _embed_when_needed(settings: Settings, progress: ProgressCallback, label: str) -> Callable[[list[str]], np.ndarray]:
    """An embed function that loads the embedding model on its first call only (nothing new: never loaded)."""
    loaded: list[Embedder] = []

    def embed(texts: list[str]) -> np.ndarray:
        if not loaded:
            loaded.append(load_embedder(settings.embedding_model))
        return loaded[0].embed_documents(texts, progress=lambda done, total: progress("embed", done, total, label))

    return embed


def sync_enrichment(settings: Settings, metas: list[dict], progress: ProgressCallback = _no_progress):
    """The enrichment embeddings of the collection's rows."""
    embed = _embed_when_needed(settings, progress, "enrichment")
    return sync_vectors(metas, enrichment_dir(settings), settings.embedding_model, embed)


def sentence_dir(settings: Settings) -> Path:
    """Where the embeddings of the clauses' sentences are kept (beside the keyword index)."""
    return settings.index_dir / "sentences" / keyword_dir(settings).name


def sync_sentences(settings: Settings, texts: list[str], progress: ProgressCallback = _no_progress) -> SentenceVectors:
    """The embeddings of every sentence of the collection."""
    embed = _embed_when_needed(settings, progress, "sentences")
    return sync_sentence_vectors(texts, sentence_dir(settings), settings.embedding_model, embed)


def load_sentences(settings: Settings) -> SentenceVectors:
    """The sentence embeddings ingest saved (read only)."""
    return load_sentence_vectors(sentence_dir(settings), settings.embedding_model)
