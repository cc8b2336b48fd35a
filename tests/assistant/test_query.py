"""Query analysis: document names, clause references, versions, unknown titles and jurisdictions.

Document resolution runs on the resolver of the real full-corpus index (titles, catalog aliases and the
versions the index actually holds); clause-reference parsing is pure.
"""

from __future__ import annotations

import pytest
from corpus_ids import (
    ALGO,
    BLETCHLEY,
    CSL_2016,
    CSL_2025,
    DEEP,
    EU_AI_ACT,
    GENAI,
    LABELING,
    NIST_RMF,
    PIPL,
    SB53,
    SEOUL,
    TC260,
)

from assistant.retrieval.analysis import analyse, question_language
from assistant.retrieval.glossary import expand_terms
from assistant.retrieval.references import cn_to_int, int_to_cn, parse_clause_refs, units_cited

# ---- document names -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, doc_id",
    [
        ("《生成式人工智能服务管理暂行办法》对训练数据有什么要求？", GENAI),  # full title in book-title marks
        ("生成式人工智能服务管理暂行办法适用于哪些服务", GENAI),  # full title, no marks
        ("生成式AI办法对训练数据有什么要求？", GENAI),  # short name
        ("深度合成规定要求怎样标识？", DEEP),
        ("个保法里的敏感个人信息指什么？", PIPL),
        ("《中华人民共和国个人信息保护法》第二十八条", PIPL),  # title with 中华人民共和国
        ("个人信息保护法规定的单独同意", PIPL),  # title without 中华人民共和国
        ("What does PIPL say about consent?", PIPL),
        ("Which practices does the AI Act prohibit?", EU_AI_ACT),
        ("How does the NIST RMF define risk?", NIST_RMF),
        ("算法推荐管理规定对未成年人有什么保护", ALGO),
        ("TC260-003 对语料来源有什么要求", TC260),
    ],
)
def test_document_names_resolve(resolver, question, doc_id):
    analysis = analyse(question, resolver)
    assert analysis.named_in_question == (doc_id,)
    assert analysis.doc_ids == (doc_id,)


@pytest.mark.parametrize(
    "question, doc_id",
    [
        ("标识新规对隐式标识有什么要求？", LABELING),
        ("AI标识新规什么时候施行？", LABELING),
        ("《人工智能生成合成内容标识办法》第九条", LABELING),
        ("《生成式人工智能服务标识办法》要求什么？", LABELING),  # a loose title that holds the alias 标识办法
        ("What do the Labelling Measures require on file metadata?", LABELING),
        ("What does TFAIA require of large frontier developers?", SB53),
        ("Under SB 53, who receives critical safety incident reports?", SB53),
        ("加州SB 53对吹哨人有什么保护？", SB53),
        ("What did the Bletchley Declaration say about frontier AI?", BLETCHLEY),
        ("布莱切利宣言提到了哪些风险？", BLETCHLEY),
        ("《布莱奇利宣言》怎么看前沿人工智能的风险？", BLETCHLEY),  # the other usual transliteration
        ("Which institutes does the Seoul Declaration welcome?", SEOUL),
        ("What does the Seoul Statement of Intent say about safety science?", SEOUL),
        ("首尔宣言和AI安全研究所", SEOUL),
    ],
)
def test_names_of_the_texts_added_in_2026_resolve(resolver, question, doc_id):
    analysis = analyse(question, resolver)
    assert analysis.named_in_question == (doc_id,)
    assert analysis.doc_ids == (doc_id,)
    assert analysis.unknown_titles == analysis.unknown_if_unmentioned == ()


COE = "coe-ai-framework-convention-2024"
NETWORK_DATA = "cn-network-data-security-regulations-2024"


@pytest.mark.parametrize(
    "question, doc_id",
    [
        # initials of a run of the title's words, other words of its names
        ("What does Article 4 of the CoE AI Convention require?", COE),
        ("What does Article 34 of the CoE AI convention say?", COE),  # lower case: an alias
        ("What export-control duties does Article 40 of the CoE AI Framework Convention impose?", COE),
        (
            "What does the NDS Regulation say about large platforms?",
            NETWORK_DATA,
        ),  # initials only this text's names have
        # a plural name in the singular
        ("What counts as a large network platform under the Network Data Security Regulation?", NETWORK_DATA),
    ],
)
def test_english_names_resolve_word_by_word(resolver, question, doc_id):
    analysis = analyse(question, resolver)
    assert analysis.named_in_question == (doc_id,)


@pytest.mark.parametrize(
    "name",
    [
        "Council Regulation",  # "council" and "regulation" are words of several documents' names
        "AI Promotion Act",  # "promotion" is in no name of ours
        "Digital Services Act",
        "AI Safety Summit Declaration",  # two documents' names hold every word
        "California AI Transparency Act",  # SB 942, not SB 53: words of SB 53's names, but no initials of ours
        "Vilnius Convention",
    ],
)
def test_names_of_other_instruments_do_not_resolve_word_by_word(resolver, name):
    assert resolver.find(name) == [] and resolver.find_loosely(name) is None


def test_longer_name_wins_over_a_name_inside_it(resolver):
    # 生成式人工智能服务安全基本要求 (TC260-003) contains neither alias of the GenAI Measures as a separate hit,
    # and 互联网信息服务深度合成管理规定 contains the alias 深度合成: one document each.
    assert analyse("《生成式人工智能服务安全基本要求》的语料安全要求", resolver).doc_ids == (TC260,)
    assert analyse("《互联网信息服务深度合成管理规定》第十条", resolver).doc_ids == (DEEP,)


def test_several_documents_in_order_of_appearance(resolver):
    analysis = analyse("个保法和AI Act对自动化决策的规定有什么不同？", resolver)
    assert analysis.named_in_question == (PIPL, EU_AI_ACT)


def test_no_document_named(resolver):
    analysis = analyse("深度伪造内容需要怎样处理才合规？", resolver)
    assert analysis.named_in_question == () and analysis.doc_ids == ()


def test_cybersecurity_law_resolves_to_the_text_in_force(resolver, retriever):
    docs = retriever.index.docs
    assert docs[CSL_2025].status == "in-force" and docs[CSL_2016].status == "revoked"
    assert docs[CSL_2025].title == docs[CSL_2016].title  # the same title: only the status tells them apart
    for question in (
        "网络安全法第二十一条",
        "《中华人民共和国网络安全法》关于等级保护的规定",
        "What does the Cybersecurity Law say about network operators?",
    ):
        analysis = analyse(question, resolver)
        assert analysis.doc_ids == (CSL_2025,), question
        assert not analysis.wants_old_version
    assert resolver.resolve_title("中华人民共和国网络安全法") == CSL_2025


def test_2016_cybersecurity_law_resolves_to_the_revoked_text(resolver):
    analysis = analyse("2016年网络安全法第二十一条怎么规定的？", resolver)
    assert analysis.doc_ids == (CSL_2016,)
    assert analysis.wants_old_version
    assert analyse("Cybersecurity Law 2016 Article 21", resolver).doc_ids == (CSL_2016,)


def test_current_version_wording_is_noticed(resolver):
    analysis = analyse("现行网络安全法第二十条讲了什么？", resolver)
    assert analysis.wants_current_version and not analysis.wants_old_version
    assert analysis.doc_ids == (CSL_2025,)


# ---- clause references ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, unit, kind, point",
    [
        ("第十七条", "第十七条", "cn-article", ""),
        ("第17条", "第十七条", "cn-article", ""),
        ("第 24 条", "第二十四条", "cn-article", ""),
        ("第一百零三条", "第一百零三条", "cn-article", ""),
        ("Article 50", "Article 50", "article", ""),
        ("Art. 5(1)(f)", "Article 5", "article", "(1)(f)"),
        ("article 5(1)(e)", "Article 5", "article", "(1)(e)"),
        ("Art 99", "Article 99", "article", ""),
        ("Article 17-2 of the Korean act", "Article 17-2", "article", ""),
        ("Article 86a of the AI Act", "Article 86a", "article", ""),  # an inserted article is another article
        ("Article 6bis", "Article 6", "article", ""),
        ("Annex III", "Annex III", "annex", ""),
        ("annex iv", "Annex IV", "annex", ""),
        ("Recital 27", "Recital 27", "recital", ""),
        ("recital (133)", "Recital 133", "recital", ""),
        ("GOVERN 1.2", "GOVERN 1.2", "outcome", ""),
        ("measure 2.11", "MEASURE 2.11", "outcome", ""),
        ("Sec. 4.2", "Sec. 4.2", "section", ""),
        ("Section 4.2", "Sec. 4.2", "section", ""),
        ("paragraph 7", "para 7", "para", ""),
        ("operative paragraph 7", "para 7", "para", ""),
        ("第3段", "para 3", "para", ""),
        ("Appendix B", "Appendix B", "appendix", ""),
        ("9.4 条", "9.4", "number", ""),
        ("A.2", "A.2", "number", ""),
    ],
)
def test_clause_references_parse(text, unit, kind, point):
    refs = parse_clause_refs(text)
    assert len(refs) == 1, refs
    ref = refs[0]
    assert (ref.unit, ref.kind, ref.point) == (unit, kind, point)
    assert ref.raw in text


@pytest.mark.parametrize(
    "text, units",
    [
        ("UN resolution 78/311 paragraphs 5, 6 and 9", ["para 5", "para 6", "para 9"]),
        ("Articles 9 to 11 and 15 of the AI Act", ["Article 9", "Article 10", "Article 11", "Article 15"]),
        ("Recitals 27 and 28", ["Recital 27", "Recital 28"]),
        ("paras. 3-4", ["para 3", "para 4"]),
        ("Articles 1 to 500", [f"Article {n}" for n in range(1, 21)]),  # a range is bounded
    ],
)
def test_listed_clause_references_parse_one_by_one(text, units):
    refs = parse_clause_refs(text)
    assert [r.unit for r in refs] == units
    assert all(r.listed for r in refs)


@pytest.mark.parametrize(
    "text",
    [
        "What do paragraphs 1 and 2 of Article 6 of the AI Act say?",
        "What does paragraph 3 of Article 50 require?",
    ],
)
def test_paragraphs_of_an_article_are_not_resolution_paragraphs(text):
    assert not [r for r in parse_clause_refs(text) if r.kind == "para"]


@pytest.mark.parametrize(
    "text, unit, kind",
    [
        ("欧盟AI法案附件十五列了什么？", "Annex XV", "annex"),
        ("AI法案附件3里有哪些领域", "Annex III", "annex"),
        ("TC260-003附录B有哪些内容", "Appendix B", "appendix"),
        ("治理框架第7部分讲了什么", "7", "part"),
        ("TC260-003第十二章", "12", "part"),
    ],
)
def test_a_chinese_annex_or_appendix_is_only_checked_for_existence(text, unit, kind):
    (ref,) = parse_clause_refs(text)
    assert (ref.unit, ref.kind, ref.lookup) == (unit, kind, False)
    assert parse_clause_refs("Annex III of the AI Act")[0].lookup
    assert [r.kind for r in parse_clause_refs("附录A.1列出的风险")] == ["number"]  # a numbered item, not the appendix
    assert parse_clause_refs("附件零") == []  # no annex 0
    assert [(r.unit, r.kind) for r in parse_clause_refs("Annex B of TC260-003")] == [("Appendix B", "appendix")]


def test_chinese_and_arabic_article_numbers_are_the_same_clause():
    assert parse_clause_refs("第十七条")[0].unit == parse_clause_refs("第17条")[0].unit


def test_several_references_in_one_question():
    refs = parse_clause_refs("Compare Article 50 of the AI Act with 深度合成规定第十七条 and GOVERN 1.2")
    assert [r.unit for r in refs] == ["第十七条", "Article 50", "GOVERN 1.2"]  # grouped by kind, as parsed


def test_dates_and_version_numbers_are_not_clause_numbers():
    assert parse_clause_refs("2023.07 发布的文件") == []
    assert parse_clause_refs("version 1.2.3.4 of the tool") == []


def test_article_point_is_not_mistaken_for_a_separate_clause():
    refs = parse_clause_refs("What does Article 5(1)(e) of the EU AI Act ban?")
    assert [(r.unit, r.point) for r in refs] == [("Article 5", "(1)(e)")]


@pytest.mark.parametrize("n", list(range(1, 130)))
def test_chinese_numerals_round_trip(n):
    assert cn_to_int(int_to_cn(n)) == n


def test_lookup_question_carries_document_and_reference(resolver):
    analysis = analyse("TC260-003 的 9.4 条讲的是什么？", resolver)
    assert analysis.doc_ids == (TC260,)
    assert [r.unit for r in analysis.clause_refs] == ["9.4"]


@pytest.mark.parametrize(
    "question, kept",
    [
        ("Spell out the rights in Art. 18 of Regulation 2019/1020 that AI Act GPAI providers can rely on.", []),
        ("Under the AI Act, how does GDPR Article 22 apply to high-risk systems?", []),
        ("What does Article 10 of the AI Act say about Article 9(1) of Regulation (EU) 2016/679?", ["Article 10"]),
        ("What does Article 18 of the AI Act require?", ["Article 18"]),
        ("Section 4.2 of Executive Order 14110: what must developers report?", ["Sec. 4.2"]),
    ],
)
def test_a_provision_of_another_instrument_is_not_looked_up_in_ours(resolver, question, kept):
    """ "Art. 18 of Regulation 2019/1020" is not Article 18 of the AI Act the question also names (it was looked up
    there and cited as the answer)."""
    analysis = analyse(question, resolver)
    assert EU_AI_ACT in analysis.doc_ids or "14110" in question
    assert [r.unit for r in analysis.clause_refs] == kept


def test_no_word_by_word_translations_where_the_collection_holds_the_questions_language(resolver):
    """The shared corpus has Chinese and English texts: the glossary translates its terms, the dictionary (for a
    collection in the other language only: tests/assistant/test_dictionary.py) stays out."""
    assert analyse("Can a platform refuse a refund?", resolver).translations == ()
    assert analyse("平台能拒绝退款吗？", resolver).translations == ()


# ---- things the corpus does not have ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, flagged",
    [
        ("《人工智能法》第三条规定了什么？", "人工智能法"),
        ("《人工智能生成内容版权保护办法》要求什么？", "人工智能生成内容版权保护办法"),
        ("GB/T 45654-2025 对训练数据有什么要求？", "GB/T 45654-2025"),
        ("依据GB/T 45654-2025的要求，训练数据要怎么处理？", "GB/T 45654-2025"),  # right after Chinese text
        ("What does ISO/IEC 42001 require for an AI management system?", "ISO/IEC 42001"),
    ],
)
def test_unknown_titles_and_standard_numbers_are_flagged(resolver, question, flagged):
    analysis = analyse(question, resolver)
    assert flagged in analysis.unknown_titles


@pytest.mark.parametrize(
    "question, flagged",
    [
        ("What is the maximum GDPR fine for a data breach?", "GDPR"),
        ("GDPR第22条规定了什么？", "GDPR"),
        ("欧盟通用数据保护条例对自动化决策有什么规定？", "通用数据保护条例"),
        ("Which obligations does the Digital Services Act put on very large platforms?", "Digital Services Act"),
        ("What did the Hiroshima Code of Conduct ask of AI developers?", "Hiroshima Code of Conduct"),
        ("What did the EU AI Pact signatories commit to?", "EU AI Pact"),
        ("Which goals does the Global Digital Compact set for data governance?", "Global Digital Compact"),
    ],
)
def test_instruments_named_in_words_outside_the_corpus_are_flagged(resolver, question, flagged):
    analysis = analyse(question, resolver)
    assert flagged in analysis.unknown_titles + analysis.unknown_if_unmentioned


@pytest.mark.parametrize(
    "question, flagged",
    [
        ("科技伦理审查办法（试行）里哪些活动需要专家复核？", "科技伦理审查办法"),
        ("关键信息基础设施安全保护条例规定了什么？", "关键信息基础设施安全保护条例"),
        ("我们公司按照网络安全等级保护条例要做什么？", "网络安全等级保护条例"),
        # a looser ending, used as a title (…里, …要求, …规定了)
        ("促进和规范数据跨境流动规定里，免于申报的条件是什么？", "促进和规范数据跨境流动规定"),
        ("数据出境安全评估办法要求提交哪些材料？", "数据出境安全评估办法"),
        ("个人信息出境标准合同办法规定了什么？", "个人信息出境标准合同办法"),
    ],
)
def test_chinese_titles_without_brackets_outside_the_corpus_are_flagged(resolver, question, flagged):
    assert analyse(question, resolver).unknown_titles == (flagged,)


@pytest.mark.parametrize(
    "question",
    [
        "网络数据条例对大型平台有什么要求？",  # a loose name of 网络数据安全管理条例
        "我们要遵守生成式人工智能服务管理暂行办法吗？",
        "根据深度合成管理规定，要做什么？",
        "个人信息保护相关规定有哪些？",
        "生成式AI做出来的图片要打标识，具体按哪部规定？",
        "算法备案的期限是怎么规定的？",
        "我们公司要制定内部的数据安全管理办法，法律有什么要求？",  # a company's own rules
        "根据公司数据分类分级管理办法，员工要做什么？",
        "网络安全法对此有什么规定？",  # 规定 as a word, not a title's ending
        "深度合成规定里对标识有什么要求？",  # a loose name of 深度合成管理规定
        "我们的行车记录仪会拍到路人，这些信息按条例怎么处理？",  # no title holds a demonstrative or preposition
        "重要数据在条例里是怎么定义的？",
    ],
)
def test_chinese_phrases_that_are_not_foreign_titles_are_not_flagged(resolver, question):
    assert analyse(question, resolver).unknown_titles == ()


def test_instrument_names_of_the_corpus_are_not_flagged_loose_names_too(resolver):
    for question in (
        "Under the Framework Convention, what must Parties do about remedies?",
        "What does the Framework Act say about high-impact AI?",
        "Which Act regulates deep fakes in the EU?",
        "Should an AI Bill of Materials be kept for each model?",
        "How should the Risk Management Process be documented?",
        "Is a regulatory sandbox something the Council of Europe Convention encourages?",  # ours, loosely named
        "Is a chatbot built on the Model Context Protocol a high-risk AI system?",  # a technical protocol
    ):
        analysis = analyse(question, resolver)
        assert analysis.unknown_titles == analysis.unknown_if_unmentioned == (), question


def test_an_instrument_named_beside_a_text_of_ours_is_part_of_a_question_about_ours(resolver):
    # the AI Act cites the Law Enforcement Directive as Directive (EU) 2016/680 only: not a text we lack
    analysis = analyse(
        "How does the AI Act interact with the Law Enforcement Directive for remote biometric identification?", resolver
    )
    assert analysis.named_in_question == (EU_AI_ACT,)
    assert analysis.unknown_titles == analysis.unknown_if_unmentioned == ()


@pytest.mark.parametrize(
    "question",
    [
        "What does the EU AI Act say about deep fakes?",
        "Does the Korean AI Basic Act apply to foreign companies?",
        "What does the Council of Europe Framework Convention require of parties?",
        "What did Executive Order 14110 ask of developers of dual-use foundation models?",
        "What did the Bletchley Declaration commit signatories to?",
        "How does the AI Act's top fine compare with the GDPR's?",  # names a corpus document: answered from it
    ],
)
def test_instrument_names_of_the_corpus_are_not_flagged(resolver, question):
    assert analyse(question, resolver).unknown_titles == ()


@pytest.mark.parametrize(
    "question",
    [
        "《个人信息保护法》第十三条",
        "《中华人民共和国个人信息保护法》第十三条",
        "《生成式人工智能服务管理暂行办法》第十七条",
        "《互联网信息服务算法推荐管理规定》第二十四条",
    ],
)
def test_known_titles_are_not_flagged(resolver, question):
    assert analyse(question, resolver).unknown_titles == ()


@pytest.mark.parametrize(
    "question",
    ["按照欧盟《人工智能法》，通用模型的训练算力达到多少会被推定为具有高影响能力？", "欧盟《人工智能法》第五十条"],
)
def test_a_title_qualified_by_its_jurisdiction_names_our_document(resolver, question):
    # 人工智能法 alone names nothing we hold; 欧盟《人工智能法》 is the EU AI Act (its name 欧盟人工智能法)
    analysis = analyse(question, resolver)
    assert analysis.unknown_titles == () and analysis.named_in_question == (EU_AI_ACT,)


@pytest.mark.parametrize("question", ["我国《人工智能法》对标识有什么要求？", "美国《国家人工智能倡议法》有什么要求？"])
def test_a_qualified_title_we_do_not_hold_is_still_unknown(resolver, question):
    assert analyse(question, resolver).unknown_titles


@pytest.mark.parametrize(
    "question, code",
    [
        ("What does Colorado's AI law require from developers of high-risk systems?", "US-CO"),
        ("What are the UK's rules for AI chatbots?", "UK"),
        ("英国对人工智能聊天机器人有什么规定？", "UK"),
        ("How does Texas regulate AI-generated election content?", "US-TX"),
        ("日本的人工智能法有哪些义务？", "JP"),
    ],
)
def test_jurisdictions_without_documents_are_flagged(resolver, question, code):
    analysis = analyse(question, resolver)
    assert code in analysis.foreign_jurisdictions
    assert analysis.jurisdictions == ()


@pytest.mark.parametrize(
    "question",
    [
        "新加坡的生成式AI治理框架对模型开发者有哪些测试要求？",  # Singapore's framework, not our 治理框架 / 生成式AI办法
        "Singapore's generative AI governance framework: what testing does it expect?",
        "Does the Colorado Artificial Intelligence Act cover insurers?",  # not the EU's "Artificial Intelligence Act"
        "Japan's AI Act: what does it require?",
    ],
)
def test_a_foreign_jurisdictions_own_instrument_is_not_one_of_ours(resolver, question):
    analysis = analyse(question, resolver)
    assert analysis.foreign_jurisdictions and analysis.jurisdictions == ()
    assert analysis.named_in_question == () and analysis.doc_ids == ()


@pytest.mark.parametrize(
    "question, name",
    [
        ("Under Japan's APPI, do we need consent before sending data to our processor in China?", "Japan's APPI"),
        ("What does New York's RAISE Act require from frontier model developers?", "New York's RAISE Act"),
        ("How do China's GenAI measures compare with the UK's proposed AI bill?", "the UK's proposed AI bill"),
        ("SB 53 versus Colorado's AI Act: which is stricter?", "Colorado's AI Act"),
        ("日本的个人信息保护法对向境外提供个人数据有什么要求？", "日本的个人信息保护法"),
        ("日本去年通过的AI推进法和韩国AI基本法比，罚则哪个更重？", "日本去年通过的AI推进法"),
        ("Canada's Bill C-27 aside, what does the EU AI Act say about general-purpose AI?", "Canada's Bill C-27"),
        ("印度DPDP与中国个人信息保护法在同意规则上有什么差异？", "印度DPDP"),
        ("What does New York City's bias-audit law require?", "New York City's bias-audit law"),
    ],
)
def test_a_foreign_jurisdictions_own_instrument_is_an_unknown_title(resolver, question, name):
    """An instrument a jurisdiction without documents owns is a text the corpus does not hold, also when the
    question names a covered jurisdiction or a document of ours beside it."""
    assert name in analyse(question, resolver).unknown_titles


@pytest.mark.parametrize(
    "question",
    [
        "Canada's law firm clients ask us: what does the AI Act say about deployers?",
        "Does Japan's approach differ from the EU AI Act?",
        "Japan's government adhered to the OECD AI principles; what do they say about transparency?",
        "日本的做法和中国的深度合成规定有什么不同？",
        "日本公司适用生成式AI办法吗？",
        "Does the EU AI Act apply to a Japanese company selling into the EU?",
        "Japan's automakers now follow AI Act rules too — what does Article 9 of the EU AI Act require?",
        "India's CEO wants to know whether the EU AI Act prohibits social scoring.",
        "Texas's ERCOT grid operator uses AI for load balancing: is that critical infrastructure under Annex III?",
        "Brazil's bill payments app uses an AI fraud detector: is that high-risk under the EU AI Act?",
        "英国法律顾问问我们欧盟人工智能法第五十条规定了哪些透明度义务？",
        "日本的算法团队开发了推荐系统，在中国上线前需要按算法推荐管理规定备案吗？",
        "印度的司法实践不谈，欧盟人工智能法第五条禁止了哪些人工智能实践？",
    ],
)
def test_a_foreign_jurisdiction_named_without_an_instrument_of_its_own_names_no_unknown_title(resolver, question):
    assert analyse(question, resolver).unknown_titles == ()


@pytest.mark.parametrize(
    "question, doc_id",
    [
        ("日本的AI指南和我国生成式AI办法有什么不同？", "cn-genai-interim-measures-2023"),
        ("Does Japan's approach differ from the EU AI Act?", "eu-ai-act-2024"),
        ("日本企业在欧盟AI法案下有什么义务？", "eu-ai-act-2024"),
        ("A Japanese company under the EU AI Act: what applies?", "eu-ai-act-2024"),
        ("日本公司适用生成式AI办法吗？", "cn-genai-interim-measures-2023"),
        ("英国公司的深度合成服务在中国要备案吗？", "cn-deep-synthesis-provisions-2022"),
        ("Is Colorado's AI Act stricter than the AI Act?", "eu-ai-act-2024"),  # the second mention is ours
    ],
)
def test_a_comparison_with_a_foreign_jurisdiction_keeps_our_document(resolver, question, doc_id):
    analysis = analyse(question, resolver)
    assert analysis.named_in_question == (doc_id,) and analysis.foreign_jurisdictions


@pytest.mark.parametrize(
    "question, code",
    [
        ("欧盟对深度伪造有什么透明度要求？", "EU"),
        ("Does the law in Germany require labelling deepfakes?", "EU"),  # member states count as the EU
        ("中国对生成式人工智能服务有哪些要求？", "CN"),
        ("What does Korea require from high-impact AI operators?", "KR"),
        ("What does California require from frontier AI developers?", "US-CA"),  # SB 53
    ],
)
def test_covered_jurisdictions_are_recognised(resolver, question, code):
    analysis = analyse(question, resolver)
    assert analysis.jurisdictions == (code,)
    assert analysis.foreign_jurisdictions == ()


@pytest.mark.parametrize(
    "question, jurisdictions, foreign",
    [
        ("我们是外企在华子公司，员工数据要传到新加坡总部，需要先做什么？", ("CN",), ("SG",)),  # 在华: in China
        ("我们在华盛顿州部署AI招聘工具，要遵守什么法律？", (), ("US-WA",)),  # not 在华
        ("在华盛顿特区的联邦机构使用人工智能有什么要求？", ("US",), ()),
    ],
)
def test_in_china_and_washington_are_told_apart(resolver, question, jurisdictions, foreign):
    analysis = analyse(question, resolver)
    assert analysis.jurisdictions == jurisdictions and analysis.foreign_jurisdictions == foreign


# ---- language, expansions, follow-ups -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, lang",
    [
        ("生成式人工智能服务提供者有哪些义务？", "zh"),
        ("What are the obligations of providers?", "en"),
        ("AI Act 第五十条讲了什么？", "zh"),
        ("What does 第十七条 of the GenAI measures require from providers of such services?", "en"),
    ],
)
def test_question_language(text, lang):
    assert question_language(text) == lang


def test_glossary_expands_across_languages():
    terms = expand_terms("What are the labelling rules for deep synthesis content?")
    assert "深度合成" in terms and "标识" in terms
    assert "algorithmic recommendation" in expand_terms("算法推荐服务提供者的义务")


@pytest.mark.parametrize(
    "question, term",
    [
        ("Must the virtual assistant on our website say it is not human?", "interact directly with natural persons"),
        ("We screen CVs with a model", "recruitment or selection of natural persons"),
        ("Can a bank use AI to approve loans?", "creditworthiness"),
        ("How do we retire an old model safely?", "decommission"),
    ],
)
def test_everyday_words_expand_to_the_terms_the_texts_use(question, term):
    assert term in expand_terms(question)


def test_english_expansions_do_not_flow_back():
    # the chatbot entry's right-hand side is this phrase; it must not turn a question into one about bots
    terms = expand_terms("Which AI systems interact directly with natural persons?")
    assert "chatbot" not in terms and "bot" not in terms


def test_one_way_entries_do_not_bring_everyday_words_into_chinese_questions():
    terms = expand_terms("关键信息基础设施运营者应当履行哪些义务？")  # the power-grid entry maps to 关键信息基础设施
    assert "critical information infrastructure" in terms  # a two-way entry
    assert "power grid" not in terms
    assert "police" not in expand_terms("网信部门执法时可以检查哪些内容？")


@pytest.mark.parametrize(
    "question",
    [
        "How does the AI Act promote innovation by SMEs?",
        "When can a provider resume supplying the system?",
        "Must credit institutions do anything special under the AI Act?",
    ],
)
def test_ordinary_words_do_not_expand_into_unrelated_situations(question):
    terms = expand_terms(question)
    assert not {"recruitment or selection of natural persons", "creditworthiness"} & set(terms), terms


def test_follow_up_carries_the_previous_document(resolver):
    history = [
        {"role": "user", "content": "算法推荐服务提供者需要备案吗？"},
        {"role": "assistant", "content": "需要，应当通过互联网信息服务算法备案系统填报备案信息。"},
    ]
    analysis = analyse("那不备案会怎么处罚？", resolver, history)
    assert analysis.is_follow_up
    assert analysis.doc_ids == (ALGO,) and analysis.named_in_question == ()
    assert "算法推荐服务提供者需要备案吗" in analysis.search_text
    assert analysis.question == "那不备案会怎么处罚？"


def test_standalone_question_with_history_is_not_a_follow_up(resolver):
    history = [{"role": "user", "content": "算法推荐服务提供者需要备案吗？"}]
    analysis = analyse("《生成式人工智能服务管理暂行办法》对训练数据的来源有哪些具体的合规要求？", resolver, history)
    assert not analysis.is_follow_up
    assert analysis.doc_ids == (GENAI,)
    assert analysis.search_text == analysis.question


LEAD_QUOTING_ANOTHER_TEXT = "提供者应当按照《互联网信息服务深度合成管理规定》对图片、视频等生成内容进行标识。[1]"


@pytest.mark.parametrize(
    "lead,framing",
    [
        (LEAD_QUOTING_ANOTHER_TEXT, "以下为《生成式人工智能服务管理暂行办法》第十二条的原文："),
        (LEAD_QUOTING_ANOTHER_TEXT, "根据《生成式人工智能服务管理暂行办法》第十二条的规定："),
        # a lead sentence that opens like a framing line is not one (it does not end with a colon)
        (
            "根据《互联网信息服务深度合成管理规定》，提供者应当对生成内容进行标识。[1]",
            "以下为《生成式人工智能服务管理暂行办法》第十二条的原文：",
        ),
    ],
)  # the line of today's answers, and of answers given before 2026-12-07 (a conversation may hold one)
def test_a_follow_up_takes_the_document_an_answer_was_given_from_not_one_its_lead_quotes(resolver, lead, framing):
    earlier = f"{lead}\n\n{framing}\n\n**《生成式人工智能服务管理暂行办法》**\n> 第十二条 … [1]"
    history = [{"role": "user", "content": "生成内容要做什么标识？"}, {"role": "assistant", "content": earlier}]
    analysis = analyse("那违反了怎么罚？", resolver, history)
    assert analysis.doc_ids == ("cn-genai-interim-measures-2023",)


def test_a_chinese_title_proves_a_text_absent_only_where_documents_have_chinese_names(resolver):
    """In a collection of English rulebooks a Chinese title is a translation no name can match (the question is
    left to the evidence); where documents have Chinese names, an unmatched 《…》 title is flagged."""
    from assistant.retrieval.documents import DocInfo, DocResolver

    question = "《2022年外国账户税收合规条例》自何时起生效？"
    english_only = DocResolver(
        [DocInfo(doc_id="fatca", title="Foreign Account Tax Compliance Regulations 2022", language="en")]
    )
    assert not english_only.names_documents_in_chinese
    assert analyse(question, english_only).unknown_titles == ()
    assert resolver.names_documents_in_chinese
    assert analyse(question, resolver).unknown_titles == ("2022年外国账户税收合规条例",)


def _local_rules_resolver():
    from assistant.retrieval.documents import DocInfo, DocResolver

    titles = {
        "zj-credit": "浙江省公共信用信息管理条例",
        "zj-ecommerce": "浙江省电子商务条例",
        "sh-data": "上海市数据条例",
        "ecommerce-law": "中华人民共和国电子商务法",
        "signature-law": "中华人民共和国电子签名法",
    }
    return DocResolver([DocInfo(doc_id=d, title=t, language="zh") for d, t in titles.items()])


@pytest.mark.parametrize(
    "question, doc_id",
    [
        ("浙江公共信用条例第十四条规定了什么？", "zj-credit"),
        ("浙江电商条例中的“电子商务经营者”涵盖哪些主体？", "zj-ecommerce"),
        ("根据上海数据条例，公共数据怎么开放？", "sh-data"),
        ("《上海数据条例》第五条讲了什么？", "sh-data"),
        ("电商法对平台经营者有什么要求？", "ecommerce-law"),
        ("上海的数据条例对公共数据开放怎么规定？", "sh-data"),  # a place's own, named with 的
        ("我们要不要按电签法做可靠签名？", "signature-law"),
    ],
)
def test_a_shortened_chinese_title_names_the_one_document_it_shortens(question, doc_id):
    analysis = analyse(question, _local_rules_resolver())
    assert analysis.doc_ids == (doc_id,) and analysis.unknown_titles == ()


@pytest.mark.parametrize(
    "question, flagged",
    [
        ("浙江数据条例对公共数据有什么规定？", "浙江数据条例"),  # 数据 is in no Zhejiang title held
        ("上海电商条例第五条讲了什么？", "上海电商条例"),
        ("杭州公共信用办法第三条规定了什么？", "杭州公共信用办法"),  # another place, another kind of instrument
        ("重庆的数据条例有没有要求企业设首席数据官？", "重庆数据条例"),
        ("北京市的数字经济促进条例对数据交易场所是怎么规定的？", "北京市数字经济促进条例"),
    ],
)
def test_a_name_that_shortens_no_title_held_is_still_unknown(question, flagged):
    analysis = analyse(question, _local_rules_resolver())
    assert analysis.doc_ids == () and analysis.unknown_titles == (flagged,)


def test_a_court_interpretation_named_by_its_topic_names_the_one_whose_title_holds_it():
    from assistant.retrieval.documents import DocInfo, DocResolver

    titles = {
        "face": "最高人民法院关于审理使用人脸识别技术处理个人信息相关民事案件适用法律若干问题的规定",
        "consumer": "最高人民法院关于审理网络消费纠纷案件适用法律若干问题的规定（一）",
        "sh-data": "上海市数据条例",
    }
    resolver = DocResolver([DocInfo(doc_id=d, title=t, language="zh") for d, t in titles.items()])
    assert analyse("人脸识别司法解释第二十条怎么规定？", resolver).doc_ids == ("face",)
    assert analyse("网络消费纠纷这部司法解释里直播带货怎么算？", resolver).doc_ids == ("consumer",)
    assert analyse("数据条例相关的司法解释有哪些？", resolver).doc_ids == ()  # no court text's title holds it


def test_a_short_name_that_fits_two_titles_names_neither():
    assert _local_rules_resolver().find_shortened("电子法有什么要求") == []  # 电子商务法 or 电子签名法


@pytest.mark.parametrize(
    "question",
    [
        "我们公司处理数据需要遵守哪些数据法规？",  # 数据 + 法: a word and a kind of text, not 数据安全法
        "个人信息法律责任有哪些？",
        "网络法规对平台有什么要求？",
        "电商法律方面要注意什么？",  # 法 opens 法律
    ],
)
def test_words_followed_by_a_kind_of_text_are_not_shortened_titles(resolver, question):
    assert analyse(question, resolver).doc_ids == ()


@pytest.mark.parametrize(
    "question", ["外省市的相关规定是否适用？", "各城市的数据管理办法有何不同？", "本市的实施办法有哪些？"]
)
def test_words_that_are_not_places_do_not_make_a_place_title(question):
    assert analyse(question, _local_rules_resolver()).unknown_titles == ()


def test_a_local_regulation_passed_by_a_peoples_congress_is_chinese():
    from ingest.loaders import infer_jurisdiction

    body = "2021年6月29日 深圳市第七届人民代表大会常务委员会第二次会议通过\n\n第一条 为了规范数据处理活动……"
    assert infer_jurisdiction("深圳经济特区数据条例", body) == "CN"


@pytest.mark.parametrize(
    "text, units",
    [
        (
            "违反本法第二十七条、第二十九条、第三十条规定的，由有关主管部门责令改正",
            {"第二十七条": {""}, "第二十九条": {""}, "第三十条": {""}},
        ),
        ("依照本条例第十条第二款和第十三条的规定", {"第十条": {"二"}, "第十三条": {""}}),
        ("违反本法第二十四条第一款、第二款的", {"第二十四条": {"一", "二"}}),
        ("违反本法第四十三条至第四十五条规定的", {"第四十三条": {""}, "第四十四条": {""}, "第四十五条": {""}}),
        (
            "obligations of providers pursuant to Article 16; (f) pursuant to Article 31, Article 33(1), (3) and (4)",
            {"Article 16": {""}, "Article 31": {""}, "Article 33": {"1"}},
        ),
        (
            "other than those laid down in Articles 5, 16 and 26(1) to 28",
            {"Article 5": {""}, "Article 16": {""}, "Article 26": {"1"}, "Article 27": {""}, "Article 28": {""}},
        ),
        ("as provided in Sections 3 and 4.2", {"Section 3": {""}, "Section 4.2": {""}}),
        ("the penalties are set out in paragraph 2", {}),
    ],
)
def test_units_a_clause_cites_by_number(text, units):
    """The articles a clause refers to, lists and ranges included, each with the paragraphs it names ("" for the
    whole article): (3) and (4) after Article 33(1) are not counted as articles."""
    assert units_cited(text) == units


@pytest.mark.parametrize(
    "question, penalty",
    [
        ("And if we simply don't appoint one, what's our exposure?", True),
        ("What happens if we just don't bother appointing one?", True),
        ("如果我们不做标识会怎样？", True),
        ("Can we send a partial report first if we don't have all the facts yet?", False),
        ("如果我们不做个性化推荐，还需要提供关闭算法推荐的选项吗？", False),
        ("Is our exposure to the high-risk obligations reduced if we only deploy the system?", False),
        ("What must a provider disclose to users?", False),
    ],
)
def test_what_happens_if_we_do_not_comply_asks_for_the_penalty(resolver, question, penalty):
    assert ("penalty" in analyse(question, resolver).intents) is penalty
