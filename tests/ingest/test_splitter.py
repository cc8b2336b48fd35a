"""The clause splitter on the real corpus (split only, no embedding) and on small hand-written documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.catalog import CatalogEntry, load_catalog
from ingest.loaders import corpus_files, load_document
from ingest.splitter import blocks_of, chunk_document, split_units

CN_ARTICLE_COUNTS = {
    "cn-genai-interim-measures-2023": 24,
    "cn-deep-synthesis-provisions-2022": 25,
    "cn-algorithm-recommendation-provisions-2021": 35,
    "cn-personal-information-protection-law-2021": 74,
    "cn-data-security-law-2021": 55,
    "cn-cybersecurity-law-2016": 79,
    "cn-cybersecurity-law-2025-amended": 81,
    "cn-network-data-security-regulations-2024": 64,
    "cn-ai-content-labeling-measures-2025": 14,
}
# Chinese rules whose text starts with a promulgation order / issuing notice (unit ``preamble``)
CN_WITH_PREAMBLE = {"cn-deep-synthesis-provisions-2022", "cn-ai-content-labeling-measures-2025"}
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII"]
# A paragraph that opens a Chinese article: 第X条 followed by a space (full- or half-width).
CN_ARTICLE_PARAGRAPH = re.compile(r"^\**第[零〇一二三四五六七八九十百千两]+条\**[\s\u3000]")


def cn_numeral(n: int) -> str:
    """1 -> 一, 10 -> 十, 21 -> 二十一 (written independently of the splitter's own helper)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def articles(n: int) -> list[str]:
    return [f"第{cn_numeral(i)}条" for i in range(1, n + 1)]


def ordered_units(chunks) -> list[str]:
    """Unit labels in document order, each once."""
    seen: list[str] = []
    for chunk in chunks:
        if not seen or seen[-1] != chunk.unit:
            seen.append(chunk.unit)
    return seen


@pytest.fixture(scope="module")
def corpus(shared_corpus, settings_factory, tmp_path_factory):
    """doc_id -> (document, units, chunks) for all 26 files, split with the configured limits."""
    settings = settings_factory(tmp_path_factory.mktemp("split"), shared_corpus)
    catalog = load_catalog(settings.catalog_path)
    out = {}
    for path in corpus_files(shared_corpus):
        doc = load_document(path, catalog)
        entry = catalog.get(doc.doc_id)
        chunks = chunk_document(
            doc, entry, max_chars_zh=settings.chunk_max_chars_zh, max_chars_en=settings.chunk_max_chars_en
        )
        out[doc.doc_id] = (doc, split_units(doc, entry), chunks)
    return settings, out


def test_the_corpus_has_26_documents_named_after_their_ids(corpus):
    _, docs = corpus
    assert len(docs) == 26
    for doc_id, (doc, units, chunks) in docs.items():
        assert doc.path.stem == doc_id
        assert units and chunks


@pytest.mark.parametrize("doc_id,count", sorted(CN_ARTICLE_COUNTS.items()))
def test_chinese_laws_yield_exactly_their_articles_in_order(corpus, doc_id, count):
    _, docs = corpus
    doc, units, chunks = docs[doc_id]
    labels = [u.label for u in units]
    expected = (["preamble"] if doc_id in CN_WITH_PREAMBLE else []) + articles(count)
    assert labels == expected  # distinct, 第一条..第N条, no gap, nothing else
    assert ordered_units(chunks) == expected  # every unit has chunks, in the same order
    for unit in units:
        if unit.label == "preamble":
            continue
        # the article opens with its own label, and no other paragraph of it opens an article
        assert re.match(rf"^\**{unit.label}\**[\s\u3000]", unit.blocks[0]), unit.blocks[0][:40]
        assert not any(CN_ARTICLE_PARAGRAPH.match(b) for b in unit.blocks[1:]), unit.label


def test_deep_synthesis_preamble_is_the_promulgation_order(corpus):
    _, docs = corpus
    _, units, _ = docs["cn-deep-synthesis-provisions-2022"]
    preamble = units[0]
    assert preamble.label == "preamble"
    text = "\n".join(preamble.blocks)
    assert "第12号" in text and "现予公布" in text
    assert not any(CN_ARTICLE_PARAGRAPH.match(b) for b in preamble.blocks)


def test_labelling_measures_preamble_is_the_issuing_notice(corpus):
    _, docs = corpus
    _, units, chunks = docs["cn-ai-content-labeling-measures-2025"]
    preamble = units[0]
    assert preamble.label == "preamble" and preamble.path == []  # the measures have no chapters
    assert preamble.blocks[0] == "关于印发《人工智能生成合成内容标识办法》的通知"
    assert "国信办通字〔2025〕2号" in preamble.blocks and preamble.blocks[-1] == "2025年3月7日"
    assert len(units) == 15 and all(u.path == [] for u in units)
    assert next(c for c in chunks if "不少于六个月" in c.text).unit == "第九条"
    assert next(c for c in chunks if "应当确保文件中含有满足要求的显式标识" in c.text).unit == "第四条"


def test_eu_ai_act_units(corpus):
    _, docs = corpus
    _, units, chunks = docs["eu-ai-act-2024"]
    labels = [u.label for u in units]
    expected = (
        ["preamble"]
        + [f"Recital {i}" for i in range(1, 181)]
        + [f"Article {i}" for i in range(1, 114)]
        + [f"Annex {r}" for r in ROMAN]
    )
    assert labels == expected
    assert sum(label.startswith("Article ") for label in labels) == 113
    assert sum(label.startswith("Recital ") for label in labels) == 180
    assert sum(label.startswith("Annex ") for label in labels) == 13
    assert ordered_units(chunks) == expected


def test_eu_ai_act_article_3_is_split_into_located_definition_chunks(corpus):
    _, docs = corpus
    _, _, chunks = docs["eu-ai-act-2024"]
    art3 = [c for c in chunks if c.unit == "Article 3"]
    assert len(art3) >= 5
    assert [c.part for c in art3] == list(range(len(art3)))
    assert {c.parts for c in art3} == {len(art3)}
    assert art3[0].locator == "Article 3"
    assert art3[0].text.startswith("### Article 3")
    numbers = []
    for chunk in art3[1:]:
        m = re.fullmatch(r"Article 3\((\d+)\)(?:\(([a-z]+)\))?", chunk.locator)
        assert m, chunk.locator
        if m.group(2):  # a piece starting at a point of a definition: "(b)" of definition (45)
            assert chunk.text.startswith(f"({m.group(2)}) ")
            assert f"\n({m.group(1)}) " in "\n" + "\n\n".join(c.text for c in art3 if c.chunk_index < chunk.chunk_index)
        else:
            assert chunk.text.startswith(f"({m.group(1)}) ")
        numbers.append(int(m.group(1)))
    assert numbers == sorted(numbers) and len(numbers) >= 4
    # the 68 definitions are all there, each exactly once, in order
    starts = [int(m.group(1)) for c in art3 for b in c.text.split("\n\n") if (m := re.match(r"^\((\d+)\) ", b))]
    assert starts == list(range(1, 69))
    # definition (45) has points (a) and (b); a piece that starts at (b) is located at (45)(b), not at "(b)"
    assert "Article 3(b)" not in {c.locator for c in art3}
    ai_literacy = next(c for c in art3 if "(56) ‘AI literacy’" in c.text)
    assert ai_literacy.unit == "Article 3"


def test_no_chunk_holds_two_article_headings(corpus):
    _, docs = corpus
    for doc_id, (_, _, chunks) in docs.items():
        for chunk in chunks:
            paragraphs = chunk.text.split("\n\n")
            cn_heads = [p for p in paragraphs if CN_ARTICLE_PARAGRAPH.match(p)]
            assert len(cn_heads) <= 1, (doc_id, chunk.locator)
            if cn_heads:  # ... and the one it holds is its own
                assert cn_heads[0].lstrip("*").startswith(chunk.unit), (doc_id, chunk.locator)
            en_heads = [p for p in paragraphs if p.startswith("### Article")]
            assert len(en_heads) <= 1, (doc_id, chunk.locator)
            if en_heads:
                assert re.match(rf"### {chunk.unit}\b", en_heads[0]), (doc_id, chunk.locator)
            assert chunk.text.count("### Article") <= 1, (doc_id, chunk.locator)


def test_no_chunk_exceeds_the_limit_by_more_than_30_percent(corpus):
    settings, docs = corpus
    assert (settings.chunk_max_chars_zh, settings.chunk_max_chars_en) == (600, 1200)
    for doc_id, (doc, _, chunks) in docs.items():
        limit = settings.chunk_max_chars_zh if doc.language == "zh" else settings.chunk_max_chars_en
        longest = max(chunks, key=lambda c: len(c.text))
        assert len(longest.text) <= 1.3 * limit, (doc_id, longest.locator, len(longest.text))


def test_chunks_are_well_formed_and_lose_no_text(corpus):
    _, docs = corpus
    for doc_id, (doc, _units, chunks) in docs.items():
        assert [c.chunk_index for c in chunks] == list(range(len(chunks)))
        assert len({c.chunk_id for c in chunks}) == len(chunks)
        assert [c.unit_index for c in chunks] == sorted(c.unit_index for c in chunks)
        for chunk in chunks:
            assert chunk.doc_id == doc_id and chunk.text.strip() == chunk.text and chunk.text
            assert chunk.locator.startswith(chunk.unit)
            assert chunk.path.split(" > ")[-1] == chunk.unit
            assert chunk.text in chunk.embed_text and doc.title in chunk.embed_text
            assert 0 <= chunk.part < chunk.parts
        # every paragraph of the body, in order, is in the chunks (only headings may be dropped)
        joined = "\n\n".join(c.text for c in chunks)
        squeezed = re.sub(r"\s+", "", joined)
        position = 0
        for block in blocks_of(doc.body):
            if block.startswith("#") or re.fullmatch(r"\*\*SECTION \d+[^*]*\*\*", block):
                continue
            found = squeezed.find(re.sub(r"\s+", "", block), position)
            assert found >= 0, (doc_id, block[:60])
            position = found
        assert len(squeezed) <= len(re.sub(r"\s+", "", doc.body))  # nothing duplicated


def test_in_text_references_do_not_open_units(corpus):
    _, docs = corpus
    _, units, chunks = docs["cn-cybersecurity-law-2016"]
    reference = [c for c in chunks if "网络运营者不履行本法第二十一条" in c.text]
    assert [c.unit for c in reference] == ["第五十九条"]
    assert [u.label for u in units].count("第二十一条") == 1
    assert next(c for c in chunks if "除本法第二十一条的规定外" in c.text).unit == "第三十四条"

    _, units, chunks = docs["eu-ai-act-2024"]
    deploying = [c for c in chunks if "Prior to deploying a high-risk AI system referred to in Article 6(2)" in c.text]
    assert [c.unit for c in deploying] == ["Article 27"]
    assert [u.label for u in units].count("Article 6") == 1
    assert not any("(" in u.label for u in units)  # no "Article 6(2)" unit
    annex3 = next(c for c in chunks if c.unit == "Annex III")
    assert annex3.text.startswith("## ANNEX III — High-risk AI systems referred to in Article 6(2)")


def test_bold_section_titles_are_structure_not_article_text(corpus):
    _, docs = corpus
    for doc_id in ("eu-ai-act-2024", "kr-ai-framework-act-2025-en"):
        _, units, chunks = docs[doc_id]
        assert not any(re.search(r"^\*\*SECTION \d", c.text, re.M) for c in chunks), doc_id
        assert not any(u.label.upper().startswith("CHAPTER") for u in units), doc_id
    _, _, chunks = docs["eu-ai-act-2024"]
    last_of_article_7 = [c for c in chunks if c.unit == "Article 7"][-1]
    assert "Requirements for high-risk AI systems" not in last_of_article_7.text


LABELS = {
    # doc_id: (labels that must be present, exact set or None)
    "cn-tc260-003-genai-security-requirements-2024": ({"前言", "1", "3.4", "5.1", "7", "9.4", "A.2"}, None),
    "cn-ai-safety-governance-framework-v1-2024": ({"preamble", "1", "1.2", "3.1.1", "4.2.2", "5.2", "6.3"}, None),
    "cn-global-ai-governance-initiative-2023": (
        None,
        [f"para {i}" for i in range(1, 5)] + [f"item {i}" for i in range(1, 12)],
    ),
    "cn-commentary-why-ai-safety-regulation-2024": (None, [f"para {i}" for i in range(1, 7)]),
    "cn-new-generation-ai-development-plan-2017": (
        {"通知", "引言", "一", "二（三）", "三（一）1", "专栏1", "专栏2", "专栏3", "专栏4", "五（四）", "六（一）"},
        None,
    ),
    "us-nist-ai-rmf-1-0-2023": (
        {
            "Executive Summary",
            "1.2.3",
            "3.5",
            "5.1",
            "6",
            "GOVERN 1.7",
            "MEASURE 2.11",
            "MANAGE 4.3",
            "Appendix A",
            "Appendix B",
            "Appendix C",
            "Appendix D",
        },
        None,
    ),
    "us-eo-14110-2023": ({"Section 1", "Sec. 4.5"} | {f"Sec. {i}" for i in range(2, 14)}, None),
    "un-ga-res-78-265-2024": (None, ["preamble"] + [f"para {i}" for i in range(1, 14)]),
    "un-ga-res-78-311-2024": (None, ["preamble"] + [f"para {i}" for i in range(1, 16)]),
    "oecd-ai-recommendation-2024": (
        None,
        [
            "preamble",
            "I",
            "II",
            "III",
            "IV",
            "1.1",
            "1.2",
            "1.3",
            "1.4",
            "1.5",
            "V",
            "2.1",
            "2.2",
            "2.3",
            "2.4",
            "2.5",
            "VI",
            "VII",
            "VIII",
        ],
    ),
    "unesco-ai-ethics-recommendation-2021": (None, ["preamble"] + [f"para {i}" for i in range(1, 142)]),
    "coe-ai-framework-convention-2024": (None, ["preamble"] + [f"Article {i}" for i in range(1, 37)]),
    "kr-ai-framework-act-2025-en": (
        None,
        [f"Article {i}" for i in range(1, 18)]
        + ["Article 17-2"]
        + [f"Article {i}" for i in range(18, 23)]
        + ["Article 22-2", "Article 22-3"]
        + [f"Article {i}" for i in range(23, 44)]
        + ["Addenda (Act No. 20676)", "Addenda (Act No. 21065)", "Addendum (Act No. 21311)"],
    ),
    "intl-bletchley-declaration-2023": (None, [f"para {i}" for i in range(1, 11)] + ["signatories", "note"]),
    "intl-seoul-declaration-2024": (
        None,
        [f"para {i}" for i in range(1, 10)]
        + ["Annex 1", "Annex 2"]
        + [f"Annex 2.{i}" for i in range(1, 6)]
        + ["Annex 3"],
    ),
    "us-ca-sb53-2025": (
        None,
        ["preamble", "SECTION 1", "SEC. 2"]
        + [f"22757.{i}" for i in range(10, 17)]
        + ["SEC. 3", "11546.8", "SEC. 4", "1107", "1107.1", "1107.2", "SEC. 5", "SEC. 6"],
    ),
}


@pytest.mark.parametrize("doc_id", sorted(LABELS))
def test_unit_labels_follow_the_label_table(corpus, doc_id):
    _, docs = corpus
    _, units, chunks = docs[doc_id]
    labels = [u.label for u in units]
    assert len(labels) == len(set(labels)), "a label names two different units"
    required, exact = LABELS[doc_id]
    if exact is not None:
        # footnote definitions of the UN resolutions are kept as their own trailing unit
        assert [label for label in labels if label != "Footnotes"] == exact
    else:
        assert required <= set(labels), sorted(required - set(labels))
    assert set(ordered_units(chunks)) == set(labels)


def test_specific_units_hold_the_right_text(corpus):
    _, docs = corpus

    def unit(doc_id, label):
        return "\n\n".join(next(u for u in docs[doc_id][1] if u.label == label).blocks)

    unesco = "unesco-ai-ethics-recommendation-2021"
    assert "3. Also recommends that Member States" in unit(unesco, "preamble")  # adoption paragraphs 1-3
    assert unit(unesco, "para 1").startswith("1. This Recommendation addresses ethical issues")
    assert unit(unesco, "para 141").startswith("141. ")
    assert unit("oecd-ai-recommendation-2024", "I").startswith("I. AGREES")
    assert "On the proposal of the Digital Policy Committee" in unit("oecd-ai-recommendation-2024", "preamble")
    assert unit("us-eo-14110-2023", "Section 1").startswith("### Section 1. Purpose.")
    assert unit("us-eo-14110-2023", "Sec. 4.5").startswith("#### 4.5. Reducing the Risks Posed by Synthetic")
    assert unit("cn-new-generation-ai-development-plan-2017", "专栏1").startswith("**专栏1")
    assert unit("cn-new-generation-ai-development-plan-2017", "三（一）1").startswith(
        "1.建立新一代人工智能基础理论体系"
    )
    assert "国发〔2017〕35号" in unit("cn-new-generation-ai-development-plan-2017", "通知")
    kr = "kr-ai-framework-act-2025-en"
    assert unit(kr, "Article 17-2").startswith("### Article 17-2")
    # the addenda's own "Article 1 (Enforcement date)" lines stay inside the addenda
    assert "\n\nArticle 1 (Enforcement date)" in unit(kr, "Addenda (Act No. 20676)")
    assert "\n\nArticle 1 (Enforcement date)" in unit(kr, "Addenda (Act No. 21065)")
    assert unit("coe-ai-framework-convention-2024", "Article 36").startswith("### Article 36")


def test_summit_declarations_units_hold_the_right_text(corpus):
    _, docs = corpus

    def unit(doc_id, label):
        return "\n\n".join(next(u for u in docs[doc_id][1] if u.label == label).blocks)

    bletchley = "intl-bletchley-declaration-2023"
    assert unit(bletchley, "para 1").startswith("Artificial Intelligence (AI) presents enormous global")
    assert unit(bletchley, "para 4").startswith("Particular safety risks arise at the ‘frontier’ of AI")
    para8 = unit(bletchley, "para 8")  # the lead-in and its two agenda points
    assert para8.startswith("In the context of our cooperation") and para8.count("\n- ") == 2
    assert "- identifying AI safety risks" in para8 and "- building respective risk-based policies" in para8
    assert unit(bletchley, "para 10").endswith("We look forward to meeting again in 2024.")
    signatories = unit(bletchley, "signatories")
    assert signatories.startswith("The countries represented were:")
    assert signatories.count("\n- ") == 29 and "- European Union" in signatories
    assert signatories.endswith("New Zealand joined the commitment to the Bletchley Declaration.")
    assert unit(bletchley, "note").startswith("References to ‘governments’ and ‘countries’")

    seoul = "intl-seoul-declaration-2024"
    _, units, _ = docs[seoul]
    assert all(u.path == [] for u in units if u.label.startswith("para "))
    annex = [u for u in units if u.label.startswith("Annex")]
    assert len(annex) == 8 and all(len(u.path) == 1 and u.path[0].endswith("(Annex)") for u in annex)
    for u in units:  # each numbered paragraph is its own unit and starts with its own number
        number = u.label.removeprefix("para ").removeprefix("Annex ")
        assert u.blocks[-1].startswith(f"{number}. ") and len(u.blocks) == (2 if u.label == "Annex 1" else 1)
    assert unit(seoul, "Annex 1").startswith("## Seoul Statement of Intent toward International Cooperation")
    assert unit(seoul, "para 9").endswith("AI Action Summit to be held in France.")
    assert "International AI Safety Report" in unit(seoul, "Annex 2.2")


def test_sb53_bill_sections_and_code_sections(corpus):
    _, docs = corpus
    _, units, chunks = docs["us-ca-sb53-2025"]
    labels = [u.label for u in units]
    code_sections = [label for label in labels if re.fullmatch(r"\d+(\.\d+)?", label)]
    assert len(code_sections) == 11
    assert len([label for label in labels if label.startswith(("SECTION ", "SEC. "))]) == 6

    def unit(label):
        return "\n\n".join(next(u for u in units if u.label == label).blocks)

    preamble = unit("preamble")  # title block and enacting clause, before SECTION 1
    assert preamble.startswith("Introduced by Senator Wiener")
    assert preamble.endswith("The people of the State of California do enact as follows:")
    assert unit("SECTION 1").startswith("## SECTION 1.\n\nThe Legislature finds and declares")
    sec2 = unit("SEC. 2")  # the "is added ... to read:" line and the chapter title, not the code sections
    assert sec2.endswith("**Chapter 25.1. Transparency in Frontier Artificial Intelligence Act**")
    assert "### 22757" not in sec2
    assert unit("22757.10").startswith("### 22757.10.\n\nThis chapter shall be known as")
    assert unit("SEC. 4").endswith(
        "**Chapter 5.1. Whistleblower Protections: Catastrophic Risks in AI Foundation Models**"
    )
    assert unit("11546.8").startswith("### 11546.8.") and "CalCompute" in unit("11546.8")
    assert unit("SEC. 6").startswith("## SEC. 6.\n\nThe Legislature finds and declares that Section 2")
    paths = {u.label: u.path for u in units}
    assert paths["22757.13"] == ["SEC. 2."] and paths["11546.8"] == ["SEC. 3."] and paths["1107.2"] == ["SEC. 4."]
    incident = [c for c in chunks if "within 15 days of discovering" in c.text]
    assert [c.unit for c in incident] == ["22757.13"]


# ------------------------------------------------------------------------------------------------------
# Hand-written documents

LONG_ITEM = "测试者应当建立健全数据安全管理制度，采取技术措施和其他必要措施，保障数据安全，防止数据泄露、篡改、丢失"

CN_LAW = f"""---
id: test-cn-law
title: 测试管理办法
---
# 测试管理办法

## 第一章 总则

第一条 为了规范测试活动，制定本办法。

第二条 本办法适用于在境内开展的测试活动。依照本办法第三条的规定办理备案的，不再重复备案。

## 第二章 测试规范

第三条 测试者应当遵守下列规定：

（一）{LONG_ITEM}；

（二）{LONG_ITEM}；

（三）{LONG_ITEM}。

第三条规定的测试者，包括个人和组织；第四条另有规定的除外。

第四条 违反本办法第三条规定的，由有关部门依法处理。

## 第三章 附则

第五条 本办法自2024年1月1日起施行。
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_synthetic_chinese_law(tmp_path):
    doc = load_document(_write(tmp_path, "test-cn-law.md", CN_LAW), {})
    assert doc.language == "zh" and doc.title == "测试管理办法"
    units = split_units(doc)  # no catalog entry: the scheme is detected
    assert [u.label for u in units] == articles(5)
    paths = {u.label: u.path for u in units}
    assert paths["第一条"] == ["第一章 总则"]
    assert paths["第三条"] == ["第二章 测试规范"]
    assert paths["第五条"] == ["第三章 附则"]
    art3 = next(u for u in units if u.label == "第三条")
    assert len(art3.blocks) == 5 and art3.blocks[-1].startswith("第三条规定的测试者")

    chunks = chunk_document(doc, max_chars_zh=80)
    by_unit: dict[str, list] = {}
    for chunk in chunks:
        by_unit.setdefault(chunk.unit, []).append(chunk)
    assert list(by_unit) == articles(5)
    assert len(by_unit["第二条"]) == 1 and "依照本办法第三条的规定" in by_unit["第二条"][0].text
    assert len(by_unit["第四条"]) == 1 and by_unit["第四条"][0].text.startswith("第四条 违反本办法第三条")
    art3_chunks = by_unit["第三条"]
    assert [c.locator for c in art3_chunks] == ["第三条", "第三条（二）", "第三条（三）", "第三条第二款"]
    assert all(len(c.text) <= 80 * 1.3 for c in chunks)
    assert art3_chunks[0].path == "第二章 测试规范 > 第三条"
    assert "第二章 测试规范 > 第三条（二）" in art3_chunks[1].embed_text
    # the pieces are the article's text, verbatim and in order
    assert "\n\n".join(c.text for c in art3_chunks) == "\n\n".join(art3.blocks)


LONG_EN = (
    "Providers shall ensure that the widgets they place on the market are designed and developed in such a "
    "way that they achieve an appropriate level of accuracy, robustness and safety throughout their life."
)

EN_REGULATION = f"""# Regulation on Widgets

## CHAPTER I — GENERAL PROVISIONS

### Article 1 — Subject matter

This Regulation lays down rules for widgets. Providers referred to in Article 2(1) shall comply with it.

### Article 2 — Obligations of providers

1. {LONG_EN}

2. {LONG_EN} In particular, providers shall:

(a) {LONG_EN}

(b) {LONG_EN}

3. The obligations referred to in Article 1 apply without prejudice to other Union law and to the powers of the
competent national authorities of the Member States.

## CHAPTER II — FINAL PROVISIONS

### Article 3 — Entry into force

Article 1 shall apply from the day of publication. See also Article 2(2), point (b).

This Regulation shall enter into force on the twentieth day following that of its publication.
"""


def test_synthetic_english_regulation(tmp_path):
    doc = load_document(_write(tmp_path, "widgets.md", EN_REGULATION), {})
    assert doc.language == "en" and doc.doc_id == "widgets" and doc.title == "Regulation on Widgets"
    units = split_units(doc)
    assert [u.label for u in units] == ["Article 1", "Article 2", "Article 3"]
    assert units[2].path == ["CHAPTER II — FINAL PROVISIONS"]
    assert units[2].blocks[1].startswith("Article 1 shall apply")  # a paragraph starting "Article 1" is text

    chunks = chunk_document(doc, max_chars_en=300)
    art2 = [c for c in chunks if c.unit == "Article 2"]
    assert [c.locator for c in art2] == [
        "Article 2",
        "Article 2(2)",
        "Article 2(2)(a)",
        "Article 2(2)(b)",
        "Article 2(3)",
    ]
    assert art2[0].text.startswith("### Article 2 — Obligations of providers\n\n1. ")
    assert all(c.path == "CHAPTER I — GENERAL PROVISIONS > Article 2" for c in art2)
    assert [c.unit for c in chunks if c.unit != "Article 2"] == ["Article 1", "Article 3"]
    assert all(len(c.text) <= 300 * 1.3 for c in chunks)


def test_text_under_a_chapter_heading_is_named_after_that_chapter(tmp_path):
    body = """# Convention

### Article 1 — Purpose

Purpose text.

## CHAPTER II — OBLIGATIONS

Introductory text of chapter two.

### Article 2 — Duties

Duties text.

## CHAPTER III — REMEDIES

Introductory text of chapter three.

### Article 3 — Remedies

Remedies text.
"""
    doc = load_document(_write(tmp_path, "convention.md", body), {})
    units = split_units(doc)
    assert [(u.label, u.blocks) for u in units] == [
        ("Article 1", ["### Article 1 — Purpose", "Purpose text."]),
        ("CHAPTER II — OBLIGATIONS", ["Introductory text of chapter two."]),
        ("Article 2", ["### Article 2 — Duties", "Duties text."]),
        ("CHAPTER III — REMEDIES", ["Introductory text of chapter three."]),
        ("Article 3", ["### Article 3 — Remedies", "Remedies text."]),
    ]


def test_bold_section_line_between_articles(tmp_path):
    body = """# Act

## CHAPTER III — HIGH-RISK SYSTEMS

**SECTION 1 — Classification**

### Article 6 — Classification rules

Text six.

**SECTION 2 — Requirements**

### Article 7 — Requirements

Text seven.
"""
    doc = load_document(_write(tmp_path, "act.md", body), {})
    units = split_units(doc)
    assert [(u.label, u.path, u.blocks) for u in units] == [
        ("Article 6", ["CHAPTER III — HIGH-RISK SYSTEMS"], ["### Article 6 — Classification rules", "Text six."]),
        ("Article 7", ["CHAPTER III — HIGH-RISK SYSTEMS"], ["### Article 7 — Requirements", "Text seven."]),
    ]


def test_bill_sections_are_units_and_code_sections_sit_under_them(tmp_path):
    body = """# SB 1 — Chaptered

The people of the State of California do enact as follows:

## SECTION 1.

The Legislature finds and declares that widgets matter.

## SEC. 2.

Chapter 9 (commencing with Section 100.1) is added to the Widget Code, to read:

### 100.1.

This chapter shall be known as the Widget Act.

### 100.2.

(a) A widget maker shall file a report.

## SEC. 3.

The provisions of this act are severable.
"""
    doc = load_document(_write(tmp_path, "sb1.md", body), {})
    units = split_units(doc)  # detected: headings
    assert [(u.label, u.path) for u in units] == [
        ("preamble", []),
        ("SECTION 1", []),
        ("SEC. 2", []),
        ("100.1", ["SEC. 2."]),
        ("100.2", ["SEC. 2."]),
        ("SEC. 3", []),
    ]
    assert units[2].blocks == [
        "## SEC. 2.",
        "Chapter 9 (commencing with Section 100.1) is added to the Widget Code, to read:",
    ]


def test_unnumbered_paragraphs_with_a_list_and_named_closing_paragraphs(tmp_path):
    body = """# Declaration

We affirm the first thing.

Our agenda will focus on:

- one point;
- another point.

We resolve to meet again.

The countries represented were:

- Atlantis
- Utopia

On 1 May, Erewhon joined.

References to countries include organisations.
"""
    doc = load_document(_write(tmp_path, "decl.md", body), {})
    entry = CatalogEntry(
        doc_id=doc.doc_id,
        scheme="paragraphs",
        paragraph_units={"The countries represented were:": "signatories", "References to countries": "note"},
    )
    units = split_units(doc, entry)
    assert [(u.label, len(u.blocks)) for u in units] == [
        ("para 1", 1),
        ("para 2", 2),
        ("para 3", 1),
        ("signatories", 3),
        ("note", 1),
    ]
    assert units[1].blocks[1].startswith("- one point;")
    assert units[3].blocks[-1] == "On 1 May, Erewhon joined."
    # without the catalog's names every paragraph (but the lists) is counted
    assert [u.label for u in split_units(doc, CatalogEntry(doc_id=doc.doc_id, scheme="paragraphs"))] == [
        f"para {i}" for i in range(1, 7)
    ]


def test_numbered_paragraphs_of_an_annex(tmp_path):
    body = """# Declaration

1. We gather.

2. We affirm.

## Statement of Intent (Annex)

1. We acknowledge.

2. We commend.

2.1. We recognise.

2.2. We intend.

3. We look forward.
"""
    doc = load_document(_write(tmp_path, "declaration.md", body), {})
    units = split_units(doc, CatalogEntry(doc_id=doc.doc_id, scheme="numbered-paras"))
    assert [u.label for u in units] == ["para 1", "para 2", "Annex 1", "Annex 2", "Annex 2.1", "Annex 2.2", "Annex 3"]
    assert units[2].blocks == ["## Statement of Intent (Annex)", "1. We acknowledge."]
    assert units[4].blocks == ["2.1. We recognise."] and units[4].path == ["Statement of Intent (Annex)"]


def test_guidance_paragraphs_numbered_with_a_parenthesis(tmp_path):
    """A guidance note numbers its paragraphs ``N)``; a lettered list and a ``1. 2. 3.`` list inside a paragraph stay
    in that paragraph (the style most paragraphs use opens units, and numbers only go up)."""
    body = """1)\tINTRODUCTION
This Guidance is issued under section 15(2) of the Regulations.

2)\tINTRODUCTION
This Guidance is applicable to the following Persons:

a)\tan Applicant for a Financial Services Permission;

b)\tan Authorised Person.

3)\tTECHNOLOGY GOVERNANCE
Systems and controls must be in place in relation to:

1.\twallets;

2.\tprivate keys;

3.\torigin and destination of funds.

4)\tCONFIDENTIALITY
Information received is kept confidential.
"""
    doc = load_document(_write(tmp_path, "guidance.txt", body), {})
    units = split_units(doc)
    assert [u.label for u in units] == ["para 1", "para 2", "para 3", "para 4"]
    assert units[1].blocks[-1] == "b)\tan Authorised Person."
    assert len(units[2].blocks) == 4 and units[2].blocks[-1].startswith("3.\torigin")


def test_a_lead_in_and_its_list_share_a_piece_when_greedy_packing_would_cut_them(tmp_path):
    filler = "The Regulator may ask for further information at any time. " * 5
    item = "the arrangements it has made for the matter concerned, in writing; "
    body = f"""# Guidance

## Article 7 — Returns

1. {filler.strip()}

2. A firm must submit to the Regulator:

(a) {item * 3}

(b) {item * 3}

(c) {item * 3}

## Article 8 — Records

1. {filler.strip()}

2. Records are kept for six years.
"""
    doc = load_document(_write(tmp_path, "guidance.md", body), {})
    chunks = chunk_document(doc, max_chars_en=700)
    art7 = [c.text for c in chunks if c.unit == "Article 7"]
    # greedy packing would have put "2. A firm must submit…:" and (a) beside paragraph 1, and (b), (c) apart
    assert len(art7) == 2 and art7[1].startswith("2. A firm must submit to the Regulator:")
    assert art7[1].rstrip().endswith(item.strip()) and "(c)" in art7[1]
    # a unit whose packing cuts no list is packed as before: one piece
    assert [c.unit for c in chunks].count("Article 8") == 1


def test_chinese_articles_on_consecutive_lines_are_articles(tmp_path):
    # a law saved as plain text (or read from a PDF's text layer) with no blank lines between its articles
    body = (
        "某某管理办法\n第一章 总则\n第一条 为了规范管理，制定本办法。\n第二条 本办法适用于境内服务。\n"
        "提供者应当遵守本办法。\n第二章 附则\n第三条 本办法自公布之日起施行。\n"
    )
    doc = load_document(_write(tmp_path, "某某管理办法.txt", body), {})
    assert blocks_of(doc.body)[:3] == ["某某管理办法", "第一章 总则", "第一条 为了规范管理，制定本办法。"]
    units = {u.label: u for u in split_units(doc)}
    assert list(units) == ["preamble", "第一条", "第二条", "第三条"]
    assert "提供者应当遵守本办法。" in "\n".join(units["第二条"].blocks)
