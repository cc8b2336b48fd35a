"""The keyword index (ingest/keyword_index.py) over the fixture corpus's chunks: BM25 on jieba words (Chinese)
and stemmed English words, rarity (idf) for coverage, and a saved index that is rebuilt only when the rows
it was derived from change."""

from __future__ import annotations

import numpy as np
import pytest
from stage_support import CN_DOC, EN_DOC, FIXTURE_CORPUS, RULEBOOK

from ingest.keyword_index import KeywordIndex, fingerprint, sync_keyword_index, tokenize
from ingest.loaders import corpus_files, load_document
from ingest.splitter import chunk_document


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, dict, str]]:
    """(chunk id, metadata, text) of every fixture chunk, as the store hands them to the keyword index."""
    out = []
    for path in corpus_files(FIXTURE_CORPUS):
        doc = load_document(path, {})
        for c in chunk_document(doc):
            meta = {
                "doc_id": c.doc_id,
                "unit": c.unit,
                "title": doc.title,
                "title_en": doc.title_en,
                "path": c.path,
                "sha256": doc.sha256,
            }
            out.append((c.chunk_id, meta, c.text))
    return out


@pytest.fixture(scope="module")
def index(rows) -> KeywordIndex:
    return KeywordIndex.build(rows, fingerprint((cid, meta) for cid, meta, _ in rows))


def best(index: KeywordIndex, rows, query: str) -> tuple[str, str]:
    scores = index.scores(query)
    meta = rows[int(np.argmax(scores))][1]
    return meta["doc_id"], meta["unit"]


def test_tokens_are_chinese_words_and_stemmed_english_words_without_stopwords():
    assert tokenize("The employers shall publish bias audits") == ["employ", "publish", "bias", "audit"]
    tokens = tokenize("服务提供者应当保存对话记录")
    assert "对话" in tokens and "记录" in tokens and "的" not in tokens


def test_chinese_queries_find_their_article(index, rows):
    assert best(index, rows, "罚款") == (CN_DOC, "第七条")
    assert best(index, rows, "转接人工客服") == (CN_DOC, "第五条")
    assert best(index, rows, "对话记录保存多久") == (CN_DOC, "第六条")


def test_english_queries_match_any_inflection(index, rows):
    assert best(index, rows, "bias audits") == (EN_DOC, "Article 3")
    assert best(index, rows, "notifying candidates") == (EN_DOC, "Article 4")
    assert best(index, rows, "dataset records") == (RULEBOOK, "1.2.1")


def test_titles_and_paths_are_searchable_too(index, rows):
    scores = index.scores("罚则")  # a chapter heading, not in any article's text
    assert rows[int(np.argmax(scores))][1]["unit"] == "第七条" and np.count_nonzero(scores) == 1


def test_a_query_with_no_known_word_scores_nothing(index):
    assert not index.scores("sourdough").any()
    assert not index.scores("the of and").any()  # stopwords only
    assert len(index.scores("audit")) == len(index.ids)


def test_rare_words_weigh_more_than_common_ones(index):
    assert index.idf("sourdough") > index.idf("audit") > index.idf("employ")


def test_the_saved_index_is_reused_until_the_rows_change(rows, tmp_path):
    directory = tmp_path / "keyword"
    first, rebuilt = sync_keyword_index(rows, directory)
    assert rebuilt and (directory / "index.json").is_file()
    again, rebuilt = sync_keyword_index(rows, directory)
    assert not rebuilt and again.fingerprint == first.fingerprint
    np.testing.assert_allclose(again.scores("bias audit"), first.scores("bias audit"))
    changed = [
        (cid, {**meta, "sha256": "edited"} if i == 0 else meta, text) for i, (cid, meta, text) in enumerate(rows)
    ]
    edited, rebuilt = sync_keyword_index(changed, directory)
    assert rebuilt and edited.fingerprint != first.fingerprint
    fewer, rebuilt = sync_keyword_index(rows[:-1], directory)
    assert rebuilt and fewer.ids == [cid for cid, _, _ in rows[:-1]]
