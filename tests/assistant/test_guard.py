"""The answerability guard as an ordered list of rules: the first decision wins, no decision means answer."""

from __future__ import annotations

from assistant.answering.guard import RULES, RefusalDecision, decide


def test_the_first_rule_that_decides_wins(service):
    result = service.retriever.run("What does Article 50 of the AI Act require?")
    assert decide(result, service.settings, {}, {}) == RefusalDecision(False)
    rules = (
        lambda r, ctx: None,
        lambda r, ctx: RefusalDecision(True, "first", "a"),
        lambda r, ctx: RefusalDecision(True, "second", "b"),
    )
    assert decide(result, service.settings, {}, {}, rules=rules).kind == "a"
    assert [rule.__name__ for rule in RULES] == [
        "missing_clause",
        "unknown_document",
        "foreign_jurisdiction",
        "company_enforcement",
        "statistics",
        "fees_and_taxes",
        "newer_version",
        "draft_version",
        "nothing_found",
        "weak_evidence",
    ]


def test_a_missing_clause_is_named_before_an_unknown_title(service):
    result = service.retriever.run("《生成式人工智能服务管理暂行办法》第九十九条和《不存在的管理办法》有什么规定？")
    assert result.missing_refs and result.analysis.unknown_titles
    decision = decide(result, service.settings, {}, {})
    assert decision.refused and decision.kind == "missing-clause" and "第九十九条" in decision.reason


def test_an_inserted_article_the_named_text_does_not_have_is_a_missing_clause(service):
    decision = service.decide(
        service.retriever.run("What does Article 86a of the AI Act add to the right to explanation?")
    )
    assert decision.refused and decision.kind == "missing-clause" and "Article 86a" in decision.reason


def test_a_draft_or_consultation_text_is_a_version_the_corpus_does_not_hold(service):
    for question in (
        "What did the January 2022 consultation draft of the deep synthesis provisions require on labelling?",
        "数据安全法草案二审稿对重要数据出境是怎么写的？",
        "What did the European Parliament's negotiating position say about foundation models?",
    ):
        decision = service.decide(service.retriever.run(question))
        assert decision.refused and decision.kind == "draft-version", (question, decision)
    # drafting as what a text regulates is not a draft of it
    assert service.decide(
        service.retriever.run("Who drafts the codes of practice for general-purpose AI models?")
    ).kind != ("draft-version")


def test_a_draft_question_is_answered_when_the_collection_holds_a_draft(service):
    result = service.retriever.run("数据安全法草案二审稿对重要数据出境是怎么写的？")
    assert (
        decide(result, service.settings, {}, {"cn-dsl-draft": "数据安全法（草案二次审议稿）"}).kind != "draft-version"
    )


def test_an_instrument_or_provision_named_by_a_number_the_collection_never_mentions_is_unknown(service):
    for question, name in (
        ("What's in Labor Code section 1107.5 on AI whistleblowers?", "section 1107.5"),
        ("What exactly did EO 14148 say when it revoked the Biden AI order?", "EO 14148"),
        ("加州SB 53第22757.25条对开源模型的豁免是怎么规定的？", "第22757.25条"),
        ("根据EO 14148，联邦机构还要遵守拜登的AI行政令吗？", "EO 14148"),  # a name inside Chinese text
    ):
        decision = service.decide(service.retriever.run(question))
        assert decision.refused and decision.kind == "unknown-document" and name in decision.reason, question
    # numbers the collection mentions: in a title or id (EO 14110), the issuer (国务院令第790号), a clause (the AI
    # Act cites Regulation (EU) 2019/1020), a section heading of SB 53; and numbers too short to tell (SB 53)
    for question in (
        "What did EO 14110 say about watermarking synthetic content?",
        "When did Decree No. 790 on network data security start applying?",
        "国务院令第７９０号规定了哪些网络数据处理者义务？",  # full-width digits: the issuer reads 国务院令第790号
        "How does the AI Act use Regulation (EU) 2019/1020 for market surveillance?",
        "What does section 22757.12 of SB 53 require frontier developers to publish?",
        "Which large developers does SB 53 cover?",
    ):
        result = service.retriever.run(question)
        assert result.analysis.unknown_titles == (), (question, result.analysis.unknown_titles)


def test_a_referenced_number_is_read_whole(service):
    pattern = service.retriever.policy.analysis.numbered_reference
    found = [
        next(g for g in m.groups() if g) for m in pattern.finditer("Rule 5.13A.1.1 and § 1002.4(a) and EO 14148's")
    ]
    assert found == ["5.13A.1.1", "1002.4", "14148"]
    assert not list(pattern.finditer("§" * 5000 + "?"))  # no match, and no backtracking blow-up


def test_a_number_is_mentioned_only_as_a_whole_number(service):
    index = service.retriever.index
    assert index.mentions_number("14110")  # Executive Order 14110: the title and the id us-eo-14110-2023
    assert index.mentions_number("2019/1020")
    assert not index.mentions_number("1411")  # inside 14110
    assert not index.mentions_number("019/1020")


def test_a_fee_or_tax_no_clause_speaks_of_is_declined(service):
    for question in (
        "What's the application fee to become a notified body under the AI Act?",
        "算法备案要交多少钱的费用？",
        "提供生成式人工智能服务取得的收入适用多少的增值税税率？",
    ):
        result = service.retriever.run(question)
        assert not any(service.retriever.policy.guard.fee_evidence.search(c.text) for c in result.clauses)
        decision = service.decide(result)
        assert decision.refused and decision.kind == "fees", (question, decision)
    # the corpus speaks of these fees (SMEs' conformity assessment fees, the sandbox free of charge for SMEs), and a
    # question that only mentions a charge in passing is not about one
    for question in (
        "Does the AI Act reduce conformity assessment fees for SMEs?",
        "Do small companies have to pay to take part in an AI regulatory sandbox?",
        "Which authority is in charge of coordinating cybersecurity work under China's Cybersecurity Law?",
        "《中华人民共和国个人所得税法》和个人信息保护法对个人信息的定义一样吗？",  # a fee word in a title only
    ):
        assert service.decide(service.retriever.run(question)).kind != "fees", question
