"""Loading (ingest/loaders.py) on the fixture corpus: metadata from front matter, else the catalog, else the
file itself; the body is the text after the front matter; the file hash keys incremental ingest."""

from __future__ import annotations

import hashlib

import pytest
from stage_support import CN_DOC, CN_TITLE, EN_DOC, EN_TITLE, FIXTURE_CORPUS, RULEBOOK

from ingest.catalog import CatalogEntry
from ingest.loaders import corpus_files, load_document


def test_the_fixture_corpus_is_three_files():
    assert [p.name for p in corpus_files(FIXTURE_CORPUS)] == [f"{CN_DOC}.md", f"{EN_DOC}.md", f"{RULEBOOK}.txt"]


def test_chinese_front_matter_gives_the_metadata_and_is_not_part_of_the_body():
    path = FIXTURE_CORPUS / f"{CN_DOC}.md"
    doc = load_document(path, {})
    assert (doc.doc_id, doc.title, doc.language, doc.jurisdiction) == (CN_DOC, CN_TITLE, "zh", "CN")
    assert doc.title_en == "Sample Measures for Customer-Service Chatbot Services"
    assert (doc.status, doc.doc_type, doc.issuer) == ("in-force", "rule", "示例市数字事务局")
    assert (doc.issued, doc.effective) == ("2024-05-10", "2024-07-01")  # YAML dates come back as ISO text
    assert doc.source_url == "https://example.org/sample-chatbot-measures"  # front matter says official_url
    assert doc.body.lstrip().startswith(f"# {CN_TITLE}") and "---" not in doc.body and "issuer:" not in doc.body
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_english_front_matter_without_language_or_dates():
    doc = load_document(FIXTURE_CORPUS / f"{EN_DOC}.md", {})
    assert (doc.doc_id, doc.title, doc.jurisdiction, doc.status) == (EN_DOC, EN_TITLE, "INTL", "non-binding")
    assert doc.language == "en"  # detected from the text
    assert (doc.issued, doc.effective, doc.source_url) == ("2024-03-01", "", "")


def test_plain_text_without_front_matter_takes_everything_from_the_file():
    path = FIXTURE_CORPUS / f"{RULEBOOK}.txt"
    doc = load_document(path, {})
    assert doc.doc_id == RULEBOOK  # the file name
    assert doc.title == "Sample Data Exchange Member Conduct Rulebook"  # its first line
    assert (doc.language, doc.jurisdiction, doc.status, doc.issued, doc.source_url) == ("en", "", "unknown", "", "")
    assert doc.body == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "first_line",
    ["1)\tINTRODUCTION", "A.\tINTRODUCTION", "(1) General", "Definitions\t", "TABLE OF CONTENTS", "1.2.1 Scope"],
)
def test_a_text_opening_with_a_heading_of_one_of_its_parts_takes_its_title_from_the_file_name(tmp_path, first_line):
    path = tmp_path / "Guidance - Virtual Asset Activities.txt"
    path.write_text(
        f"{first_line}\nThis Guidance is issued under section 15(2) of the Regulations.\n", encoding="utf-8"
    )
    assert load_document(path, {}).title == "Guidance - Virtual Asset Activities"


def test_the_catalog_fills_what_the_file_does_not_say_and_front_matter_wins_over_it():
    catalog = {
        RULEBOOK: CatalogEntry(
            doc_id=RULEBOOK,
            title="Member Conduct Rulebook",
            jurisdiction="INTL",
            status="in-force",
            source_url="https://example.org/rulebook",
        ),
        CN_DOC: CatalogEntry(doc_id=CN_DOC, title="另一个标题", status="revoked", issuer="目录中的机关"),
    }
    rulebook = load_document(FIXTURE_CORPUS / f"{RULEBOOK}.txt", catalog)
    assert (rulebook.title, rulebook.jurisdiction, rulebook.status, rulebook.source_url) == (
        "Member Conduct Rulebook",
        "INTL",
        "in-force",
        "https://example.org/rulebook",
    )
    measures = load_document(FIXTURE_CORPUS / f"{CN_DOC}.md", catalog)
    assert (measures.title, measures.status, measures.issuer) == (CN_TITLE, "in-force", "示例市数字事务局")
