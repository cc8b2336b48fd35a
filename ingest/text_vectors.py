"""Embeddings of texts kept on disk by content hash (model and text): what an unchanged text had is reused, a new
text is embedded once, a text no longer wanted is dropped. Used for the enrichment texts (``enrichment.py``) and
the clauses' sentences (``sentences.py``)."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
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
    known = load_text_vectors(directory)
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
        handle, tmp = tempfile.mkstemp(dir=directory, prefix="vectors.", suffix=".tmp.npz")  # one per writer
        os.close(handle)
        np.savez(tmp, keys=np.array(keys, dtype=object).astype(str), vectors=matrix)
        Path(tmp).replace(path)
    return matrix


def load_text_vectors(directory: Path) -> dict[str, np.ndarray]:
    """The saved embeddings by text key (empty when there are none or the file is unreadable)."""
    path = directory / "vectors.npz"
    if not path.exists():
        return {}
    try:
        with np.load(path) as saved:
            return dict(zip(saved["keys"].tolist(), saved["vectors"]))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("vectors %s unreadable (%s): re-embedding", path, exc)
        return {}
