"""A rulebook of one-line numbered provisions (6.6.4 under "6.6 Marking to market"), ingested as a plain file: a
short provision is given with the provisions numbered beside it under its heading, labelled by their range, while
it stays a provision of its own: ranked and cited by its number, the lead quoting only its own sentences."""

from __future__ import annotations

import pytest

from assistant.retrieval import HybridRetriever
from assistant.retrieval.policy import DEFAULT_POLICY_FILE, parse_policy

RULEBOOK = """\
Sample Insurer Rules (an invented rulebook for tests)

6\tVALUATION
6.6\tMarking to market
6.6.1\tRule 6.6.2 applies to the valuation of investments held by an Insurer.
6.6.2\tWherever possible, an Insurer must mark to market to measure the value of its investments.
6.6.3\tFor the purposes of Rule 6.6.2, readily available close out prices include exchange prices and screen prices.
6.6.4\tWhen marking to market, an Insurer must use the more prudent side of the bid and offer quotes.
6.7\tMarking to model
6.7.1\tWhere marking to market is not possible, an Insurer may mark to model with the Regulator's consent.
7\tREPORTING
7.1\tAnnual returns
7.1.1\tAn Insurer must file its annual return with the Regulator within four months of its financial year end.
"""

QUESTION = "Which side of the bid and offer quotes must an insurer use when marking to market?"


@pytest.fixture(scope="module")
def rulebook_service(collection_of):
    from assistant.answering.service import AnswerService

    return AnswerService(collection_of("sibling-rules", {"insurer-rules.txt": RULEBOOK}))


def test_a_short_provision_is_given_with_its_numbered_siblings(rulebook_service):
    first = rulebook_service.retriever.run(QUESTION, k=1).clauses[0]
    assert first.unit == "6.6.4"
    # its siblings under 6.6 come with it, in document order, each under its own number; 6.7 and 7.1 do not
    assert first.locator == "6.6.1–6.6.4"
    assert first.text.index("6.6.3") < first.text.index("6.6.4") and "6.7.1" not in first.text
    assert "7.1.1" not in first.text
    assert first.own_text.startswith("6.6.4") and "6.6.3" not in first.own_text


def test_a_sibling_ranked_on_its_own_is_not_given_twice(rulebook_service):
    clauses = rulebook_service.retriever.run(QUESTION).clauses
    units = [c.unit for c in clauses]
    assert units[0] == "6.6.4" and "6.6.2" in units  # a sibling is still a provision of its own, ranked by its number
    rows = [r for c in clauses for r in c.rows]
    assert len(rows) == len(set(rows))  # and no provision's text is in two passages


def test_the_lead_quotes_the_cited_provision_and_marks_it_in_the_quote(rulebook_service):
    answer = rulebook_service.answer(QUESTION)
    assert not answer.refused, answer.text
    cited = next(c for c in answer.citations if c.unit == "6.6.4")
    assert "more prudent side" in answer.lead and "close out prices" not in answer.lead
    assert cited.spans, "the lead's sentence is marked in the quote"
    start, end = cited.spans[0]
    assert "more prudent side" in cited.quote[start:end]


def test_a_policy_without_sibling_context_gives_the_provision_alone(rulebook_service):
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    old = "sibling_context_chars = { zh = 600, en = 1200 }"
    assert text.count(old) == 1
    retriever = rulebook_service.retriever
    alone = HybridRetriever(
        retriever.settings,
        index=retriever.index,
        embedder=retriever.embedder,
        policy=parse_policy(text.replace(old, "sibling_context_chars = { zh = 0, en = 0 }"), "variant.toml"),
    )
    first = alone.run(QUESTION, k=1).clauses[0]
    assert first.unit == "6.6.4" and first.locator == "6.6.4" and len(first.rows) == 1
    assert first.own_text == first.text
