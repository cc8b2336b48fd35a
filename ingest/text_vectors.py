"""Embeddings of texts kept on disk by content hash (model and text): what an unchanged text had is reused, a new
text is embedded once, a text no longer wanted is dropped. Used for the enrichment texts (``enrichment.py``) and
the clauses' sentences (``sentences.py``)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def text_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()[:24]


def sync_text_vectors(
    texts: list[str], directory: Path, model: str, embed: Callable[[list[str]], np.ndarray]
) -> np.ndarray:
    """Unit-length embeddings of ``texts`` (distinct), one row each in order: reused from ``directory`` where the
    text and the model are unchanged, the rest embedded (``embed``); the file is rewritten when anything changed."""
    keys = [text_key(model, t) for t in texts]
    path = directory / "vectors.npz"
    known: dict[str, np.ndarray] = {}
    if path.exists():
        try:
            with np.load(path) as saved:
                known = dict(zip(saved["keys"].tolist(), saved["vectors"]))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("vectors %s unreadable (%s): re-embedding", path, exc)
    missing = [i for i, k in enumerate(keys) if k not in known]
    if missing:
        fresh = np.asarray(embed([texts[i] for i in missing]), dtype=np.float32)
        known.update((keys[i], fresh[n]) for n, i in enumerate(missing))
    dim = next((len(v) for v in known.values()), 0)
    matrix = np.vstack([known[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, dim), np.float32)
    if len(matrix):
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    if missing or (path.exists() and len(known) != len(keys)):
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / "vectors.tmp.npz"
        np.savez(tmp, keys=np.array(keys, dtype=object).astype(str), vectors=matrix)
        tmp.replace(path)
    return matrix
