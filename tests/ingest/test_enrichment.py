"""Index enrichment (ingest/enrichment.py): questions and paraphrases per unit, stored beside the catalog, attached
to the unit's pieces at ingest (only while the unit's text is the one they were written for), read by the keyword
index, and embedded once (content-hash reuse) for the enrichment source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.catalog import load_catalog
from ingest.enrichment import (
    EnrichmentError,
    document_enrichment,
    enrich,
    sync_vectors,
    unit_sha,
)
from ingest.loaders import load_document
from ingest.splitter import chunk_document

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = PROJECT_ROOT / "corpus" / "enrichment"
GENAI = "cn-genai-interim-measures-2023"


def _chunks(corpus: Path, doc_id: str):
    catalog = load_catalog(PROJECT_ROOT / "corpus" / "catalog.toml")
    return chunk_document(load_document(corpus / f"{doc_id}.md", catalog), catalog.get(doc_id))


def _write(directory: Path, doc_id: str, records: list[dict]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{doc_id}.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )


def test_every_shipped_entry_matches_its_unit_text(shared_corpus):
    """The shipped enrichment was written for the texts in ../shared/corpus as split today: no entry is stale,
    and every unit of every document has one."""
    files = sorted(SHIPPED.glob("*.jsonl"))
    assert len(files) == 26
    for path in files:
        doc_id = path.stem
        chunks = _chunks(shared_corpus, doc_id)
        entries = document_enrichment(SHIPPED, doc_id)
        enriched, stale = enrich(chunks, entries)
        assert stale == 0, doc_id
        assert {c.unit for c in chunks} == set(entries), doc_id
        assert all(c.enrichment_zh and c.enrichment_en for c in enriched), doc_id


def test_entries_attach_to_every_piece_of_their_unit_and_a_changed_text_drops_them(shared_corpus):
    chunks = _chunks(shared_corpus, GENAI)
    pieces = {}
    for c in chunks:
        pieces.setdefault(c.unit, []).append(c.text)
    entries = {
        "第十二条": document_enrichment(SHIPPED, GENAI)["第十二条"],
        "第七条": document_enrichment(SHIPPED, GENAI)["第七条"].__class__(
            GENAI, "第七条", unit_sha(["an older text"]), ("旧问题",), ("old question",)
        ),
    }
    enriched, stale = enrich(chunks, entries)
    assert stale == 1
    by_unit = {c.unit: c for c in enriched}
    assert by_unit["第十二条"].enrichment_zh == "\n".join(entries["第十二条"].zh)
    assert by_unit["第七条"].enrichment_zh == "" and by_unit["第七条"].enrichment_en == ""
    assert unit_sha(pieces["第十二条"]) == entries["第十二条"].sha


def test_a_malformed_file_names_the_file_and_line(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"doc_id": "x", "unit": "1", "sha": "s", "zh": [], "en": []}\n{"unit": 2\n')
    with pytest.raises(EnrichmentError, match=r"x\.jsonl:2"):
        document_enrichment(tmp_path, "x")
    assert document_enrichment(tmp_path, "missing") == {}
    assert document_enrichment(None, "x") == {}


def test_vectors_are_reused_by_content_and_unused_ones_dropped(tmp_path, embedder):
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return embedder.embed_documents(texts)

    metas = [
        {"enrichment_zh": "要不要加水印？", "enrichment_en": "Do we need a watermark?"},
        {"enrichment_zh": "要不要加水印？", "enrichment_en": "Do we need a watermark?"},  # another piece, same unit
        {},  # a unit without enrichment
    ]
    first = sync_vectors(metas, tmp_path, "m", embed)
    assert calls == [["要不要加水印？", "Do we need a watermark?"]]
    assert first.vectors.shape[0] == 2 and first.text_rows.tolist() == [[0, 1], [0, 1], [-1, -1]]
    query = embedder.embed_query("Do we need a watermark?")
    sims = first.similarities(query)
    assert sims[0] == sims[1] > 0.9 and sims[2] == 0.0

    again = sync_vectors(metas, tmp_path, "m", embed)  # nothing new: nothing embedded
    assert len(calls) == 1 and np.allclose(again.vectors, first.vectors)
    changed = sync_vectors([{"enrichment_en": "Who signs the report?"}], tmp_path, "m", embed)
    assert calls[-1] == ["Who signs the report?"] and changed.vectors.shape[0] == 1
    with np.load(tmp_path / "vectors.npz") as saved:
        assert len(saved["keys"]) == 1  # the texts no row uses any more are gone
    sync_vectors([{"enrichment_en": "Who signs the report?"}], tmp_path, "another-model", embed)
    assert calls[-1] == ["Who signs the report?"]  # another model: embedded again


def test_ingest_indexes_the_enrichment_for_keyword_search_and_reindexes_when_it_changes(
    tmp_path, settings_factory, shared_corpus
):
    """A word only the enrichment holds finds the unit; a changed enrichment file re-indexes its document."""
    from assistant.retrieval.index import ClauseIndex
    from ingest.pipeline import run_ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copyfile(shared_corpus / f"{GENAI}.md", corpus / f"{GENAI}.md")
    enrichment = tmp_path / "enrichment"
    chunks = _chunks(corpus, GENAI)
    target = [c.text for c in chunks if c.unit == "第九条"]
    _write(
        enrichment,
        GENAI,
        [
            {
                "doc_id": GENAI,
                "unit": "第九条",
                "sha": unit_sha(target),
                "zh": ["谁是网络信息内容生产者？"],
                "en": ["zyxwv"],
            }
        ],
    )
    settings = settings_factory(tmp_path, corpus, enrichment_dir=enrichment)
    report = run_ingest(settings)
    assert report.ok and report.stale_enrichment == {}
    index = ClauseIndex(settings)
    rows = [i for i, m in enumerate(index.metas) if m["unit"] == "第九条"]
    assert all(index.metas[i]["enrichment_en"] == "zyxwv" for i in rows)
    scores = index.keyword.scores("zyxwv")
    assert set(np.flatnonzero(scores).tolist()) == set(rows)
    assert index.enrichment.vectors.shape[0] == 2  # the unit's Chinese and English texts, embedded

    _write(enrichment, GENAI, [{"doc_id": GENAI, "unit": "第九条", "sha": "0" * 16, "zh": ["x"], "en": ["y"]}])
    report = run_ingest(settings)
    assert report.replaced == [GENAI] and report.stale_enrichment == {GENAI: 1}
    index = ClauseIndex(settings)
    assert not np.flatnonzero(index.keyword.scores("zyxwv")).size
    assert all(not m["enrichment_en"] for m in index.metas)


def test_an_entry_survives_its_unit_being_cut_into_other_pieces():
    """The hash ties an entry to the unit's text, not to where the splitter cuts it."""
    assert unit_sha(["1. Providers shall:\n\n(a) keep logs;", "(b) report."]) == unit_sha(
        ["1. Providers shall:", "(a) keep logs;\n\n(b) report."]
    )
    assert unit_sha(["1. Providers shall keep logs."]) != unit_sha(["1. Providers shall keep records."])
