"""Questions of several parts (issue 12, item 3): the parts are found, each is checked by the guard on its own, and
the answer names the parts the corpus does not cover; a question declined as a whole is answered for the parts it
covers. Real index, real guard."""

from __future__ import annotations

import pytest
from corpus_ids import EU_AI_ACT, GENAI

from assistant.answering.question_parts import split_parts, without_connector


@pytest.mark.parametrize(
    "question, parts",
    [
        (
            "Under the AI Act, must we register in the EU database, and how much does registration cost?",
            ["Under the AI Act, must we register in the EU database", "and how much does registration cost?"],
        ),
        ("提供者要做哪些标识？另外深圳有没有地方细则？", ["提供者要做哪些标识？", "另外深圳有没有地方细则？"]),
        ("提供者要做哪些标识，另外深圳有没有地方细则？", ["提供者要做哪些标识", "另外深圳有没有地方细则？"]),
        # context sentences stay with the question that follows them
        ("We run a chatbot for a bank. Do we have to tell users it is an AI?", None),
        # a piece too short to be asked on its own is part of the one before it
        ("Was there a fee for filing the reports, and how much?", None),
        ("What is the penalty for this? And the deadline?", None),
        # "and" between nouns is not a new question
        ("What must providers and deployers of high-risk systems do?", None),
        ("A? 第一个问题是什么？第二个问题是什么？第三个问题是什么？第四个问题是什么？", None),  # more than max_parts
    ],
)
def test_split_parts(question, parts):
    assert split_parts(question) == (parts or [question])


def test_the_connector_is_not_part_of_what_is_asked():
    assert without_connector("and how does Japan regulate deepfakes?") == "how does Japan regulate deepfakes?"
    assert without_connector("另外，深圳有没有地方细则？") == "深圳有没有地方细则？"
    assert without_connector("Andorra's rules?") == "Andorra's rules?"


def test_the_answer_names_the_part_the_corpus_does_not_cover(service):
    answer = service.answer("生成式人工智能服务提供者发现违法内容后应当怎么处置？另外，深圳有没有自己的地方细则？")
    assert not answer.refused
    assert answer.uncovered == ["深圳有没有自己的地方细则？"]
    assert any("深圳有没有自己的地方细则" in n and "语料库未涵盖" in n for n in answer.notices)
    assert "> ⚠ 语料库未涵盖问题的这一部分" in answer.text
    assert answer.citations[0].doc_id == GENAI
    assert answer.to_dict()["uncovered"] == answer.uncovered


def test_a_question_declined_as_a_whole_is_answered_for_the_part_the_corpus_covers(service):
    question = (
        "How does Japan regulate deepfakes, and what must a deployer disclose about a deepfake under the EU AI Act?"
    )
    whole = service.retriever.run(question)
    assert service.decide(whole).refused  # Japan: a jurisdiction the corpus has no text for
    answer = service.answer(question)
    assert not answer.refused
    assert answer.uncovered == ["How does Japan regulate deepfakes"]
    assert "(JP)" in answer.notices[-1]
    assert answer.citations and answer.citations[0].doc_id == EU_AI_ACT


def test_parts_all_covered_get_no_notice(service):
    answer = service.answer("Who counts as a provider under the AI Act, and who counts as a deployer?")
    assert not answer.refused and answer.uncovered == [] and answer.notices == []


def test_a_part_that_refers_back_to_an_uncovered_part_is_not_answered_on_its_own(service):
    # "it" is Google's framework, which no text holds: answering "what thresholds does it use" from SB 53 would
    # cite the law's thresholds as the company's
    answer = service.answer(
        "Has Google published its frontier AI framework under SB 53 yet, and what thresholds does it use?"
    )
    assert answer.refused and answer.uncovered == []


def test_a_covered_part_that_does_not_stand_alone_is_not_answered_on_its_own(service):
    # "what was it changed into in the final text?" means nothing without the draft it asks about
    answer = service.answer("数据安全法草案二审稿对数据出境是怎么规定的？最终稿又改成了什么？")
    assert answer.refused and answer.uncovered == []


@pytest.mark.parametrize(
    "question",
    [
        # the clause does not exist; "is it about transitional arrangements?" asks about that clause, not about
        # transitional arrangements anywhere (answered alone, it cited the AI Act's recital on entry into force)
        "个保法第80条讲的是啥？是不是关于过渡期安排的？",
        # a comparison with a text the corpus does not hold cannot be answered from one side
        "日本的《人工智能推进法》对企业规定了哪些义务？和欧盟AI法案比起来怎么样？",
    ],
)
def test_a_part_after_an_uncovered_part_is_answered_alone_only_when_it_names_its_own_subject(service, question):
    whole = service.retriever.run(question)
    assert service.decide(whole).refused
    answer = service.answer(question)
    assert answer.refused and answer.uncovered == []


def test_a_comparison_of_two_of_our_texts_after_an_uncovered_part_stands_alone(service):
    question = "日本的《人工智能推进法》对企业规定了哪些义务？数据安全法和个保法对重要数据的规定有什么区别？"
    answer = service.answer(question)
    assert not answer.refused
    assert answer.uncovered and "人工智能推进法" in answer.uncovered[0]
    assert {c.doc_id for c in answer.citations} & {
        "cn-data-security-law-2021",
        "cn-personal-information-protection-law-2021",
    }


def test_a_question_of_one_part_is_answered_as_before(service):
    answer = service.answer("深度合成服务提供者对换脸功能要做什么提示？")
    assert not answer.refused and answer.uncovered == []
