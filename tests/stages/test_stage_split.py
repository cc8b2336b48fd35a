"""Splitting (ingest/splitter.py) on the fixture corpus: citable units with their labels and heading paths, and
chunks that never span two units, carry a locator when a unit is cut, and lose no text."""

from __future__ import annotations

import pytest
from stage_support import CN_DOC, CN_TITLE, EN_DOC, FIXTURE_CORPUS, RULEBOOK

from ingest.loaders import load_document
from ingest.splitter import chunk_document, split_units

CN_ARTICLES = ["第一条", "第二条", "第三条", "第四条", "第五条", "第六条", "第七条", "第八条"]


def load(doc_id: str, suffix: str = ".md"):
    return load_document(FIXTURE_CORPUS / f"{doc_id}{suffix}", {})


def test_chinese_articles_are_the_units_under_their_chapters():
    units = split_units(load(CN_DOC))
    assert [u.label for u in units] == CN_ARTICLES  # the H1 title is no unit and there is no preamble
    paths = {u.label: u.path for u in units}
    assert paths["第一条"] == ["第一章 总则"]
    assert paths["第五条"] == ["第二章 服务规范"]
    assert paths["第七条"] == ["第三章 罚则"]  # the penalty article
    assert paths["第八条"] == ["第四章 附则"]  # the final article (施行)
    third = next(u for u in units if u.label == "第三条")
    assert len(third.blocks) == 3 and third.blocks[1].startswith("（一）智能客服机器人，是指")


def test_english_articles_are_the_units_and_chapters_only_structure():
    units = split_units(load(EN_DOC))
    assert [u.label for u in units] == [f"Article {n}" for n in range(1, 7)]
    assert units[2].path == ["CHAPTER II — OBLIGATIONS OF EMPLOYERS"]
    assert units[5].path == ["CHAPTER III — FINAL PROVISIONS"]
    assert units[2].blocks[0] == "### Article 3 — Bias audit"  # the heading is part of the unit's text


def test_chunks_carry_document_path_and_position():
    doc = load(CN_DOC)
    chunks = chunk_document(doc)
    assert [c.unit for c in chunks] == CN_ARTICLES  # short articles: one chunk each
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))
    penalty = chunks[6]
    assert (penalty.locator, penalty.path, penalty.chunk_id) == ("第七条", "第三章 罚则 > 第七条", f"{CN_DOC}#6")
    assert penalty.text.startswith("第七条 服务提供者违反本办法第四条、第五条规定的")
    assert penalty.embed_text.splitlines()[:2] == [
        f"{CN_TITLE} (Sample Measures for Customer-Service Chatbot Services)",
        "第三章 罚则 > 第七条",
    ]
    assert penalty.embed_text.endswith(penalty.text)


def test_a_cut_chinese_article_locates_its_items():
    chunks = [c for c in chunk_document(load(CN_DOC), max_chars_zh=50) if c.unit == "第三条"]
    assert [c.locator for c in chunks] == ["第三条", "第三条（一）", "第三条（二）"]
    assert [(c.part, c.parts) for c in chunks] == [(0, 3), (1, 3), (2, 3)]
    assert {c.path for c in chunks} == {"第一章 总则 > 第三条"}


def test_a_cut_english_article_locates_its_paragraphs_and_points():
    chunks = chunk_document(load(EN_DOC), max_chars_en=200)
    located = {}
    for c in chunks:
        located.setdefault(c.unit, []).append(c.locator)
    assert located["Article 2"] == ["Article 2", "Article 2(1)", "Article 2(2)"]
    assert located["Article 3"] == ["Article 3", "Article 3(2)(a)", "Article 3(2)(c)"]
    assert located["Article 4"] == ["Article 4", "Article 4(1)", "Article 4(2)"]
    assert all(len(c.text) <= 200 * 1.3 for c in chunks)


@pytest.mark.xfail(
    strict=True,
    reason="known splitter gap: a paragraph cut at a sentence end is counted as a new "
    "款 (第七条 has one paragraph, its second piece is located 第七条第二款)",
)
def test_a_chinese_paragraph_cut_at_a_sentence_end_keeps_its_paragraph_number():
    chunks = [c for c in chunk_document(load(CN_DOC), max_chars_zh=50) if c.unit == "第七条"]
    assert len(chunks) == 2
    assert [c.locator for c in chunks] == ["第七条", "第七条"]


def test_the_plain_text_rulebook_is_split_into_one_unit_per_rule():
    doc = load(RULEBOOK, ".txt")
    units = split_units(doc)
    assert [u.label for u in units] == ["preamble", "1.1.1", "1.1.2", "1.2.1", "1.2.2", "2.1.1", "2.1.2"]
    by_label = {u.label: u for u in units}
    assert by_label["1.2.1"].path == ["1 General", "1.2 Records"]  # numbered titles are the path, not units
    assert by_label["2.1.2"].path == ["2 Listing Standards", "2.1 Provenance"]
    assert "at least five years" in by_label["1.2.1"].blocks[0]
    assert by_label["preamble"].blocks == ["Sample Data Exchange Member Conduct Rulebook"]


@pytest.mark.parametrize("doc_id, suffix", [(CN_DOC, ".md"), (EN_DOC, ".md"), (RULEBOOK, ".txt")])
@pytest.mark.parametrize("limits", [{}, {"max_chars_zh": 50, "max_chars_en": 200}])
def test_no_chunk_spans_two_units_and_no_text_is_lost(doc_id, suffix, limits):
    doc = load(doc_id, suffix)
    units = split_units(doc)
    chunks = chunk_document(doc, **limits)
    assert [c.unit for c in chunks if c.part == 0] == [u.label for u in units]
    for unit in units:
        text = "".join("".join(c.text.split()) for c in chunks if c.unit == unit.label)
        assert text == "".join("".join(unit.blocks).split())  # the unit's text, in order (whitespace aside)
