"""Word-by-word translations for keyword search across languages (assistant/retrieval/dictionary.py, CC-CEDICT):
a Chinese question finds the provision of an English rulebook nobody wrote a glossary for, by keyword too."""

from __future__ import annotations

import pytest
from support.rulebooks import DEALER_RULES

from assistant.retrieval.dictionary import dictionary, name_matches, policy, translations
from assistant.retrieval.types import Filters


def test_chinese_words_give_english_glosses_and_english_words_chinese_ones():
    words = translations("如果参与者不再满足门槛条件，监管机构能否取消其许可？")
    assert {"threshold", "cancel"} <= set(words)
    assert translations("什么？") == []  # question words are not glossed
    assert "会" not in dictionary().to_english  # nor single characters, too vague on their own
    words = translations("Can a platform refuse a refund?")
    assert {"平台", "退款"} <= set(words)
    assert not any(w.isascii() for w in words)  # an English question gains no English words


@pytest.fixture(scope="module")
def rulebook_retriever(collection_of):
    from assistant.retrieval import HybridRetriever

    return HybridRetriever(collection_of("dictionary-rules", {"dealer-rules.txt": DEALER_RULES}))


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


@pytest.mark.parametrize(
    "name, title, matches",
    [
        ("China's E-Commerce Law", "电子商务法", True),
        ("Anti-Unfair Competition Law", "反不正当竞争法", True),
        ("Under the Advertising Law", "广告法", True),
        ("E-Commerce Law", "电子签名法", False),  # 电子 alone is not 电子商务
        ("Minors Protection Law", "未成年人网络保护条例", False),  # a Law is not a 条例
    ],
)
def test_an_english_law_name_matches_a_chinese_title_by_translation(name, title, matches):
    assert (name_matches(name, title) >= policy().name_share) is matches


LAWS = {
    "电子商务法.md": "# 电子商务法（测试文件）\n\n第一条 为了规范电子商务行为，制定本法。\n\n"
    "第二条 电子商务经营者应当依法办理市场主体登记。\n\n第三条 电子商务平台经营者应当公示平台服务协议。\n",
    "广告法.md": "# 广告法（测试文件）\n\n第一条 为了规范广告活动，制定本法。\n\n第二条 广告应当真实、合法。\n\n"
    "第三条 广告不得含有虚假的内容。\n\n第四条 广告不得使用国旗、国歌、国徽。\n\n第五条 广告主应当对广告内容的真实性负责。\n",
}


@pytest.fixture(scope="module")
def chinese_laws_service(collection_of):
    from assistant.answering.service import AnswerService

    return AnswerService(collection_of("chinese-laws", LAWS))


def test_an_english_question_names_a_law_the_collection_names_only_in_chinese(chinese_laws_service):
    answer = chinese_laws_service.answer("What does Article 3 of China's E-Commerce Law say?")
    assert not answer.refused and answer.citations[0].unit == "第三条"
    assert answer.citations[0].doc_id.startswith("电子商务法")
    # the E-Commerce Law has no Article 5: declined, not answered with the only Article 5 there is (广告法's)
    answer = chinese_laws_service.answer("What does Article 5 of China's E-Commerce Law say?")
    assert answer.refused and not answer.citations, answer.text
    answer = chinese_laws_service.answer("Under the Advertising Law, may an advert show the national flag?")
    assert not answer.refused and answer.citations[0].doc_id.startswith("广告法")


def test_a_clause_number_of_a_law_no_name_resolves_is_not_looked_up_elsewhere(chinese_laws_service):
    """Article 5 of a law the collection cannot name is that law's: not the one document that has an Article 5."""
    retriever = chinese_laws_service.retriever
    question = "What does Article 5 of China's Anti-Telecom and Online Fraud Law say?"
    analysis = retriever.analyse(question)
    assert analysis.unresolved_laws and not analysis.doc_ids
    assert retriever.run(question).lookup_hits == []
    # with the law named by a name the collection resolves, the number is looked up in it
    assert [c.unit for c in retriever.run("What does Article 5 of the Advertising Law say?").lookup_hits] == ["第五条"]
