"""The answerability guard as an ordered list of rules: the first decision wins, no decision means answer."""

from __future__ import annotations

import pytest

from assistant.answering.guard import (
    RULES,
    RefusalDecision,
    companion_text,
    company_enforcement,
    court_cases,
    decide,
    future_events,
    local_rules,
    other_provision,
    statistics,
)


def _decided(service, question: str) -> RefusalDecision:
    """The guard's decision on a question, all rules in order."""
    return service.decide(service.retriever.run(question))


def _assert_declined(service, question: str, kind: str, said: str = "") -> RefusalDecision:
    """The guard declines ``question`` for the reason ``kind``, its reason saying ``said``."""
    decision = _decided(service, question)
    assert decision.refused and decision.kind == kind and said in decision.reason, (question, decision)
    return decision


def _decided_by(service, rule, question: str) -> RefusalDecision:
    """The decision of one rule alone (no decision: answer)."""
    return decide(service.retriever.run(question), service.settings, {}, {}, rules=(rule,))


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
        "other_provision",
        "foreign_jurisdiction",
        "not_included",
        "company_enforcement",
        "statistics",
        "court_cases",
        "future_events",
        "local_rules",
        "fees_and_taxes",
        "newer_version",
        "older_version",
        "draft_version",
        "companion_text",
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


def test_a_paragraph_beyond_the_last_the_named_article_prints_is_a_missing_clause(service):
    for question, raw in (
        ("Can you quote Article 50(8) of the AI Act on labelling AI-generated music?", "Article 50(8)"),
        ("What does Article 31(9) of the Korean AI Basic Act require?", "Article 31(9)"),
    ):
        _assert_declined(service, question, "missing-clause", raw)
    # the last paragraph it prints, and an article printing no paragraph numbers (it cannot tell)
    for question in (
        "What does Article 99(11) of the AI Act say?",
        "What does Article 4(3) of the Council of Europe Convention say?",
    ):
        assert _decided(service, question).kind != "missing-clause", question


def test_a_section_the_named_text_does_not_have_is_a_missing_clause(service):
    """Executive Order 14110 has sections 1 to 13; its Section 4.5 and Sec. 12 are looked up."""
    _assert_declined(
        service, "What penalties does Section 14 of Executive Order 14110 set?", "missing-clause", "Section 14"
    )
    for question in ("What does Section 4.5 of EO 14110 say?", "What does Sec. 12 of Executive Order 14110 cover?"):
        assert not service.decide(service.retriever.run(question)).refused, question


def test_an_article_number_of_a_text_numbered_by_items_or_printed_paragraphs_is_that_item_or_paragraph(service):
    """第五条 of a UN resolution is its paragraph 5 (printed "5. …") and of the Global AI Governance Initiative its
    proposal (item) 5, not the introduction's paragraph 5; unnumbered paragraphs (the Bletchley Declaration, a
    commentary), a point of a paragraph, or a number the text lacks are still clauses it does not have; beside a
    text that has the article (a comparison), the number is that text's only."""

    def looked_up(question):
        return [(c.doc_id, c.unit) for c in service.retriever.run(question).lookup_hits]

    assert looked_up("联合国大会78/265号决议第五条说了什么？") == [("un-ga-res-78-265-2024", "para 5")]
    assert looked_up("全球人工智能治理倡议第三条是什么？") == [("cn-global-ai-governance-initiative-2023", "item 3")]
    for question, missing in [
        ("联合国大会78/265号决议第五十条说了什么？", "第五十条"),
        ("What does Article 5 of the Bletchley Declaration say?", "Article 5"),
        ("《为什么要建立人工智能安全监管制度》第三条讲了什么？", "第三条"),
        ("Article 5(2) of UN General Assembly resolution 78/265: what does it call for?", "Article 5"),
    ]:
        _assert_declined(service, question, "missing-clause", missing)
    compared = (
        "How does Article 50 of the EU AI Act on transparency compare with the UNESCO Recommendation on AI ethics?"
    )
    assert {d for d, _ in looked_up(compared)} == {"eu-ai-act-2024"}


def test_a_later_version_number_than_the_named_texts_is_a_version_the_corpus_does_not_hold(service):
    for question, asked in (
        ("人工智能安全治理框架2.0版新增了哪些风险？", "2.0版"),
        ("What does NIST AI RMF 2.0 add on generative AI?", "2.0"),
        # written against an English name of a text titled in Chinese, after its country
        ("Which risks did version 2.0 of China's AI Safety Governance Framework add?", "version 2.0"),
        # a later version without a number
        ("What did the next version of the AI RMF change in GOVERN?", "next version"),
        ("生成式人工智能服务管理暂行办法下一个版本会怎么改？", "下一个版本"),
    ):
        _assert_declined(service, question, "newer-version", asked)
    # the version held, and numbers that are clauses, not versions
    for question in (
        "NIST AI RMF 1.0 的四个核心功能是什么？",
        "治理框架1.0版提出了哪些原则？",
        # a version number of the user's own product
        "Under the NIST AI RMF, do we need to redo MEASURE 2.7 before we ship v2 of our model?",
        "我们的大模型3.0版上线前，按治理框架要做哪些评估？",
        "We're shipping version 2.0 of our chatbot: what does China's AI Safety Governance Framework expect of us?",
        "2016年网络安全法后来的版本改了哪些罚款？",  # the later version is held too
        # the version of the user's own product, beside a named text
        "Under the AI Act, do we need a new conformity assessment for the next version of our model?",
        "我们的模型下一个版本要上线，按生成式人工智能服务管理暂行办法需要重新备案吗？",
        "Under the NIST AI RMF, what should change for version 2.0 of Acme's AI system?",
    ):
        assert _decided(service, question).kind != "newer-version", question


def test_an_amendment_year_held_in_another_version_of_the_named_text_is_not_a_version_missing(service):
    """网络安全法 is held as its 2016 text and its 2025 amended text: a question comparing the two is answered from
    both versions (before, naming 2016 made the 2016 text the only one, and its 2025 amendment 'not held')."""
    for question, versions in (
        (
            "网络安全法2016年原版和2025年修正后的现行版本相比，不履行等级保护义务的罚款有什么变化？",
            {"cn-cybersecurity-law-2016", "cn-cybersecurity-law-2025-amended"},
        ),
        (
            "How did the 2025 amendment change the Cybersecurity Law's rule on foreign organisations that harm "
            "China's cybersecurity, compared with the 2016 text?",
            {"cn-cybersecurity-law-2016", "cn-cybersecurity-law-2025-amended"},
        ),
    ):
        answer = service.answer(question)
        assert not answer.refused, (question, answer.text[:200])
        assert {c.doc_id for c in answer.citations} == versions, [c.label for c in answer.citations]
    # an amendment later than every version held is still not held
    _assert_declined(service, "数据安全法2025年修订后新增了什么？", "newer-version", "2025")


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Has the Court of Justice of the EU ever ruled on the AI Act's ban on social scoring?", "events"),
        ("Has any data protection authority already fined a company under the AI Act?", "events"),
        ("Has any company already been fined under Article 5 of the AI Act?", "events"),
        ("有没有公司因为违反欧盟AI法案第50条透明度义务被罚款？", "events"),
        ("有没有法院依据数据安全法判决的案件？", "events"),
        ("腾讯已经在韩国指定国内代理人了吗？", "events"),
        ("Has Alibaba's Qwen completed the algorithm filing, and what is its filing number?", "events"),
        ("When is the EU expected to amend the AI Act's list of high-risk uses?", "events"),
        ("Which AI labs signed the Frontier AI Safety Commitments?", "events"),
        ("听说杭州自己出台了一个算法条例，罚得比国家规定还重，具体怎么罚？", "foreign-jurisdiction"),
        ("成都市有没有出台自己的数据条例？对我们的App有什么额外要求？", "foreign-jurisdiction"),
    ],
)
def test_enforcement_events_expected_lawmaking_and_a_citys_own_rules_are_declined(service, question, kind):
    """Facts no regulation text holds: a court's or regulator's decision, what a company has done, what lawmakers
    are expected to change, which companies signed a pledge, a city's own regulation."""
    _assert_declined(service, question, kind)


@pytest.mark.parametrize(
    "question",
    [
        "When is the AI Act expected to apply to high-risk AI systems?",
        "When will the Commission publish guidelines on classifying high-risk systems?",
        "有没有规定检察院可以对侵害众多个人权益的案件提起诉讼？",
        "个人信息保护法有没有关于公益诉讼案件的规定？",
        "负责算法备案的是哪家机构？",
        "Which providers have to register their high-risk systems in the EU database?",
        "Does the Korean AI Basic Act let the minister delegate authority to a Metropolitan City Mayor?",
        # the same words, used otherwise (review of 2026-12-07)
        "Are high-risk AI systems expected to pass a conformity assessment before being placed on the market?",
        "When is a provider expected to amend its technical documentation under the AI Act?",
        "Is personal information obtained by Baidu through its search engine subject to PIPL's consent rules?",
        "抖音已经备案的推荐算法发生变更后怎么办理变更手续？",
        "抖音的算法备案是哪家机构负责审核？",
        "Which providers registered in the EU database must update their registration when information changes?",
        "Can the Court of Justice review the Commission's decision to fine a GPAI provider?",
        "网络安全法对于有没有造成严重后果的案件，罚款标准一样吗？",
        "我们在深圳，企业是否要自己制定个人信息保护的细则？",
        "我们在上海，公司需要出台自己的数据安全管理办法吗？",
        "上海的上市公司出台了自己的数据安全管理办法，还需要满足网络数据安全管理条例的哪些要求？",
        "杭州某公司出台了自己的算法管理规定，是否还需要按照算法推荐管理规定进行备案？",
        "首尔市政府出台了自己的人工智能伦理规定，韩国AI基本法对此有什么要求？",
        "What does the AI Act say about a city's use of real-time biometric identification in Paris?",
    ],
)
def test_what_the_texts_say_about_dates_courts_filings_and_cities_is_answered(service, question):
    """The same words in questions the texts answer: a date of application, what a court or prosecutor may do,
    who keeps the filings, who must register, a city mayor's delegated authority."""
    assert not _decided(service, question).refused, question


def test_expected_lawmaking_is_a_future_event_and_an_expected_payment_is_not(service):
    """'expected to amend' asks what lawmakers will do; 'expected to be paid' (a rulebook's fee schedule) does not."""
    assert _decided_by(service, future_events, "When is the EU expected to amend the AI Act's high-risk list?").refused
    assert not _decided_by(service, future_events, "When are the annual supervision fees expected to be paid?").refused


def test_a_lawmaker_passing_or_replacing_a_law_is_a_future_event(service):
    """A law a legislature, a country or its government is expected to pass or replace; not what a held text tells an
    authority to adopt (guidelines, implementing acts, 国务院制定的办法), nor a company's own rules (review of
    2026-12-07)."""
    for question in (
        "Is the NPC expected to enact a national artificial intelligence law soon?",
        "Is the US Congress going to pass a federal AI statute this session?",
        "国家会不会出台专门的人工智能法律？",
        "国家打算什么时候把生成式AI暂行办法升级成正式的管理办法？",
    ):
        assert _decided_by(service, future_events, question).refused, question
    for question in (
        "By when will the Commission issue guidelines on the classification rules for high-risk AI systems?",
        "When will the Commission adopt implementing acts specifying the detailed rules for AI regulatory sandboxes?",
        "Will the State Council issue measures for critical information infrastructure protection?",
        "Will models that pass the 10^25 FLOP threshold be subject to extra rules?",
        "Which delegated acts will the Commission adopt to amend Annex III?",
        "Will we need to introduce internal rules for AI use under the AI Act?",
        "国务院会不会制定关键信息基础设施安全保护办法？",
        "公司打算修订隐私政策和个人信息处理规定，需要重新取得同意吗？",
        "深度合成服务提供者将会通过什么方式落实标识规定？",
        "修改后的网络安全法什么时候会取代原来的网络安全法？",
    ):
        assert not _decided_by(service, future_events, question).refused, question


def test_an_earlier_wording_of_a_text_held_only_as_amended_is_declined(service):
    """The OECD Recommendation (2019) is held as amended in 2024: its 2019 wording is not in the corpus. A text held
    as first issued (the AI Act), or held in its old version too (网络安全法 2016), and the amended wording itself,
    are answered."""
    for question in (
        "For a paper I need the 2019 version of the OECD AI Principles: what did principle 1.4 say then?",
        "What did the OECD AI Principles say about robustness before they were revised in 2024?",
        "OECD AI原则修订前的版本对透明度是怎么规定的？",
        "What does the OECD's 2019 version of principle 1.2 say?",
        "How was principle 1.4 worded in the original 2019 version of the OECD AI Recommendation?",
    ):
        _assert_declined(service, question, "older-version", "2024")
    for question in (
        "What does principle 1.4 of the OECD AI Recommendation say?",
        "What does the 2024 version of the OECD principle on transparency say?",
        "What was the original 2016 text of the Cybersecurity Law's Article 21?",
        "When were the OECD AI Principles first adopted and when were they amended?",
        "What did the original version of the EU AI Act say about general-purpose AI models?",
        "What is the original wording of OECD AI Principle 1.4 on robustness, security and safety?",
        "Under the Korean AI Basic Act, if we release an updated model, does the previous version need a new impact "
        "assessment?",
        "网络安全法修订前的版本对关键信息基础设施是怎么规定的？",
    ):
        assert _decided(service, question).kind != "older-version", question


def test_a_text_the_version_note_says_the_file_leaves_out_is_declined_unless_a_clause_names_it(service):
    for question, said in (
        ("What did the digital omnibus change in Article 6 of the AI Act?", "digital omnibus"),
        ("欧盟AI法案被数字综合修正案改过之后，第五十条还要求水印吗？", "数字综合"),
        ("标识办法第十一条指向的强制性国标45438对元数据字段有什么要求？", "45438"),
        ("韩国AI基本法施行令规定的高影响人工智能认定标准是什么？", "施行令"),
        ("What does the Explanatory Report say about Article 3 of the Council of Europe AI convention?", "Explanatory"),
    ):
        _assert_declined(service, question, "not-included", said)
    for question in (
        # the Seoul Declaration's paragraph 3 names the commitments: what it says of them is the corpus's to answer,
        # in either language
        "Does the Seoul Declaration note the Frontier AI Safety Commitments?",
        "首尔宣言第3段是怎么提到前沿人工智能安全承诺的？",
        # what the held text itself says: before the left-out text, or what it leaves to it
        "Before the digital omnibus changes, what did Article 6 of the AI Act say about high-risk classification?",
        "Which matters does the Korean AI Basic Act leave to the Enforcement Decree?",
        "韩国AI基本法中哪些事项授权由施行令（总统令）规定？",
        # the words in another sense, or about another document
        "Is the EU AI Act an omnibus regulation covering all sectors, or a sector-specific one?",
        "深度合成服务提供者需要向用户提供算法解释报告吗？",
        "新一代人工智能发展规划中关于数字综合治理能力有什么部署？",
        "What does Article 50 of the AI Act require of deployers of deepfakes?",
        "标识办法第十一条要求服务提供者符合哪些标准？",
    ):
        assert _decided(service, question).kind != "not-included", question


def test_what_a_companion_text_says_is_declined_unless_the_collection_holds_one(service):
    for question, kind in (
        (
            "What does the Commission's guidance on prohibited practices say about emotion recognition at work?",
            "guidance",
        ),
        ("What does the AI RMF Playbook suggest for GOVERN 1.1?", "playbook"),
        ("数据安全法的释义里对重要数据是怎么解释的？", "释义"),
    ):
        _assert_declined(service, question, "unknown-document", kind)
    # what the texts say about such texts is theirs to say
    for question in (
        "What must the Commission's guidelines on high-risk classification include under the AI Act?",
        "By when must the Commission provide guidelines on the high-risk classification rules?",
        "Does the NIST AI RMF say organizations should follow guidance from standards bodies?",
        "What guidance does the NIST AI RMF give on red-teaming?",
        "Which guidelines does the Governance Framework list for developers?",
        "What does the guidance in the NIST AI RMF say about third-party risks?",
    ):
        assert not _decided_by(service, companion_text, question).refused, question


def test_what_a_provision_of_an_instrument_we_do_not_hold_says_is_declined(service):
    for question, said in (
        ("Quote GDPR Article 9 for me, the one on special categories of data.", "GDPR"),
        ("What does Article 5 of Regulation 2019/881 say about the tasks of ENISA?", "2019/881"),
        (
            "The AI Act cites the DSA: what does Article 34 of Regulation (EU) 2022/2065 say on systemic risks?",
            "2022/2065",
        ),
        ("欧盟AI法案经常提到GDPR，GDPR第22条具体怎么说？", "GDPR"),  # not the AI Act's Article 22
    ):
        assert _decided_by(service, other_provision, question).refused, question
        assert said in _decided(service, question).reason, question
    # a clause of ours asked about beside it, or the provision set beside what is asked: answered
    for question in (
        "Under Article 10 of the AI Act, may providers process the special categories of data of GDPR Article 9?",
        "Does the Data Security Law have a rule like GDPR Article 33 on notifying breaches?",
        "与GDPR第17条相比，个人信息保护法的删除权有什么不同？",
        # not asking what it says
        "Which AI Act article allows processing special categories under Article 9(1) of Regulation (EU) 2016/679 "
        "for bias detection?",
    ):
        assert not _decided_by(service, other_provision, question).refused, question


def test_a_draft_or_consultation_text_is_a_version_the_corpus_does_not_hold(service):
    for question in (
        "What did the January 2022 consultation draft of the deep synthesis provisions require on labelling?",
        "数据安全法草案二审稿对重要数据出境是怎么写的？",
        "What did the European Parliament's negotiating position say about foundation models?",
    ):
        _assert_declined(service, question, "draft-version")
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
        _assert_declined(service, question, "unknown-document", name)
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


def test_a_standard_named_by_a_number_no_name_of_ours_holds_is_unknown(service):
    for question, name in (
        ("What does NIST SP 800-53 require for access control?", "NIST SP 800-53"),  # "NIST" alone names the AI RMF
        ("NIST AI 600-1里列出的生成式AI风险有哪些？", "NIST AI 600-1"),
        ("What does ETSI EN 303 645 require for default passwords?", "ETSI EN 303 645"),
        ("IEC 62443对工控系统安全有什么要求？", "IEC 62443"),
    ):
        _assert_declined(service, question, "unknown-document", name)
    result = service.retriever.run("What does NIST AI 100-1 say about valid and reliable AI systems?")
    assert result.analysis.unknown_titles == () and not service.decide(result).refused


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
        "深度合成服务备案要交多少工本费？",
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
        "What does the AI Act require of the people in charge of human oversight?",
    ):
        assert _decided(service, question).kind != "fees", question


def test_how_much_a_fee_is_is_declined_unless_a_clause_states_a_sum(service):
    # the AI Act speaks of conformity assessment fees (reduced for SMEs) but states no sum
    for question in (
        "Roughly how much would a notified body charge a small company for an Annex VII conformity assessment?",
        "申请确认系统是否属于高影响人工智能，需要交多少申请费？",
        "第三方评估机构做生成式人工智能安全评估一般是什么价位？",
        "What VAT rate applies to AI services sold in Germany?",
    ):
        _assert_declined(service, question, "fees")


def test_an_annex_or_appendix_the_named_text_does_not_have_is_a_missing_clause(service):
    for question, raw in (
        ("欧盟AI法案附件二十规定了什么？", "附件二十"),
        ("What does Annex XIX of the AI Act list?", "Annex XIX"),
        ("TC260-003附录D给了哪些例子？", "附录D"),
    ):
        _assert_declined(service, question, "missing-clause", raw)
    for question in ("欧盟AI法案附件三列了哪些高风险领域？", "TC260-003附录A列了哪些安全风险？"):
        result = service.retriever.run(question)
        assert not result.missing_refs and not service.decide(result).refused, question
    # a text whose annexes are not units cannot be said to lack one
    assert not service.retriever.run("深度合成规定附件二有什么内容？").missing_refs


def test_a_lettered_annex_or_a_top_level_part_the_named_text_does_not_have_is_a_missing_clause(service):
    for question, raw in (
        ("What does Annex B of TC260-003 list as extra risks for multimodal models?", "Annex B"),
        ("治理框架第7部分“国际合作指引”里有哪些条目？", "第7部分"),
        ("TC260-003第十二章讲了什么？", "第十二章"),
    ):
        _assert_declined(service, question, "missing-clause", raw)
    for question in ("What does Annex A of TC260-003 list?", "治理框架第3部分讲了什么？", "TC260-003第5章有哪些要求？"):
        result = service.retriever.run(question)
        assert not result.missing_refs and not service.decide(result).refused, question
    # a law's chapters are not units: the text cannot be said to lack one; nor a part another named text has
    assert not service.retriever.run("个保法第九章讲了什么？").missing_refs
    assert not service.retriever.run("治理框架和TC260-003的第7章分别讲了什么？").missing_refs


def test_a_question_about_court_judgments_or_cases_is_declined(service):
    for question in (
        "Has any EU court ruled yet on what counts as social scoring under the AI Act?",
        "有没有法院依据深度合成规定判过冒充他人声音的案子？",
        "What is the leading case law on PIPL's consent rules?",
    ):
        decision = _assert_declined(service, question, "events")
        assert "court" in decision.reason or "法院" in decision.reason, decision.reason
    # what a court may do under a text is in the text; 判断 is telling apart, 判过刑 a scenario, "ruled out" and
    # "the use case" are not rulings and cases
    for question in (
        "If a personal information handler rejects my request, can I sue in a court under PIPL?",
        "个人信息处理者拒绝个人行使权利的请求的，个人可以向人民法院起诉吗？",
        "如果App拒绝删除我的个人信息，我能跟它打官司吗？",
        "有员工以前因为破坏计算机信息系统被判过刑，他还能在我们公司做网络安全管理工作吗？",
        "怎么判断一个AI系统属不属于欧盟AI法案的高风险系统？",
        "Is real-time remote biometric identification ruled out entirely under the AI Act?",
        "Is the use case of emotion recognition at work prohibited under the AI Act?",
        "Can a provider challenge a Commission fine before the CJEU?",
        "法院用AI辅助起草判决书，在欧盟AI法案下算高风险系统吗？",
        "If the notified body ruled against our certificate, can we appeal?",
        "个人信息侵权的赔偿，法院怎么判赔偿数额？",
    ):
        assert not _decided_by(service, court_cases, question).refused, question
    # a collection that holds a court's texts (a judicial interpretation) may answer
    result = service.retriever.run("有没有法院依据个人信息保护法判过人脸识别的案子？")
    assert decide(result, service.settings, {}, {"pipl": "个人信息保护法"}, rules=(court_cases,)).refused
    court_text = {"spc-face": "最高人民法院关于审理使用人脸识别技术处理个人信息相关民事案件适用法律若干问题的规定"}
    assert not decide(result, service.settings, {}, court_text, rules=(court_cases,)).refused
    # ... but not a particular case, nor a court's typical cases: an interpretation does not report them
    suing = service.retriever.run(
        "在人脸识别民事诉讼案件中，法院怎么认定处理者侵害了个人信息权益？"
    )  # 诉讼: not a case
    assert not decide(suing, service.settings, {}, court_text, rules=(court_cases,)).refused
    for question in ("王某诉某超市人脸识别纠纷案，二审最后怎么判的？", "最高法发布过人脸识别的典型案例吗？"):
        particular = service.retriever.run(question)
        assert decide(particular, service.settings, {}, court_text, rules=(court_cases,)).refused, question
        cases = {"spc-cases": "最高人民法院发布个人信息保护典型案例", **court_text}
        assert not decide(particular, service.settings, {}, cases, rules=(court_cases,)).refused, question


def test_a_question_about_what_lawmakers_will_do_next_is_declined(service):
    for question in (
        "Will the EU add more use cases to the AI Act's high-risk list next year?",
        "数据安全法预计什么时候修改？",
        "Do you think Japan will ratify the Council of Europe AI convention next year?",
        "标识办法以后会不会修订？",
        "下一版的治理框架会新增哪些风险类别？",
        "个人信息保护法预计哪一年会修订？",
        "When is the CAC going to amend the deep synthesis provisions?",
    ):
        _assert_declined(service, question, "events")
    # a date to come that the texts set, and a time to come in the user's own plans
    for question in (
        "When do the AI Act's rules on general-purpose AI models apply?",
        "生成式人工智能服务管理暂行办法从什么时候开始施行？",
        "We will add an AI chatbot to our app next year; what transparency duties apply under the AI Act?",
        "Our privacy notice will be updated next year; must we ask for consent again under PIPL?",
        "我们去年做的个人信息保护影响评估报告，明年还要继续保存吗？",
        "我们的深度合成算法明年要修改，需要重新备案吗？",
        "欧盟委员会预计什么时候发布高风险分类的指南？",
        "Will the Commission issue its guidelines on high-risk classification by next year?",
        "欧盟打算什么时候全面适用AI法案？",
        "When will the Commission adopt the implementing act on the post-market monitoring plan template?",
        "我们的模型下一版要上线，需要重新做安全评估吗？",
        "我们的模型下一版要新增人脸识别功能，需要重新备案吗？",
        "Our model predicts creditworthiness; will we have to revise its documentation under the AI Act?",
        "Are we going to amend our privacy notice when we add a chatbot, under PIPL?",
        "Are providers going to amend their technical documentation when the AI Act applies?",
    ):
        assert not _decided_by(service, future_events, question).refused, question


def test_a_city_or_provinces_own_rules_are_declined_unless_a_clause_speaks_of_them(service):
    for question, place in (
        ("成都有没有出台自己的生成式人工智能地方条例？", "成都"),
        ("Does Munich have its own local rules on facial recognition cameras on top of the AI Act?", "Munich"),
        ("重庆有没有自己的人工智能条例？", "重庆"),
        ("首尔市政府有没有单独出台人工智能方面的规定？", "首尔"),
    ):
        _assert_declined(service, question, "foreign-jurisdiction", place)
    # a company in a city is not the city's rules; SB 53 speaks of city ordinances
    for question in (
        "我们是北京的一家公司，提供生成式人工智能服务需要履行哪些义务？",
        "上海的企业发生个人信息泄露，是否要向本市网信部门报告？",
        "我们是一家深圳的初创企业，能参加欧盟AI法案规定的监管沙盒吗？",
        "Our Berlin office has its own internal AI policy; does the AI Act still require AI literacy training?",
        "We store data on local servers in Shanghai; what rules apply to sending it abroad under PIPL?",
        "深度合成服务的算法备案完成都需要多久？",
        "Can a city like San Francisco adopt its own ordinance on frontier developers' catastrophic risk after SB 53?",
        "我们是上海的企业，需要制定自己的数据安全管理细则吗？",
    ):
        assert not _decided_by(service, local_rules, question).refused, question


def test_facts_about_a_named_company_and_counts_of_the_world_are_declined(service):
    for question in (
        "Has Anthropic signed the EU's code of practice for general-purpose AI models?",
        "腾讯的个人信息保护负责人是谁？",
        "How many generative AI services are there in China today?",
        "What share of European companies already use high-risk AI systems?",
        "第一家因为违反数据安全法被处罚的企业是哪家？",
        "How many countries have ratified the Framework Convention on AI?",
        "Has the AI Office tagged Google's Gemini as a GPAI model with systemic risk?",
        "Has OpenAI put its SB 53 frontier AI framework on its website yet?",
        "腾讯去年发布的那份AI治理白皮书里提到了哪些原则？",
        "去年各地网信部门一共查处了多少家违规的算法推荐企业？",
        "数据交易所第一年的成交额是多少？",
    ):
        _assert_declined(service, question, "events")
    # a company named in a question about the user's own system, or named as an example (also in a list)
    for question in (
        "If we fine-tune Llama and offer it as a chatbot in the EU, what transparency duties do we have?",
        "Are Llama models released under an open licence covered by the AI Act's open-source exemption?",
        "If we fine tune Llama, are we a provider under the AI Act?",
        "我们用百度的大模型做客服机器人，需要履行哪些标识义务？",
        "We use OpenAI's GPT-4 in a hiring tool; is our tool classified as high-risk?",
        "If a general-purpose AI provider such as OpenAI is fined by the Commission, can it appeal the fine?",
        "Are providers such as Mistral and Anthropic fined for breaching Article 53 by the Commission?",
        "像腾讯、阿里这样的大平台违反个保法被处罚，最高可以罚多少？",
        "我们是北京东城区的一家AI公司，个人信息保护负责人应该是谁？",
        "如果微信违反个保法，最高会被罚多少？",
        "What fines could OpenAI face under the AI Act if it breaches the GPAI obligations?",
        "网信部门对快手进行执法检查时，快手要配合提供哪些材料？",
    ):
        assert not _decided_by(service, company_enforcement, question).refused, question
    # counts the texts state
    for question in (
        "How many risk categories are there in TC260-003's Appendix A?",
        "个保法第十三条规定的第一个合法性基础对企业意味着什么？",
        "How many states must ratify the Framework Convention on AI before it enters into force?",
        "截至目前，欧盟AI法案哪些条款已经开始适用？",
        "算法推荐服务上线后多少个工作日内要完成备案？",
        "How many days do providers have to report a serious incident under the AI Act?",
        "How many times a year must a large frontier developer publish its transparency report under SB 53?",
        # the asker's own products, and a hypothetical
        "我们已经上线了几款生成式AI应用，每款都要单独做安全评估吗？",
        "如果同时违反个人信息保护法两条，罚款总额是多少？",
    ):
        assert not _decided_by(service, statistics, question).refused, question


def test_a_chinese_article_number_names_the_article_of_an_english_text(service):
    for question, unit in (
        ("欧盟AI法案第5条禁止了哪些AI做法？", "Article 5"),
        ("韩国AI基本法第31条对生成式AI有什么标识要求？", "Article 31"),
    ):
        result = service.retriever.run(question)
        assert not result.missing_refs and result.clauses[0].unit == unit, question
        assert not service.decide(result).refused, question
    decision = service.decide(service.retriever.run("欧盟AI法案第200条讲了什么？"))
    assert decision.refused and decision.kind == "missing-clause" and "第200条" in decision.reason


def test_a_clause_number_of_another_named_jurisdictions_text_is_not_missing(service):
    # 第50条 is the EU's (the AI Act's Article 50), not one China's labelling measures lack
    result = service.retriever.run("国内的标识办法允许提供不带显式标识的内容吗？欧盟第50条的标识义务又有哪些例外？")
    assert "cn-ai-content-labeling-measures-2025" in result.analysis.named_in_question
    assert not result.missing_refs
    # the named text's own jurisdiction does not excuse a number it lacks
    result = service.retriever.run("中国的深度合成规定第30条讲了什么？")
    assert result.missing_refs and service.decide(result).kind == "missing-clause"


def test_a_question_under_a_foreign_jurisdictions_own_law_is_declined(service):
    """Asked under Japan's APPI, the question is about a text the corpus does not hold, although it names China."""
    _assert_declined(
        service,
        "We're a Japanese company. Under Japan's APPI, do we need our Japanese users' consent before transferring "
        "their data to our processor in China?",
        "unknown-document",
        "Japan's APPI",
    )


@pytest.mark.parametrize(
    "question",
    [
        "我们是一家日本公司，在中国提供生成式AI服务，需要遵守生成式人工智能服务管理暂行办法吗？",
        "We are a UK company's subsidiary in China. What does the GenAI Measures require for filing?",
        "Our Canadian parent company wants to deploy emotion recognition in our EU offices. Is that allowed?",
        "一家印度公司向中国境内公众提供算法推荐服务，需要备案吗？",
    ],
)
def test_where_the_asker_is_from_does_not_make_a_question_unanswerable(service, question):
    """A foreign jurisdiction named as the asker's home or where data goes ([guard.where_from], [guard.where_to])
    is read past by the answerability model: the question is about a covered jurisdiction's rules."""
    decision = _decided(service, question)
    assert not decision.refused, (question, decision)


@pytest.mark.parametrize(
    "question, unit",
    [
        ("Did Japan sign the Bletchley Declaration?", "signatories"),
        ("Was India among the countries at the Bletchley summit?", "signatories"),
        ("日本签署了布莱切利宣言吗？", "signatories"),
        ("Did Singapore endorse the Seoul Declaration?", "para 1"),
    ],
)
def test_a_country_asked_about_as_signing_a_declaration_that_lists_it_is_answered(service, question, unit):
    """[guard.party_to]: the country is named as signing or joining a document of ours whose clauses name it (the
    declaration's list of signatories), so it is not a foreign jurisdiction's own rules."""
    answer = service.answer(question)
    assert not answer.refused, (question, answer.text[:200])
    assert unit in [c.unit for c in answer.citations], [c.unit for c in answer.citations]


def test_a_country_adopting_rules_of_its_own_is_still_not_covered(service):
    """ "adopt" is not a way of joining a held text: Japan's own rules are not in the corpus."""
    assert _decided(service, "Has Japan adopted rules like the EU AI Act?").refused


def test_a_part_naming_a_clause_we_hold_is_answered_beside_a_foreign_instrument(service):
    """The part about Japan's APPI is named as not covered; the part naming PIPL's article is answered."""
    answer = service.answer(
        "What does Japan's APPI say about consent? And what does Article 14 of PIPL say about consent?"
    )
    assert not answer.refused, answer.text[:200]
    assert answer.uncovered == ["What does Japan's APPI say about consent?"]
    assert ("cn-personal-information-protection-law-2021", "第十四条") in [(c.doc_id, c.unit) for c in answer.citations]


@pytest.mark.parametrize(
    "question",
    [
        "网络安全法里，有没有企业被罚款后还要对直接负责的主管人员处罚的规定？",
        "数据安全法中，有没有公司被罚款以后还会被责令暂停业务的情形？",
        "有没有平台因为没做算法备案被处罚的可能？依据的是哪一条？",
    ],
)
def test_a_question_about_what_the_rules_say_of_penalties_is_not_an_enforcement_event(service, question):
    decision = _decided(service, question)
    assert decision.kind != "events", (question, decision)
