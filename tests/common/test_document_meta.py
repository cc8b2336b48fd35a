"""DocumentMeta and the status vocabulary (common/documents.py), as the catalog, loader and store use them."""

from __future__ import annotations

from dataclasses import fields

import pytest

from common.documents import NO_LONGER_IN_FORCE, STATUSES, DocumentMeta, parse_status
from ingest.catalog import CatalogEntry, CatalogError, load_catalog
from ingest.loaders import load_document
from ingest.models import SourceDocument
from ingest.store import IndexedDocument


def test_one_status_vocabulary():
    assert set(STATUSES) >= {"in-force", "amended", "revoked", "repealed", "non-binding", "draft", "unknown"}
    assert {"revoked", "repealed", "superseded"} == NO_LONGER_IN_FORCE and set(STATUSES) >= NO_LONGER_IN_FORCE
    assert [
        parse_status(v) for v in ("in-force", "In force", "REVOKED", "open_for_signature", "", None, "proposed")
    ] == ["in-force", "in-force", "revoked", "open-for-signature", "unknown", "unknown", "unknown"]


def test_the_records_share_one_declaration_of_the_document_facts():
    shared = {f.name for f in fields(DocumentMeta)}
    for record in (CatalogEntry, SourceDocument, IndexedDocument):
        assert issubclass(record, DocumentMeta) and shared <= {f.name for f in fields(record)}
    assert "official_url" not in {
        f.name for cls in (CatalogEntry, SourceDocument, IndexedDocument) for f in fields(cls)
    }


def test_metadata_round_trip_and_the_older_link_name():
    meta = DocumentMeta(doc_id="d", title="T", status="in-force", source_url="https://example.org/d")
    assert DocumentMeta.from_metadata(meta.to_metadata() | {"unit": "Article 1"}) == meta
    old = {"doc_id": "d", "title": "T", "status": "in-force", "official_url": "https://example.org/d"}
    assert DocumentMeta.from_metadata(old) == meta


def test_catalog_reads_source_url_or_official_url_and_refuses_unknown_statuses(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text(
        '[documents.a]\nsource_url = "https://a.example"\nnot_included = ["GB 45438", "施行令"]\n'
        '[documents.b]\nofficial_url = "https://b.example"\nstatus = "revoked"\n',
        encoding="utf-8",
    )
    catalog = load_catalog(path)
    assert (catalog["a"].source_url, catalog["b"].source_url, catalog["b"].status) == (
        "https://a.example",
        "https://b.example",
        "revoked",
    )
    assert (catalog["a"].not_included, catalog["b"].not_included) == (("GB 45438", "施行令"), ())
    path.write_text('[documents.a]\nstatus = "obsolete"\n', encoding="utf-8")
    with pytest.raises(CatalogError, match="obsolete"):
        load_catalog(path)


def test_front_matter_link_and_status(tmp_path):
    path = tmp_path / "d.md"
    path.write_text(
        "---\nid: d\nsource_url: https://new.example\nofficial_url: https://old.example\n"
        "status: In force\n---\n# D\n\nText.\n",
        encoding="utf-8",
    )
    doc = load_document(path, {})
    assert (doc.source_url, doc.status) == ("https://new.example", "in-force")
    path.write_text(
        "---\nid: d\nofficial_url: https://old.example\nstatus: proposed\n---\n# D\n\nText.\n", encoding="utf-8"
    )
    doc = load_document(path, {})
    assert (doc.source_url, doc.status) == ("https://old.example", "unknown")
