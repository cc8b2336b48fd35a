"""Unit roles decided at split time (ingest/roles.py): on the real corpus (split only, no embedding) and on small
hand-written documents."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ingest.catalog import load_catalog
from ingest.loaders import corpus_files, load_document
from ingest.models import SourceDocument
from ingest.roles import ROLES, roles_of
from ingest.splitter import chunk_document


@pytest.fixture(scope="module")
def chunks_by_doc(shared_corpus, settings_factory, tmp_path_factory):
    settings = settings_factory(tmp_path_factory.mktemp("roles"), shared_corpus)
    catalog = load_catalog(settings.catalog_path)
    out = {}
    for path in corpus_files(shared_corpus):
        doc = load_document(path, catalog)
        out[doc.doc_id] = chunk_document(
            doc,
            catalog.get(doc.doc_id),
            max_chars_zh=settings.chunk_max_chars_zh,
            max_chars_en=settings.chunk_max_chars_en,
        )
    return out


def roles(chunks, unit: str) -> set[tuple[str, ...]]:
    return {c.roles for c in chunks if c.unit == unit}


def test_every_chunk_has_roles_from_the_vocabulary_primary_first(chunks_by_doc):
    primary = Counter()
    for chunks in chunks_by_doc.values():
        for chunk in chunks:
            assert chunk.roles and set(chunk.roles) <= set(ROLES)
            assert chunk.role == chunk.roles[0]
            assert ("operative" in chunk.roles) == (chunk.roles == ("operative",))
            primary[chunk.role] += 1
    # the shared corpus, split as the retrieval classified it before roles were stored (bench/roles_vs_old_flags.py);
    # splitter 6 (a lead-in kept with its list) added five operative pieces and one of a definitions article
    assert primary == {
        "operative": 1456,
        "recital": 270,
        "penalty": 83,
        "annex": 80,
        "definitions": 56,
        "preamble": 47,
        "final_provision": 32,
        "scope": 20,
        "signature_block": 2,
    }


def test_chinese_rules_roles(chunks_by_doc):
    genai = chunks_by_doc["cn-genai-interim-measures-2023"]
    assert roles(genai, "第二条") == {
        ("scope",)
    }  # 第二条 利用生成式人工智能技术向中华人民共和国境内公众提供…服务，适用本办法
    assert roles(genai, "第二十一条") == {("penalty",)}  # 第四章 监督检查和法律责任
    assert roles(genai, "第二十二条") == {("definitions", "final_provision")}  # 用语含义, in 第五章 附则
    assert roles(genai, "第二十四条") == {("final_provision",)}  # 本办法自2023年8月15日起施行
    assert roles(genai, "第四条") == {("operative",)}
    labelling = chunks_by_doc["cn-ai-content-labeling-measures-2025"]
    assert roles(labelling, "preamble") == {("preamble",)}  # the issuing notice
    assert roles(labelling, "第十三条") == {("penalty",)}  # opens with 违反本办法规定的, no 法律责任 chapter


def test_eu_ai_act_roles(chunks_by_doc):
    act = chunks_by_doc["eu-ai-act-2024"]
    assert roles(act, "Recital 27") == {("recital",)}
    assert roles(act, "Recital 97") == {("recital", "definitions")}  # a recital that defines terms
    assert roles(act, "Article 2") == {("scope",)}
    assert roles(act, "Article 3") == {("definitions",)}  # all 9 pieces of the definitions article
    assert roles(act, "Article 99") == {("penalty",)}
    assert roles(act, "Article 113") == {("final_provision",)}
    assert roles(act, "Annex III") == {("annex",)}


def test_signature_blocks(chunks_by_doc):
    signed = [c for chunks in chunks_by_doc.values() for c in chunks if c.role == "signature_block"]
    assert sorted(c.unit for c in signed) == ["note", "signatories"]


def test_a_unit_shares_its_definitions_role_across_its_pieces():
    body = "## Article 1\n\nScope text.\n\n## Article 2 — Definitions\n\n" + "\n\n".join(
        f"({i}) ‘term {i}’ means a thing of kind {i} described at some length here." for i in range(1, 40)
    )
    doc = SourceDocument(doc_id="t", title="T", body=body, path=Path("t.md"), sha256="0")
    chunks = chunk_document(doc, max_chars_en=400)
    pieces = [c for c in chunks if c.unit == "Article 2"]
    assert len(pieces) > 2 and {c.roles for c in pieces} == {("definitions",)}
    assert roles(chunks, "Article 1") == {("operative",)}


def test_roles_of_reads_stored_metadata():
    assert roles_of({"role": "definitions", "roles": "definitions,final_provision"}) == {
        "definitions",
        "final_provision",
    }
    assert (
        roles_of({}) == frozenset()
    )  # an index made before roles existed: no roles (the splitter version rebuilds it)


def test_the_terms_a_clause_defines():
    from ingest.roles import defined_terms

    assert defined_terms("第二条 本条例适用于……。\n\n本条例所称大数据，是指以容量大为特征的数据集合。") == ["大数据"]
    assert defined_terms("下列用语的含义：\n（一）数据，是指任何记录。\n（二）个人数据，是指载有信息的数据。") == [
        "数据",
        "个人数据",
    ]
    assert defined_terms("“深度合成技术”，是指利用深度学习……的技术") == ["深度合成技术"]
    assert defined_terms("(1) 'AI system' means a machine-based system") == ["ai system"]
    assert defined_terms("Providers shall ensure that the system means of redress are available.") == []
