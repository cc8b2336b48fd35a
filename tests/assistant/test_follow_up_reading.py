"""Follow-ups that don't hijack (issue 12, item 5): history is used only when the question depends on it. A
question that names its own document stands alone (unless it starts like a follow-up); one that names nothing
but is self-contained is searched both ways and keeps the reading the evidence supports; a dependent follow-up
("那违反了怎么罚？", "Can we …") keeps the conversation's context."""

from __future__ import annotations

import pytest

LABELLING = "生成式人工智能服务提供者要对生成内容做什么标识？"


@pytest.fixture(scope="module")
def labelling_history(service):
    return [{"role": "user", "content": LABELLING}, {"role": "assistant", "content": service.answer(LABELLING).text}]


def cited(answer) -> list[tuple[str, str]]:
    return [(c.doc_id, c.unit) for c in answer.citations]


@pytest.mark.parametrize(
    "question",
    [
        "What must the instructions for use of a high-risk AI system contain?",  # names nothing, self-contained
        "深度合成服务提供者对训练数据要做哪些管理？",  # names its own document; short
        "Under the EU AI Act, what must providers of general-purpose AI models document?",
    ],
)
def test_a_self_contained_question_after_an_unrelated_turn_is_answered_as_if_asked_alone(
    service, labelling_history, question
):
    alone = service.answer(question)
    after = service.answer(question, history=labelling_history)
    assert cited(after) == cited(alone) and after.citations
    assert after.interpreted_as == ""
    assert not any(c.doc_id == "cn-genai-interim-measures-2023" for c in after.citations)


def test_a_dependent_follow_up_keeps_the_conversation(service, labelling_history):
    answer = service.answer("那违反了怎么罚？", history=labelling_history)
    assert ("cn-genai-interim-measures-2023", "第二十一条") in cited(answer)
    assert "生成式人工智能服务管理暂行办法" in answer.interpreted_as
    alone = service.answer("那违反了怎么罚？")
    assert cited(alone) != cited(answer)


def test_a_question_naming_nothing_that_needs_the_context_keeps_it(service):
    first = "Under the EU AI Act, when must a provider report a serious incident to the authorities?"
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": service.answer(first).text}]
    answer = service.answer("Can we send an incomplete initial report first and complete it later?", history=history)
    assert ("eu-ai-act-2024", "Article 73") in cited(answer)


@pytest.mark.parametrize(
    "follow_up",
    ["OK, so concretely what are we on the hook for once we fall in that bucket?", "好的，那具体要履行哪些义务？"],
)
def test_a_follow_up_after_a_word_of_acknowledgement_keeps_the_conversation(service, follow_up):
    """'OK, so …' and '好的，那…' start like follow-ups: the Korean act asked about stays the subject (before, the
    English one was read alone and answered from the EU AI Act)."""
    first = "Is a model that approves loan applications high-impact AI under Korea's AI Framework Act?"
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": service.answer(first).text}]
    analysis = service.retriever.analyse(follow_up, history)
    assert analysis.is_follow_up and not analysis.may_stand_alone  # not also searched as a question on its own
    answer = service.answer(follow_up, history=history)
    assert not answer.refused and answer.citations
    assert answer.citations[0].doc_id == "kr-ai-framework-act-2025-en", cited(answer)
