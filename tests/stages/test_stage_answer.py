"""The question path end to end on the fixture index, through the public entry points
``HybridRetriever(settings).run(question, k=...)`` and ``AnswerService(settings).answer(question)``: a named
clause is looked up and ranked first, intent questions (penalty, entry into force, definitions) find their
article, ``k`` bounds the ranked clauses, off-corpus questions are declined with the reason."""

from __future__ import annotations

import pytest
from stage_support import CN_DOC, CN_TITLE, EN_DOC, EN_TITLE, FIXTURE_CORPUS, RULEBOOK

from assistant.retrieval import HybridRetriever


@pytest.fixture(scope="module")
def retriever(fixture_index) -> HybridRetriever:
    return HybridRetriever(fixture_index.settings)


def top(result) -> tuple[str, str]:
    return result.clauses[0].doc_id, result.clauses[0].unit


def ranked(result) -> list:
    """The ranked clauses (without the cross-referenced ones added as context)."""
    return [c for c in result.clauses if "cross_reference" not in c.signals]


@pytest.mark.parametrize(
    "question, expected",
    [
        (f"《{CN_TITLE}》第五条规定了什么？", (CN_DOC, "第五条")),
        (f"What does Article 4 of the {EN_TITLE} say?", (EN_DOC, "Article 4")),
    ],
    ids=["zh", "en"],
)
def test_a_named_clause_is_rank_1(retriever, question, expected):
    result = retriever.run(question, k=5)
    assert top(result) == expected
    assert [(c.doc_id, c.unit) for c in result.lookup_hits] == [expected]
    assert result.clauses[0].signals.get("lookup") == 1


@pytest.mark.parametrize(
    "question, expected",
    [
        ("What does rule 1.2.1 of the Sample Data Exchange rulebook require?", ["1.2.1"]),
        ("Under the Sample Data Exchange rulebook, what do rules 1.2 cover?", ["1.2.1", "1.2.2"]),  # a heading
        ("What does rule 2.1.2 say?", ["2.1.2"]),  # one text has a 2.1.2: no document needs naming
    ],
    ids=["rule", "heading-number", "unnamed"],
)
def test_a_numbered_rule_is_looked_up(retriever, question, expected):
    result = retriever.run(question, k=5)
    assert [(c.doc_id, c.unit) for c in result.lookup_hits] == [(RULEBOOK, u) for u in expected]
    assert [c.unit for c in result.clauses[: len(expected)]] == expected


@pytest.mark.parametrize("k", [1, 2, 5])
def test_k_bounds_the_ranked_clauses(retriever, k):
    result = retriever.run("服务提供者应当履行哪些义务？", k=k)
    assert len(ranked(result)) == k
    assert [c.score for c in ranked(result)] == sorted((c.score for c in ranked(result)), reverse=True)


@pytest.mark.parametrize(
    "question",
    [
        "违反本办法规定会被罚款多少？",
        "What is the penalty if a chatbot does not tell users it is a robot?",  # via the glossary's translations
    ],
    ids=["zh", "en"],
)
def test_a_penalty_question_finds_the_penalty_article(retriever, question):
    assert top(retriever.run(question, k=5)) == (CN_DOC, "第七条")


def test_a_when_question_finds_the_final_article(retriever):
    assert top(retriever.run(f"{CN_TITLE}什么时候施行？", k=5)) == (CN_DOC, "第八条")


def test_the_answer_quotes_the_named_article_verbatim_with_its_citation(fixture_service):
    answer = fixture_service.answer(f"《{CN_TITLE}》第五条规定了什么？")
    assert not answer.refused and answer.mode == "extractive" and answer.language == "zh"
    first = answer.citations[0]
    assert (first.doc_id, first.unit, first.label) == (CN_DOC, "第五条", f"《{CN_TITLE}》第五条")
    article = next(
        line
        for line in (FIXTURE_CORPUS / f"{CN_DOC}.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("第五条 ")
    )
    assert first.quote == article and f"> {article} [1]" in answer.text
    assert first.source_url == "https://example.org/sample-chatbot-measures" and first.status == "in-force"


def test_the_answer_to_a_penalty_question_cites_the_penalty_article_first(fixture_service):
    answer = fixture_service.answer("违反本办法规定会被罚款多少？")
    assert not answer.refused
    assert answer.citations[0].label == f"《{CN_TITLE}》第七条"
    assert "处一万元以上五万元以下罚款" in answer.citations[0].quote


def test_a_definition_question_is_answered_from_the_definitions_article(fixture_service):
    answer = fixture_service.answer(f"What does 'candidate' mean in the {EN_TITLE}?")
    assert not answer.refused and answer.language == "en"
    assert [c.label for c in answer.citations] == [f"{EN_TITLE} Article 2"]
    assert "'candidate' means a natural person" in answer.citations[0].quote


@pytest.mark.parametrize(
    "question", ["How do I bake sourdough bread at home?", "今天北京天气怎么样？"], ids=["en", "zh"]
)
def test_an_off_corpus_question_is_declined(fixture_service, question):
    answer = fixture_service.answer(question)
    assert answer.refused and answer.refusal_kind == "weak-evidence" and answer.citations == []
    assert answer.text.startswith(("The corpus does not cover this question", "语料库未涵盖这个问题"))


@pytest.mark.parametrize(
    "question, kind",
    [
        ("《示例省无人机管理条例》第三条规定了什么？", "unknown-document"),  # a title the corpus does not hold
        (f"《{CN_TITLE}》第二十条规定了什么？", "missing-clause"),  # the measures have eight articles
        (f"What does Article 9 of the {EN_TITLE} say?", "missing-clause"),
    ],
    ids=["unknown-title", "missing-article-zh", "missing-article-en"],
)
def test_a_question_about_text_the_corpus_lacks_is_declined_with_the_reason(fixture_service, question, kind):
    answer = fixture_service.answer(question)
    assert answer.refused and answer.refusal_kind == kind and answer.citations == []
