"""The ingest pipeline (ingest/pipeline.py) on the fixture corpus, end to end into a real embedded Chroma under a
temp dir with the fake embedder: a first ingest, an incremental re-ingest that changes nothing, an edited
document re-embedded (only its changed chunk), a removed document deleted, the keyword index following."""

from __future__ import annotations

import numpy as np
import pytest
from stage_support import CN_DOC, EN_DOC, RULEBOOK
from support.chunk_keys import PUBLIC_CHUNK_KEYS

from ingest.embeddings import load_embedder
from ingest.keyword_index import sync_keyword_index
from ingest.loaders import corpus_files, load_document
from ingest.pipeline import keyword_dir, run_ingest, sorted_rows
from ingest.splitter import chunk_document
from ingest.store import ClauseStore


def snapshot(settings) -> dict[str, tuple[dict, str, np.ndarray]]:
    """Everything the collection holds: id -> (metadata, text, embedding)."""
    store = ClauseStore(settings, create=False)
    rows = sorted_rows(store)
    vectors = store.vectors([cid for cid, _, _ in rows])
    return {cid: (meta, text, vectors[i]) for i, (cid, meta, text) in enumerate(rows)}


def differing(before: dict, after: dict, *, compare_meta: bool = True) -> set[str]:
    """Ids whose metadata (optionally), text or embedding differ (embeddings up to float32 round-off: a reused
    embedding goes back into Chroma and may come out a unit in the last place different)."""
    assert set(before) == set(after)
    return {
        cid
        for cid in after
        if (compare_meta and after[cid][0] != before[cid][0])
        or after[cid][1] != before[cid][1]
        or not np.allclose(after[cid][2], before[cid][2], atol=1e-5)
    }


@pytest.fixture
def ingested(tmp_path, fixture_corpus, fast_settings):
    settings = fast_settings(tmp_path, fixture_corpus)
    report = run_ingest(settings)
    return settings, report


def test_a_first_ingest_indexes_every_chunk_of_every_document(ingested, fixture_corpus):
    settings, report = ingested
    expected = {c.chunk_id: c for path in corpus_files(fixture_corpus) for c in chunk_document(load_document(path, {}))}
    assert report.ok and report.added == [CN_DOC, EN_DOC, RULEBOOK] and report.documents == 3
    assert report.chunks == report.embedded_chunks == len(expected)
    held = snapshot(settings)
    assert set(held) == set(expected)
    for cid, (meta, text, _) in held.items():
        assert set(meta) >= set(PUBLIC_CHUNK_KEYS) and text == expected[cid].text
        assert (meta["unit"], meta["locator"], meta["path"]) == (
            expected[cid].unit,
            expected[cid].locator,
            expected[cid].path,
        )
    assert held[f"{CN_DOC}#6"][0]["unit"] == "第七条" and held[f"{CN_DOC}#6"][0]["status"] == "in-force"
    # the stored vectors are the fake embedder's, for the embedded text (title, path, clause)
    chunk = expected[f"{EN_DOC}#2"]
    fresh = load_embedder("hashing-test").embed_documents([chunk.embed_text])[0]
    np.testing.assert_allclose(held[chunk.chunk_id][2], fresh, atol=1e-5)


def test_re_ingesting_an_unchanged_corpus_changes_nothing(ingested):
    settings, _ = ingested
    before = snapshot(settings)
    report = run_ingest(settings)
    assert report.ok and report.skipped == [CN_DOC, EN_DOC, RULEBOOK]
    assert (report.added, report.replaced, report.removed, report.embedded_chunks) == ([], [], [], 0)
    assert differing(before, snapshot(settings)) == set()


def test_an_edited_document_is_re_embedded_where_it_changed(ingested, fixture_corpus):
    settings, _ = ingested
    before = snapshot(settings)
    path = fixture_corpus / f"{CN_DOC}.md"
    path.write_text(path.read_text(encoding="utf-8").replace("不少于六个月", "不少于十二个月"), encoding="utf-8")
    report = run_ingest(settings)
    assert report.ok and report.replaced == [CN_DOC] and report.skipped == [EN_DOC, RULEBOOK]
    assert report.embedded_chunks == 1  # only 第六条's text changed; the other embeddings are reused
    after = snapshot(settings)
    assert differing(before, after, compare_meta=False) == {f"{CN_DOC}#5"}
    assert "不少于十二个月" in after[f"{CN_DOC}#5"][1]
    assert all(after[cid][0]["sha256"] != before[cid][0]["sha256"] for cid in after if cid.startswith(CN_DOC))
    keyword, rebuilt = sync_keyword_index(sorted_rows(ClauseStore(settings, create=False)), keyword_dir(settings))
    assert not rebuilt  # the ingest already brought the keyword index up to date
    assert keyword.ids[int(np.argmax(keyword.scores("十二个月")))] == f"{CN_DOC}#5"


def test_a_removed_document_leaves_the_index(ingested, fixture_corpus):
    settings, _ = ingested
    (fixture_corpus / f"{RULEBOOK}.txt").unlink()
    report = run_ingest(settings)
    assert report.ok and report.removed == [RULEBOOK] and report.embedded_chunks == 0
    assert not any(cid.startswith(RULEBOOK) for cid in snapshot(settings))


def test_stored_vectors_come_back_in_order_and_a_vanished_id_reads_as_zero(ingested):
    settings, _ = ingested
    store = ClauseStore(settings)
    ids = [cid for cid, _, _ in store.iter_rows()][:3]
    matrix = store.vectors([ids[0], "gone-meanwhile", ids[1], ids[2]])
    assert matrix.shape[0] == 4 and matrix.shape[1] > 0
    assert np.allclose(np.linalg.norm(matrix[[0, 2, 3]], axis=1), 1.0, atol=1e-5)
    assert not matrix[1].any()
    assert np.allclose(store.vectors(ids[1:2])[0], matrix[2])
