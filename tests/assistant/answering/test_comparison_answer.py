"""Comparison answers (issue 14, part 3): each side gets its citations, and the extractive answer opens with a
per-side table of verbatim sentences; the generative answer is asked for one."""

from __future__ import annotations

from assistant.answering.comparison import comparison_table, key_sentence
from assistant.retrieval.comparison import policy


def test_key_sentence_and_table_quote_the_clause_verbatim():
    text = "第十六条 服务提供者应当遵守本办法。违反本办法规定的，由有关主管部门责令改正，处一万元以下罚款；情节严重的，依法处理。"
    penalties = next(a for a in policy().aspects if a.name["en"] == "Penalties")
    sentence = key_sentence(text, penalties)
    assert sentence.startswith("违反本办法规定的") and sentence in text
    table = comparison_table("两者罚款有什么不同？", "zh", ["A", "B"], [[(text, 1)], []])
    assert table.splitlines()[0] == "| 方面 | A | B |"
    assert "处罚" in table and "[1]" in table and "| — |" in table


def test_comparison_of_two_named_texts_cites_both_within_the_first_three(service):
    answer = service.answer("《人工智能生成合成内容标识办法》和欧盟AI法案在生成内容标识上有什么区别？")
    first = [c.doc_id for c in answer.citations[:3]]
    assert "cn-ai-content-labeling-measures-2025" in first and "eu-ai-act-2024" in first, first
    assert "对比" in answer.text and "| 方面 |" in answer.text
    assert {n for n in (1, 2, 3, 4) if f"[{n}]" in answer.lead} & {
        c.n for c in answer.citations if c.doc_id == "eu-ai-act-2024"
    }  # both sides lead
    english = service.answer("How do the top fines under China's PIPL compare with the AI Act's highest fines?")
    first = [c.doc_id for c in english.citations[:3]]
    assert "cn-personal-information-protection-law-2021" in first and "eu-ai-act-2024" in first, first
    assert "Comparison of" in english.text and "| Penalties |" in english.text
    assert any(c.unit == "第六十六条" for c in english.citations)


def test_generative_comparison_asks_the_model_for_a_per_side_table(generative_service, fake_llm):
    from fake_openai import Reply

    fake_llm.script(Reply.chunks(["| 方面 | A | B |\n|---|---|---|\n| 标识 | 显式标识 [1] | 机器可读 [2] |"]))
    answer = generative_service().answer("《人工智能生成合成内容标识办法》和欧盟AI法案在标识上有什么区别？")
    system = fake_llm.chat_requests[0].messages[0]["content"]
    assert "该问题比较的是" in system and "《人工智能生成合成内容标识办法》" in system and "EU AI Act" in system
    assert answer.mode.startswith("generative") and {c.n for c in answer.citations} == {1, 2}
