"""Word-by-word translations for keyword search across languages (assistant/retrieval/dictionary.py, CC-CEDICT):
a Chinese question finds the provision of an English rulebook nobody wrote a glossary for, by keyword too."""

from __future__ import annotations

import pytest

from assistant.retrieval.dictionary import dictionary, translations
from assistant.retrieval.types import Filters

RULEBOOK = """\
Sample Dealer Rules (an invented rulebook for tests)

3\tLICENSING
3.1\tWithdrawal
3.1.1\tThe Regulator may cancel the licence of a dealer who no longer meets the threshold conditions.
3.1.2\tA dealer may surrender its licence by written notice.
3.2\tFees
3.2.1\tAn applicant must pay the application fee when it files its application.
4\tCONDUCT
4.1\tMarket abuse
4.1.1\tA person who disseminates false or misleading information commits market abuse whether or not the person trades.
4.1.2\tA dealer must keep records of every order for six years.
4.2\tComplaints
4.2.1\tA dealer must answer a client complaint in writing within eight weeks.
"""


def test_chinese_words_give_english_glosses_and_english_words_chinese_ones():
    words = translations("如果参与者不再满足门槛条件，监管机构能否取消其许可？")
    assert {"threshold", "cancel"} <= set(words)
    assert translations("什么？") == []  # question words are not glossed
    assert "会" not in dictionary().to_english  # nor single characters, too vague on their own
    words = translations("Can a platform refuse a refund?")
    assert {"平台", "退款"} <= set(words)
    assert not any(w.isascii() for w in words)  # an English question gains no English words


@pytest.fixture(scope="module")
def rulebook_retriever(tmp_path_factory, settings_factory, embedder):
    from assistant.retrieval import HybridRetriever
    from ingest.pipeline import run_ingest

    base = tmp_path_factory.mktemp("dictionary-rules")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "dealer-rules.txt").write_text(RULEBOOK, encoding="utf-8")
    settings = settings_factory(base, corpus)
    assert run_ingest(settings).ok
    return HybridRetriever(settings)


@pytest.mark.parametrize(
    "question, unit",
    [
        ("交易商不再满足门槛条件时，监管机构能取消其许可吗？", "3.1.1"),
        ("散布虚假或误导性信息，即使没有交易，也构成市场滥用吗？", "4.1.1"),
    ],
)
def test_a_chinese_question_finds_an_english_provision_by_keyword(rulebook_retriever, question, unit):
    analysis = rulebook_retriever.analyse(question)
    assert analysis.translations  # the collection has no Chinese text: the question's words are translated
    keyword = rulebook_retriever.keyword.scored(analysis, rulebook_retriever.index.mask(Filters()))
    best = max(keyword, key=lambda c: c.score)
    assert rulebook_retriever.index.metas[best.row]["unit"] == unit
    assert rulebook_retriever.run(question).clauses[0].unit == unit
