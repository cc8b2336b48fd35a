"""When provisions apply (ingest/applicability.py, corpus/applicability.toml): every Article 113 case, the Korean
addenda, SB 53, end dates of revoked texts, the 施行 articles — each checked against the texts themselves."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

import pytest

from common.settings import PROJECT_ROOT
from ingest.applicability import (
    RULES_PATH,
    ApplicabilityError,
    InvalidDate,
    applicability_of,
    default_rules,
    format_date,
    in_effect,
    load_rules,
    milestones,
    parse_as_of,
    unit_applicability,
)
from ingest.catalog import load_catalog
from ingest.loaders import load_document
from ingest.splitter import chunk_document

EU = "eu-ai-act-2024"
KR = "kr-ai-framework-act-2025-en"
CATALOG = load_catalog(PROJECT_ROOT / "corpus" / "catalog.toml")


def eu(unit: str) -> str:
    applies_from, applies_until = unit_applicability(EU, unit, "2024-08-01", "in-force")
    assert applies_until == ""
    return applies_from


@pytest.mark.parametrize(
    "unit, expected",
    [
        # (a) Chapters I and II from 2 February 2025
        ("Article 1", "2025-02-02"),
        ("Article 3", "2025-02-02"),
        ("Article 4", "2025-02-02"),
        ("Article 5", "2025-02-02"),
        ("Article 5(1)(h)", "2025-02-02"),
        # (b) Chapter III Section 4 (Articles 28-39), Chapter V, VII, XII and Article 78 from 2 August 2025 ...
        ("Article 28", "2025-08-02"),
        ("Article 33", "2025-08-02"),
        ("Article 39", "2025-08-02"),
        ("Article 51", "2025-08-02"),
        ("Article 53", "2025-08-02"),
        ("Article 55", "2025-08-02"),
        ("Article 56", "2025-08-02"),
        ("Article 64", "2025-08-02"),
        ("Article 70", "2025-08-02"),
        ("Article 99", "2025-08-02"),
        ("Article 99(4)", "2025-08-02"),
        ("Article 100", "2025-08-02"),
        ("Article 78", "2025-08-02"),
        ("Article 78(2)", "2025-08-02"),
        # ... with the exception of Article 101 (Chapter XII): the general date
        ("Article 101", "2026-08-02"),
        ("Article 101(1)", "2026-08-02"),
        # (c) Article 6(1) from 2 August 2027; the rest of Article 6 from the general date
        ("Article 6(1)", "2027-08-02"),
        ("Article 6(1)(a)", "2027-08-02"),
        ("Article 6", "2026-08-02"),
        ("Article 6(2)", "2026-08-02"),
        ("Article 6(3)", "2026-08-02"),
        # the rest from 2 August 2026: Chapter III outside Section 4, Chapter IV, VI, VIII-XI, XIII, annexes
        ("Article 26", "2026-08-02"),
        ("Article 27", "2026-08-02"),
        ("Article 40", "2026-08-02"),
        ("Article 50", "2026-08-02"),
        ("Article 57", "2026-08-02"),
        ("Article 63", "2026-08-02"),
        ("Article 71", "2026-08-02"),
        ("Article 77", "2026-08-02"),
        ("Article 79", "2026-08-02"),
        ("Article 98", "2026-08-02"),
        ("Article 102", "2026-08-02"),
        ("Annex III", "2026-08-02"),
        ("Annex XI", "2026-08-02"),
        # recitals, the preamble and Article 113 itself follow the entry into force
        ("Recital 27", "2024-08-01"),
        ("preamble", "2024-08-01"),
        ("Article 113", "2024-08-01"),
    ],
)
def test_every_article_113_case(unit, expected):
    assert eu(unit) == expected


def test_article_6_carries_a_note_about_paragraph_1_and_other_pieces_do_not():
    assert "2 August 2027" in applicability_of(EU, "Article 6", "2024-08-01").note
    assert applicability_of(EU, "Article 6(3)", "2024-08-01").note == ""


def _chunks(shared_corpus: Path, doc_id: str):
    doc = load_document(shared_corpus / f"{doc_id}.md", CATALOG, 10**8)
    return chunk_document(doc, CATALOG.get(doc_id), max_chars_zh=600, max_chars_en=1200)


def test_chapter_groups_match_the_chunk_paths(shared_corpus):
    """A unit is in group "Chapter N" exactly when its chunk path starts with that chapter's heading."""
    groups = default_rules().documents[EU].groups
    chapters = {name: members for name, members in groups.items() if "Section" not in name}
    articles = 0
    for chunk in _chunks(shared_corpus, EU):
        if not re.fullmatch(r"Article \d+", chunk.unit):
            continue
        articles += 1
        heading = chunk.path.split(" — ")[0]  # "CHAPTER III"
        for name, members in chapters.items():
            assert (chunk.unit in members) == (heading == name.upper()), (chunk.unit, chunk.path, name)
    assert articles >= 113


def test_chapter_iii_section_4_is_articles_28_to_39_in_the_text(shared_corpus):
    text = (shared_corpus / f"{EU}.md").read_text(encoding="utf-8")
    start = text.index("**SECTION 4 — Notifying authorities and notified bodies**")
    end = text.index("**SECTION 5 —", start)
    numbers = [int(n) for n in re.findall(r"^### Article (\d+) ", text[start:end], re.M)]
    assert numbers == list(range(28, 40))
    assert default_rules().documents[EU].groups["Chapter III Section 4"] == tuple(f"Article {n}" for n in numbers)


def test_every_quote_is_in_its_document_and_every_document_is_in_the_catalog(shared_corpus):
    rules = default_rules()
    for doc_id, doc in rules.documents.items():
        assert doc_id in CATALOG, doc_id
        text = " ".join((shared_corpus / f"{doc_id}.md").read_text(encoding="utf-8").split())
        for quote in doc.quotes():
            assert " ".join(quote.split()) in text, (doc_id, quote)


def test_units_named_by_stages_exist_in_the_split(shared_corpus):
    for doc_id in (EU, KR):
        doc = default_rules().documents[doc_id]
        labels = {c.unit for c in _chunks(shared_corpus, doc_id)} | {c.locator for c in _chunks(shared_corpus, doc_id)}
        for stage in doc.stages:
            for ref in stage.provisions + stage.excepted:
                members = doc.groups.get(ref, (ref,))
                assert any(m in labels or m.split("(")[0] in labels for m in members), (doc_id, ref)


def test_chinese_texts_apply_from_their_shixing_article_which_matches_the_catalog():
    for doc_id, doc in default_rules().documents.items():
        if not doc_id.startswith("cn-") or doc_id == "cn-cybersecurity-law-2025-amended":
            continue
        assert doc.rest_from == CATALOG[doc_id].effective, doc_id
        y, m, d = (int(x) for x in doc.rest_from.split("-"))
        assert f"自{y}年{m}月{d}日起施行" in doc.rest_quote, doc_id
        assert unit_applicability(doc_id, "第一条", CATALOG[doc_id].effective, "in-force")[0] == doc.rest_from


def test_korean_addenda():
    def kr(unit):
        return unit_applicability(KR, unit, "2026-01-22", "in-force")

    for unit in ("Article 3(5)", "Article 17-2", "Article 18", "Article 18(7)(3)", "Article 22-3"):
        assert kr(unit) == ("2026-07-21", ""), unit
    for unit in ("Article 1", "Article 3", "Article 17", "Article 22", "Article 35", "Article 43"):
        assert kr(unit) == ("2026-01-22", ""), unit
    assert "Article 35(1)" in applicability_of(KR, "Article 35", "2026-01-22").note


def test_end_dates_of_revoked_and_superseded_texts():
    assert unit_applicability("us-eo-14110-2023", "Sec. 4.1", "2023-10-30", "revoked") == ("2023-10-30", "2025-01-20")
    assert in_effect("2023-10-30", "2025-01-20", date(2025, 1, 19), "revoked")
    assert not in_effect("2023-10-30", "2025-01-20", date(2025, 1, 20), "revoked")
    old = unit_applicability("cn-cybersecurity-law-2016", "第二十一条", "2017-06-01", "revoked")
    new = unit_applicability("cn-cybersecurity-law-2025-amended", "第二十一条", "2026-01-01", "in-force")
    assert old == ("2017-06-01", "2026-01-01") and new == ("2026-01-01", "")
    assert in_effect(*old, date(2025, 12, 31), "revoked") and not in_effect(*old, date(2026, 1, 1), "revoked")
    assert not in_effect("", "", date(2026, 1, 1), "revoked")  # revoked on a date we do not know


def test_sb53_takes_effect_2026_and_calcompute_waits_for_an_appropriation():
    assert unit_applicability("us-ca-sb53-2025", "22757.12", "2026-01-01", "in-force") == ("2026-01-01", "")
    calcompute = applicability_of("us-ca-sb53-2025", "11546.8(f)", "2026-01-01", "in-force")
    assert calcompute.applies_from == "" and "appropriation" in calcompute.condition
    assert not in_effect("", "", date(2027, 1, 1), "in-force", calcompute.condition)


def test_texts_without_rules_use_the_catalog_date_and_treaties_open_for_signature_are_not_in_effect():
    assert unit_applicability("un-ga-res-78-311-2024", "para 1", "", "non-binding") == ("", "")
    assert unit_applicability("some-upload", "Article 1", "2024-05-01", "") == ("2024-05-01", "")
    assert in_effect("", "", date(2026, 1, 1), "non-binding")
    assert not in_effect("", "", date(2026, 1, 1), "open-for-signature")
    assert not in_effect("2025-08-02", "", date(2025, 8, 1)) and in_effect("2025-08-02", "", date(2025, 8, 2))


def test_milestones_of_the_ai_act_in_date_order():
    days = [(m.day, m.kind, m.provisions) for m in milestones(EU, "2024-08-01")]
    assert [d for d, _, _ in days] == ["2024-08-01", "2025-02-02", "2025-08-02", "2026-08-02", "2027-08-02"]
    assert "Article 78" in days[2][2] and "except Article 101" in days[2][2] and days[4][2] == "Article 6(1)"


@pytest.mark.parametrize("bad", ["2025-6-1", "01/06/2025", "2025-13-01", "2025-02-30", "yesterday", "20250601"])
def test_malformed_as_of_dates_are_refused(bad):
    with pytest.raises(InvalidDate):
        parse_as_of(bad)


def test_as_of_defaults_to_today_and_dates_format_in_both_languages():
    assert parse_as_of("", today=date(2026, 3, 4)) == date(2026, 3, 4)
    assert parse_as_of(" 2025-06-01 ") == date(2025, 6, 1)
    assert format_date("2025-08-02", "en") == "2 August 2025" and format_date("2025-08-02", "zh") == "2025年8月2日"


def test_a_malformed_rules_file_is_a_clear_error(tmp_path):
    data = tomllib.loads(RULES_PATH.read_text(encoding="utf-8"))
    assert data["documents"][EU]["rest_from"] == "2026-08-02"
    bad = tmp_path / "applicability.toml"
    bad.write_text('[documents."x"]\nrest_from = "2 August 2026"\n', encoding="utf-8")
    with pytest.raises(ApplicabilityError, match="not an ISO date"):
        load_rules(bad)


def test_chunks_carry_their_dates_in_the_index(clean_index):
    from ingest.store import ClauseStore

    metas = [m for _, m, _ in ClauseStore(clean_index.settings).iter_rows()]
    genai = [m for m in metas if m["doc_id"] == "cn-genai-interim-measures-2023"]
    assert genai and all(m["applies_from"] == "2023-08-15" and m["applies_until"] == "" for m in genai)
    resolution = [m for m in metas if m["doc_id"] == "un-ga-res-78-311-2024"]
    assert resolution and all(m["applies_from"] == "" for m in resolution)
