"""Comparison questions (issue 14, part 3): sides are detected and each side gets its best clauses in retrieval
(the answer's side of it: tests/assistant/answering/test_comparison_answer.py)."""

from __future__ import annotations

import numpy as np

from assistant.retrieval.comparison import Side, comparison_sides, interleave

JURISDICTION = {"cn-ai-content-labeling-measures-2025": "CN", "eu-ai-act-2024": "EU", "us-ca-sb53-2025": "US"}


def test_sides_need_a_comparison_word_and_two_sides():
    docs = ["cn-ai-content-labeling-measures-2025", "eu-ai-act-2024"]
    assert comparison_sides("标识办法和AI法案有什么区别？", docs, [], JURISDICTION) == [
        Side(doc_ids=("cn-ai-content-labeling-measures-2025",)),
        Side(doc_ids=("eu-ai-act-2024",)),
    ]
    assert comparison_sides("标识办法和AI法案都要求标识吗", docs, [], JURISDICTION) == []  # no comparison word
    assert comparison_sides("Compare the labelling measures with other rules", docs[:1], [], JURISDICTION) == []
    # a named document and another jurisdiction; a jurisdiction already covered by a named document is no side
    assert comparison_sides("SB 53 versus the EU approach", ["us-ca-sb53-2025"], ["US", "EU"], JURISDICTION) == [
        Side(doc_ids=("us-ca-sb53-2025",)),
        Side(jurisdiction="EU"),
    ]
    assert comparison_sides("比较中国和欧盟的标识要求", [], ["CN", "EU"], JURISDICTION) == [
        Side(jurisdiction="CN"),
        Side(jurisdiction="EU"),
    ]


def test_interleave_puts_each_sides_best_units_first_side_by_side():
    order = np.array([0, 1, 2, 3, 4, 5])
    doc = np.array(["a", "a", "a", "a", "b", "b"])
    units = {0: ("a", "1"), 1: ("a", "1"), 2: ("a", "2"), 3: ("a", "3"), 4: ("b", "1"), 5: ("b", "2")}
    out = interleave(order, [doc == "a", doc == "b"], units.__getitem__, per_side=2)
    assert out.tolist() == [0, 4, 2, 5, 1, 3]  # a's two best units (0, 2), b's (4, 5), then the rest in order


def test_retrieval_gives_each_side_places_at_the_top(retriever):
    result = retriever.run("Compare the Bletchley Declaration and the Seoul Declaration on AI safety science")
    assert len(result.sides) == 2
    top = [c.doc_id for c in result.clauses[:4]]
    assert top.count("intl-bletchley-declaration-2023") >= 2 and top.count("intl-seoul-declaration-2024") >= 2, top
    plain = retriever.run("What does the Seoul Declaration say about AI safety science?")
    assert plain.sides == []
