"""The Chroma collection of clause chunks: the single source of truth for what is indexed.

Embedded ``PersistentClient`` under ``<index_dir>/chroma`` by default, a Chroma server (``HttpClient``) when
``chroma_host`` is set. Embeddings are always supplied by us (never Chroma's default embedding function,
which would download a model).

Every chunk carries the metadata keys that are a public contract: ``doc_id``, ``title``, ``unit``,
``locator``, ``path``, ``jurisdiction``, ``language``, ``doc_type``, ``status``, ``issued``, ``source_url``,
``chunk_index``, ``sha256`` (the source file's hash). Extra keys: ``title_en``, ``issuer``, ``effective``, ``amended`` (the last amendment the text includes),
``unit_index``, ``part``, ``parts``, ``role`` and ``roles`` (``ingest/roles.py``), ``chunk_count``, ``embed_sha``, ``source_file``, ``ingest_key`` (what
the chunks were made with: splitter version, chunk sizes, catalog entry, applicability rules), ``applies_from``,
``applies_until``, ``applies_condition``, ``applies_note`` (when the piece applies: ``ingest/applicability.py``).
A document is *complete* in the index when all its chunks are there with the same ``sha256`` and their
number equals ``chunk_count``; anything else (e.g. an ingest killed mid-document) is redone on the next run.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass

import numpy as np

from common.documents import DocumentMeta
from common.settings import Settings

from .applicability import applicability_of
from .models import Chunk, ChunkRow, SourceDocument

PAGE = 2000  # rows per get() page: bounded memory on large collections
ADD_BATCH = 500


class IndexError_(RuntimeError):
    """The index cannot be used as it is (wrong model, unreachable server, unwritable directory)."""


class IndexUnavailable(IndexError_):
    """The index could not be read right now (e.g. the Chroma server is down); try again later."""


@dataclass(frozen=True, kw_only=True)
class IndexedDocument(DocumentMeta):
    """A document as the index holds it: its ``DocumentMeta`` (from its first chunk) and the state of its chunks."""

    sha256: str
    chunk_count: int  # as recorded at ingest
    chunks_present: int  # as found now
    complete: bool
    source_file: str
    units: int
    ingest_key: str = ""


def embed_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def open_client(settings: Settings):
    import chromadb

    client_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_host:
        headers = {"Authorization": f"Bearer {settings.chroma_token}"} if settings.chroma_token else None
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, headers=headers, settings=client_settings
            )
        except Exception as exc:  # connection errors surface as several exception types
            raise IndexError_(
                f"Chroma server {settings.chroma_host}:{settings.chroma_port} unreachable: {exc}"
            ) from exc
    path = settings.index_dir / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexError_(f"cannot create index directory {path}: {exc.strerror or exc}") from exc
    try:
        return chromadb.PersistentClient(path=str(path), settings=client_settings)
    except Exception as exc:  # read-only file system, disk full, a damaged database: one clear message
        raise IndexError_(f"cannot open the index at {path}: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


@contextmanager
def _store_errors(store: ClauseStore, writing: bool):
    """Chroma failures (disk full, read-only files, server gone) as IndexError_ / IndexUnavailable with a reason."""
    try:
        yield
    except IndexError_:
        raise
    except Exception as exc:  # chromadb raises InternalError, HTTP and OS errors for the same few causes
        settings = store.settings
        where = (
            f"Chroma server {settings.chroma_host}:{settings.chroma_port}"
            if settings.chroma_host
            else str(settings.index_dir / "chroma")
        )
        if writing:
            raise IndexError_(f"cannot write to the index at {where}: {_one_line(exc)}") from exc
        raise IndexUnavailable(f"cannot read the index at {where}: {_one_line(exc)}") from exc


_OPEN_LOCK = threading.Lock()


class ClauseStore:
    """Thin wrapper over one Chroma collection, speaking in chunks and documents."""

    def __init__(self, settings: Settings, *, rebuild: bool = False, create: bool = True) -> None:
        self.settings = settings
        name = settings.collection_name
        # one thread at a time: Chroma's embedded client fails when two threads of a process open it at once
        # ("'RustBindingsAPI' object has no attribute 'bindings'"; an upload and a re-index job did)
        with _OPEN_LOCK:
            self.client = open_client(settings)
            if rebuild:
                with suppress(Exception):  # absent collection: nothing to delete
                    self.client.delete_collection(name)
            if create:
                self.collection = self.client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"embedding_model": settings.embedding_model},
                )
            else:
                self.collection = self.client.get_collection(name, embedding_function=None)
        built_with = (self.collection.metadata or {}).get("embedding_model")
        if built_with and built_with != settings.embedding_model:
            raise IndexError_(
                f"the index was built with embedding model {built_with!r} but the setting is "
                f"{settings.embedding_model!r}: run `regqa ingest --rebuild` (or set REGQA_EMBEDDING_MODEL)"
            )

    # ---- reading --------------------------------------------------------------------------------------
    def count(self) -> int:
        return self.collection.count()

    def iter_rows(self, include=("metadatas",), where: dict | None = None) -> Iterator[ChunkRow]:
        """(id, metadata, document-or-None) for every chunk, page by page."""
        offset = 0
        while True:
            with _store_errors(self, writing=False):
                page = self.collection.get(include=list(include), where=where, limit=PAGE, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            docs = page.get("documents") or [None] * len(ids)
            for i, cid in enumerate(ids):
                yield cid, page["metadatas"][i], docs[i]
            if len(ids) < PAGE:
                return
            offset += PAGE

    def vectors(self, ids: list[str]) -> np.ndarray:
        """The stored embeddings of ``ids``, in that order, as unit-length float32 rows (for exact search). An id
        that is gone by the time its embedding is read (an ingest ran between the two reads) gets a zero row: it is
        never a dense candidate, and the next reload (the ingest publishes a new fingerprint) drops it."""
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), PAGE):
            with _store_errors(self, writing=False):
                page = self.collection.get(ids=ids[start : start + PAGE], include=["embeddings"])
            found.update((cid, np.asarray(vec, dtype=np.float32)) for cid, vec in zip(page["ids"], page["embeddings"]))
        dim = next((len(vec) for vec in found.values()), 0)
        matrix = np.zeros((len(ids), dim), dtype=np.float32)
        for row, cid in enumerate(ids):
            if cid in found:
                matrix[row] = found[cid]
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms > 0, norms, 1.0)

    def documents(self) -> dict[str, IndexedDocument]:
        rows: dict[str, list[dict]] = {}
        for _, meta, _ in self.iter_rows():
            rows.setdefault(meta["doc_id"], []).append(meta)
        out = {}
        for doc_id, metas in rows.items():
            shas = {m.get("sha256") for m in metas}
            expected = max(int(m.get("chunk_count", 0)) for m in metas)
            first = min(metas, key=lambda m: m.get("chunk_index", 0))
            out[doc_id] = IndexedDocument(
                **asdict(DocumentMeta.from_metadata(first)),
                sha256=first.get("sha256", ""),
                chunk_count=expected,
                chunks_present=len(metas),
                complete=len(shas) == 1 and len(metas) == expected,
                source_file=first.get("source_file", ""),
                units=len({m.get("unit") for m in metas}),
                ingest_key=first.get("ingest_key", ""),
            )
        return out

    def embeddings_by_text_hash(self, doc_id: str) -> dict[str, np.ndarray]:
        """Existing embeddings of a document keyed by the hash of their embedded text (for reuse)."""
        with _store_errors(self, writing=False):
            page = self.collection.get(where={"doc_id": doc_id}, include=["metadatas", "embeddings"])
        out: dict[str, np.ndarray] = {}
        embeddings = page.get("embeddings")
        if embeddings is None:
            return out
        for meta, emb in zip(page["metadatas"], embeddings):
            if meta.get("embed_sha"):
                out[meta["embed_sha"]] = np.asarray(emb, dtype=np.float32)
        return out

    def published_fingerprint(self) -> str:
        """The content fingerprint the last completed ingest recorded on the collection (cheap to read)."""
        collection = self.client.get_collection(self.settings.collection_name, embedding_function=None)
        return (collection.metadata or {}).get("fingerprint", "")

    def publish_fingerprint(self, fingerprint: str) -> None:
        """Record the content fingerprint, so other processes sharing a Chroma server notice the change."""
        metadata = {k: v for k, v in (self.collection.metadata or {}).items() if not k.startswith("hnsw:")}
        metadata.update({"embedding_model": self.settings.embedding_model, "fingerprint": fingerprint})
        with _store_errors(self, writing=True):
            self.collection.modify(metadata=metadata)

    # ---- writing --------------------------------------------------------------------------------------
    def delete_document(self, doc_id: str) -> None:
        with _store_errors(self, writing=True):
            self.collection.delete(where={"doc_id": doc_id})

    def add_document(
        self,
        doc: SourceDocument,
        chunks: list[Chunk],
        embeddings: np.ndarray,
        source_file: str = "",
        ingest_key: str = "",
    ) -> None:
        """Replace a document's chunks: delete whatever is there, then add the new ones in batches."""
        self.delete_document(doc.doc_id)
        source_file = source_file or doc.path.name
        metadatas = [chunk_metadata(doc, c, len(chunks), source_file) | {"ingest_key": ingest_key} for c in chunks]
        for start in range(0, len(chunks), ADD_BATCH):
            end = start + ADD_BATCH
            with _store_errors(self, writing=True):
                self.collection.add(
                    ids=[c.chunk_id for c in chunks[start:end]],
                    embeddings=embeddings[start:end],
                    documents=[c.text for c in chunks[start:end]],
                    metadatas=metadatas[start:end],
                )


def chunk_metadata(doc: SourceDocument, chunk: Chunk, chunk_count: int, source_file: str) -> dict:
    dates = applicability_of(doc.doc_id, chunk.locator, doc.effective, doc.status)
    return doc.to_metadata() | {
        "unit": chunk.unit,
        "locator": chunk.locator,
        "path": chunk.path,
        "chunk_index": chunk.chunk_index,
        "unit_index": chunk.unit_index,
        "part": chunk.part,
        "parts": chunk.parts,
        "role": chunk.role,
        "roles": ",".join(chunk.roles),
        "enrichment_zh": chunk.enrichment_zh,
        "enrichment_en": chunk.enrichment_en,
        "chunk_count": chunk_count,
        "sha256": doc.sha256,
        "embed_sha": embed_sha(chunk.embed_text),
        "source_file": source_file,
        "applies_from": dates.applies_from,
        "applies_until": dates.applies_until,
        "applies_condition": dates.condition,
        "applies_note": dates.note,
    }
