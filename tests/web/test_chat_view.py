"""The chat's HTML (assistant.web.chat_view): what an answer card and the clause panel show, and that document and
user text is always escaped."""

from __future__ import annotations

from assistant.web.chat_view import answer_html, clause_html, lead_and_rest, unit_body_html

CITATION = {
    "n": 1,
    "label": "EU AI Act Article 50(2)",
    "title": "Regulation (EU) 2024/1689",
    "unit": "Article 50",
    "locator": "Article 50(2)",
    "quote": "Providers shall mark outputs.",
    "status": "in-force",
    "source_url": "javascript:alert(1)",
    "issued": "2024-06-13",
    "in_effect": True,
    "unit_text": "### Article 50\nTransparency <img src=x> obligations\nProviders shall mark outputs.",
    "spans": [[52, 81]],
}
ANSWER = {
    "answer_id": "a1",
    "lead": "Providers must mark synthetic outputs [1].",
    "text": "Providers must mark synthetic outputs [1].\n\n> ⚠ a notice\n\n**EU AI Act**\n> Providers shall mark "
    "outputs. [1]\n",
    "citations": [CITATION],
    "related": [],
    "refused": False,
    "interpreted_as": "What must providers of <b>AI</b> mark?",
    "follow_ups": ["When does it apply?"],
    "notices": ["a notice"],
}


def test_answer_card_lead_first_clauses_collapsed_and_inline_citations():
    card = answer_html(0, ANSWER)
    assert card.index('class="interpreted') < card.index('class="answer-lead"') < card.index("<details")
    assert "What must providers of &lt;b&gt;AI&lt;/b&gt; mark?" in card
    assert card.count('<button type="button" class="cite" data-turn="0" data-n="1">[1]</button>') == 2
    assert 'class="chip follow-up" data-question="When does it apply?"' in card
    assert "&gt; ⚠" not in card and "<li>⚠ a notice</li>" in card  # the notice once, outside the details


def test_lead_falls_back_to_the_first_paragraph_that_is_not_a_notice():
    lead, rest = lead_and_rest({**ANSWER, "lead": "", "text": "> ⚠ note\n\nThe text of X:\n\n> q [1]"})
    assert lead == "The text of X:" and rest == "> q [1]"


def test_clause_panel_whole_unit_with_span_marked_heading_as_title_and_nothing_unescaped():
    panel = clause_html(CITATION)
    assert "<mark>Providers shall mark outputs.</mark>" in panel
    assert '<strong class="unit-heading">Article 50</strong>' in panel and "###" not in panel
    assert "<img" not in panel and "&lt;img src=x&gt;" in panel and "javascript:" not in panel
    assert "EU AI Act Article 50(2)" in panel


def test_spans_across_a_heading_and_overlapping_spans():
    text = "## Title\nabc def"
    assert (
        unit_body_html(text, [[3, 11], [10, 13]])
        == '<strong class="unit-heading"><mark>Title</mark></strong>\n<mark>abc </mark>def'
    )
