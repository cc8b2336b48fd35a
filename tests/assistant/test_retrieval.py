"""Hybrid retrieval on the real full-corpus index: clause lookup, document routing, cross-lingual search,
revoked versions, filters, cross-references and the LangChain retriever."""

from __future__ import annotations

import re

import pytest
from corpus_ids import ALGO, CSL_2016, CSL_2025, DEEP, EU_AI_ACT, GENAI, NIST_RMF, PIPL, TC260
from langchain_core.documents import Document
from support.chunk_keys import PUBLIC_CHUNK_KEYS

from assistant.retrieval import ClauseRetriever, Filters, RetrievalResult, default_policy

PASSAGE_MAX_CHARS_ZH = default_policy().diversity.passage_max_chars["zh"]
PASSAGE_MAX_CHARS_EN = default_policy().diversity.passage_max_chars["en"]
NDSR = "cn-network-data-security-regulations-2024"
EO_14110 = "us-eo-14110-2023"
UN_78_311 = "un-ga-res-78-311-2024"


def ranked(result: RetrievalResult):
    """The fused ranking (cross-referenced clauses are appended after it, unranked)."""
    return [c for c in result.clauses if "cross_reference" not in c.signals]


def first_rank(result: RetrievalResult, doc_id: str, k: int | None = None) -> int | None:
    for rank, c in enumerate(ranked(result)[:k], 1):
        if c.doc_id == doc_id:
            return rank
    return None


# ---- the shape of a result ---------------------------------------------------------------------------------------


def test_result_is_ranked_and_bounded(retriever):
    result = retriever.run("生成式人工智能服务提供者应当履行哪些义务？", k=7)
    main = ranked(result)
    assert 0 < len(main) <= 7
    scores = [c.score for c in main]
    assert scores == sorted(scores, reverse=True)
    assert all(c.score > 0 for c in main)
    assert len({c.chunk_id for c in result.clauses}) == len(result.clauses)  # no clause twice
    for c in result.clauses:  # each clause is indexed chunks in order (the ranked one's metadata)
        i = retriever.index.position[c.chunk_id]
        assert i in c.rows and c.text == "\n\n".join(retriever.index.texts[r] for r in c.rows)
        assert (c.doc_id, c.unit) == (c.meta["doc_id"], c.meta["unit"])
        units = list(dict.fromkeys(retriever.index.metas[r]["unit"] for r in c.rows))
        if len(units) == 1:  # pieces of one unit: named by the unit, one piece by its locator
            assert c.locator == (c.meta["locator"] if len(c.rows) == 1 else c.unit) and c.own_text == c.text
        else:  # a short numbered provision with its siblings (6.6.1–6.6.4): named by their range
            assert c.locator == f"{units[0]}–{units[-1]}" and c.unit in units
            assert c.own_text in c.text and len(c.own_text) < len(c.text)
    assert {"analyse_ms", "keyword_ms", "dense_ms", "retrieve_ms"} <= set(result.timings)
    assert 0.0 <= result.keyword_coverage <= 1.0
    assert 0.0 < result.top_dense_similarity <= 1.0


# ---- direct clause lookup ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, doc_id, unit",
    [
        ("《生成式人工智能服务管理暂行办法》第十七条", GENAI, "第十七条"),
        ("生成式AI办法第17条讲了什么？", GENAI, "第十七条"),
        ("EU AI Act Article 50", EU_AI_ACT, "Article 50"),
        ("Annex III of the AI Act", EU_AI_ACT, "Annex III"),
        ("Recital 27 of the AI Act", EU_AI_ACT, "Recital 27"),
        ("GOVERN 1.2 in the NIST AI RMF", NIST_RMF, "GOVERN 1.2"),
        ("TC260-003 的 9.4 条", TC260, "9.4"),
        ("What does Sec. 4.2 of Executive Order 14110 require?", EO_14110, "Sec. 4.2"),
        ("What does paragraph 3 of resolution 78/311 say?", UN_78_311, "para 3"),
        ("《网络数据安全管理条例》第二条", NDSR, "第二条"),
    ],
)
def test_named_clause_is_rank_1(retriever, question, doc_id, unit):
    result = retriever.run(question)
    top = result.clauses[0]
    assert (top.doc_id, top.unit) == (doc_id, unit)
    assert top.signals.get("lookup") == 1
    assert result.lookup_hits and {(c.doc_id, c.unit) for c in result.lookup_hits} == {(doc_id, unit)}
    assert result.missing_refs == []
    # the question asks for the unit and nothing else: every piece of a long unit is found, and the first passage
    # given is the whole unit, its pieces in order
    pieces = retriever.index.rows_of_unit(doc_id, unit)
    assert len(result.lookup_hits) == len(pieces)
    assert list(top.rows) == pieces
    assert top.text == "\n\n".join(retriever.index.texts[r] for r in pieces)
    assert top.locator == unit or len(pieces) == 1


def test_a_unit_mentioned_in_a_question_about_something_else_is_not_given_whole(retriever):
    question = (
        "Our Annex III system only performs a narrow procedural task such as sorting files. "
        "Could it escape the high-risk classification?"
    )
    result = retriever.run(question)
    pieces = retriever.index.rows_of_unit(EU_AI_ACT, "Annex III")
    top = ranked(result)
    assert (top[0].doc_id, top[0].unit) == (EU_AI_ACT, "Annex III")
    given = [r for c in top if c.unit == "Annex III" for r in c.rows]
    assert 0 < len(given) < len(pieces)  # the rest stay in lookup_hits
    assert sum(len(retriever.index.texts[r]) for r in top[0].rows) <= PASSAGE_MAX_CHARS_EN
    assert (EU_AI_ACT, "Article 6") in [(c.doc_id, c.unit) for c in top[:3]]  # 6(3): the narrow-task derogation


def test_a_ranked_piece_is_given_with_its_neighbours_within_the_unit(retriever):
    result = retriever.run("Which information must the EU database registration of a high-risk system contain?")
    index = retriever.index
    for c in ranked(result):
        pieces = index.rows_of_unit(c.doc_id, c.unit)
        assert index.position[c.chunk_id] in c.rows  # the ranked piece is inside its passage
        assert list(c.rows) == pieces[pieces.index(c.rows[0]) : pieces.index(c.rows[0]) + len(c.rows)]  # in order
        assert c.text == "\n\n".join(index.texts[r] for r in c.rows)
        limit = PASSAGE_MAX_CHARS_ZH if index.language_of[c.rows[0]] == "zh" else PASSAGE_MAX_CHARS_EN
        assert len(c.rows) == 1 or sum(len(index.texts[r]) for r in c.rows) <= limit
    given = [r for c in ranked(result) for r in c.rows]
    assert len(given) == len(set(given))  # no piece given twice
    assert any(len(c.rows) > 1 for c in ranked(result))


def test_article_point_is_found_within_its_article(retriever):
    result = retriever.run("What does Article 5(1)(e) of the AI Act prohibit?")
    assert (result.clauses[0].doc_id, result.clauses[0].unit) == (EU_AI_ACT, "Article 5")
    holding_e = [c for c in result.lookup_hits if "untargeted scraping of facial images" in c.text]
    assert holding_e and holding_e[0].locator.startswith("Article 5(1)")


def test_article_point_puts_the_paragraph_piece_first(retriever):
    result = retriever.run("What does Article 5(1)(e) of the AI Act prohibit?")
    assert result.clauses[0].locator.startswith("Article 5(1)"), [c.locator for c in result.clauses[:3]]
    assert len(result.clauses[0].rows) == 1  # the point asked for is given alone, not inside a passage


def test_unnamed_document_clause_number_is_not_guessed(retriever):
    # 第十七条 exists in many documents: without a document name it is not a lookup.
    result = retriever.run("第十七条讲了什么？")
    assert result.lookup_hits == [] and result.missing_refs == []
    assert len({c.doc_id for c in ranked(result)}) > 1


def test_nonexistent_clause_of_a_named_document_is_reported_missing(retriever):
    assert len(retriever.index.docs[GENAI].units & {f"第{n}条" for n in ("二十四", "二十五")}) == 1
    result = retriever.run("《生成式人工智能服务管理暂行办法》第三十条规定了什么？")
    assert result.lookup_hits == []
    assert [(doc_id, ref.unit) for doc_id, ref in result.missing_refs] == [(GENAI, "第三十条")]
    en = retriever.run("What does Article 30 of the Generative AI Measures say?")
    assert [(doc_id, ref.raw) for doc_id, ref in en.missing_refs] == [(GENAI, "Article 30")]


# ---- document routing and cross-lingual search ------------------------------------------------------------------


def test_named_document_comes_first(retriever):
    result = retriever.run("个保法对自动化决策有什么要求？")
    assert result.clauses[0].doc_id == PIPL
    assert (result.clauses[0].doc_id, result.clauses[0].unit) == (PIPL, "第二十四条")


@pytest.mark.parametrize(
    "question",
    [
        "How must deep synthesis content be labelled in China?",
        "What must Chinese deep synthesis service providers do to label synthetic content?",
    ],
)
def test_english_question_finds_chinese_deep_synthesis_clauses(retriever, question):
    result = retriever.run(question)
    rank = first_rank(result, DEEP, 5)
    assert rank is not None, [(c.doc_id, c.unit) for c in result.clauses[:5]]


@pytest.mark.parametrize(
    "question",
    [
        "欧盟对深度伪造内容有什么透明度义务？",
        "欧盟人工智能法对高风险人工智能系统的提供者有什么义务？",
        "欧盟对高风险人工智能系统的人类监督有什么要求？",
    ],
)
def test_chinese_question_finds_eu_ai_act_clauses(retriever, question):
    result = retriever.run(question)
    assert first_rank(result, EU_AI_ACT, 5) is not None, [(c.doc_id, c.unit) for c in result.clauses[:5]]


def test_chinese_question_on_deepfake_transparency_finds_article_50(retriever):
    result = retriever.run("欧盟对深度伪造内容有什么透明度义务？")
    assert any((c.doc_id, c.unit) == (EU_AI_ACT, "Article 50") for c in ranked(result)[:3])


# ---- framing clauses: definitions and scope ---------------------------------------------------------------------


def test_definition_lists_and_scope_articles_are_recognised(retriever):
    index = retriever.index

    def flags(doc_id, unit):
        rows = index.rows_of_unit(doc_id, unit)
        assert rows, (doc_id, unit)
        return {(bool(index.roles.definitions[r]), bool(index.roles.scope[r])) for r in rows}

    assert flags(DEEP, "第二十三条") == {(True, False)}
    assert flags(GENAI, "第二十二条") == {(True, False)}
    assert flags(EU_AI_ACT, "Article 3") == {(True, False)}  # every piece of a long definitions article
    assert flags(GENAI, "第二条") == {(False, True)}
    assert flags(EU_AI_ACT, "Article 2") == {(False, True)}
    for doc_id, unit in ((DEEP, "第十七条"), (GENAI, "第七条"), (EU_AI_ACT, "Article 50"), (NIST_RMF, "GOVERN 1.7")):
        assert flags(doc_id, unit) == {(False, False)}, (doc_id, unit)


@pytest.mark.parametrize(
    "question, doc_id, unit",
    [
        ("深度合成规定中的深度合成服务技术支持者是什么意思？", DEEP, "第二十三条"),
        ("What does 'provider' mean under the AI Act?", EU_AI_ACT, "Article 3"),
        ("生成式AI办法适用于哪些服务？", GENAI, "第二条"),
        ("Does the AI Act apply to AI systems used only for military purposes?", EU_AI_ACT, "Article 2"),
    ],
)
def test_a_question_about_meaning_or_scope_gets_the_framing_clause(retriever, question, doc_id, unit):
    top = ranked(retriever.run(question))[0]
    assert (top.doc_id, top.unit) == (doc_id, unit)


@pytest.mark.parametrize(
    "question, doc_id, framing_unit",
    [
        ("深度合成服务技术支持者应当履行哪些义务？", DEEP, "第二十三条"),
        ("生成式AI办法对提供者的训练数据有什么要求？", GENAI, "第二条"),
    ],
)
def test_other_questions_rank_operative_clauses_above_framing_ones(retriever, question, doc_id, framing_unit):
    top = ranked(retriever.run(question))[:3]
    assert top and top[0].doc_id == doc_id
    assert framing_unit not in {c.unit for c in top if c.doc_id == doc_id}


@pytest.mark.parametrize(
    "question, doc_id, unit",
    [
        ("Must a virtual assistant on our website disclose that it is an AI?", EU_AI_ACT, "Article 50"),
        ("We use software to rank job candidates for roles in Spain. Is that high-risk?", EU_AI_ACT, "Annex III"),
        ("How should we switch off an AI system safely under the NIST RMF?", NIST_RMF, "GOVERN 1.7"),
        ("Must our staff who operate AI have adequate skills under the AI Act?", EU_AI_ACT, "Article 4"),
        (
            "韩国AI基本法要求境外企业指定代理人吗？",
            "kr-ai-framework-act-2025-en",
            "Article 36",
        ),  # 代理人 -> domestic agent
    ],
)
def test_everyday_english_finds_the_regulated_situation(retriever, question, doc_id, unit):
    top = [(c.doc_id, c.unit) for c in ranked(retriever.run(question))[:3]]
    assert (doc_id, unit) in top, top


@pytest.mark.parametrize(
    "question",
    [
        "From when do the AI Act's prohibitions apply?",  # Article 5 is in Chapter II; Article 113(a) dates Chapter II
        "When do the rules on general-purpose AI models start to apply?",  # Chapter V; Article 113(b)
    ],
)
def test_when_a_chapter_applies_is_answered_by_the_final_provision_naming_it(retriever, question):
    top = ranked(retriever.run(question))[0]
    assert (top.doc_id, top.unit) == (EU_AI_ACT, "Article 113")


def test_a_question_that_does_not_ask_when_keeps_the_substantive_clause_first(retriever):
    top = ranked(retriever.run("Which AI practices does the AI Act prohibit?"))[0]
    assert (top.doc_id, top.unit) == (EU_AI_ACT, "Article 5")


# ---- revoked versions ---------------------------------------------------------------------------------------------


def test_version_neutral_question_prefers_the_text_in_force(retriever):
    result = retriever.run("网络安全等级保护制度有哪些要求？", k=60)
    current, old = first_rank(result, CSL_2025), first_rank(result, CSL_2016)
    assert current is not None
    assert old is None or current < old
    assert result.clauses[0].doc_id != CSL_2016


def test_revoked_text_scores_lower_than_the_same_words_in_force(retriever):
    # Article 21 (2016) and Article 23 (2025) are the same graded-protection clause; unasked-for, the revoked
    # one is down-weighted.
    result = retriever.run("网络运营者应当按照网络安全等级保护制度的要求履行哪些安全保护义务？", k=60)
    by_doc = {}
    for c in ranked(result):
        by_doc.setdefault(c.doc_id, c)
    assert CSL_2025 in by_doc and CSL_2016 in by_doc
    assert by_doc[CSL_2025].score > by_doc[CSL_2016].score
    assert by_doc[CSL_2016].revoked and not by_doc[CSL_2025].revoked


@pytest.mark.parametrize(
    "question",
    [
        "2016年网络安全法原文关于网络安全等级保护制度的规定",
        "2016年网络安全法第二十一条",
        "What did Article 21 of the Cybersecurity Law 2016 require?",
    ],
)
def test_asking_for_the_2016_original_puts_it_first(retriever, question):
    result = retriever.run(question)
    assert result.analysis.wants_old_version or result.analysis.doc_ids == [CSL_2016]
    assert result.clauses[0].doc_id == CSL_2016, [(c.doc_id, c.unit) for c in result.clauses[:3]]


@pytest.mark.parametrize(
    "question",
    [
        "网络安全法2016年原文关于网络安全等级保护制度是怎么规定的？",
        "2016年原文的网络安全法对网络安全等级保护制度怎么规定？",
    ],
)
def test_asking_for_the_2016_original_in_other_words_puts_it_first(retriever, question):
    result = retriever.run(question)
    assert result.analysis.wants_old_version
    assert result.clauses[0].doc_id == CSL_2016, [(c.doc_id, c.unit) for c in result.clauses[:3]]


# ---- filters -------------------------------------------------------------------------------------------------------


def test_jurisdiction_filter(retriever):
    question = "What transparency obligations apply to AI-generated content?"
    unfiltered = retriever.run(question)
    assert {c.meta["jurisdiction"] for c in unfiltered.clauses} - {"EU"}  # the filter has something to remove
    result = retriever.run(question, filters={"jurisdiction": ["EU"]})
    assert result.clauses and all(c.meta["jurisdiction"] == "EU" for c in result.clauses)


def test_document_filter(retriever):
    result = retriever.run("How must synthetic content be labelled?", filters={"doc_id": [DEEP, GENAI]})
    assert result.clauses and {c.doc_id for c in result.clauses} <= {DEEP, GENAI}


def test_status_filter_excludes_revoked_texts_even_when_named(retriever):
    result = retriever.run("2016年网络安全法第二十一条", filters={"status": ["in-force"]})
    assert result.clauses
    assert all(c.status == "in-force" for c in result.clauses)
    assert CSL_2016 not in {c.doc_id for c in result.clauses}
    assert result.lookup_hits == []


def test_filter_applies_to_lookups(retriever):
    result = retriever.run("《生成式人工智能服务管理暂行办法》第十七条", filters=Filters(doc_ids=(DEEP,)))
    assert result.lookup_hits == []
    assert result.missing_refs == []  # the clause exists, it is only filtered out
    assert all(c.doc_id == DEEP for c in result.clauses)


def test_filters_combine(retriever):
    result = retriever.run("数据处理者的安全保护义务", filters={"jurisdiction": "CN", "status": ["in-force"]}, k=20)
    assert result.clauses
    assert all(c.meta["jurisdiction"] == "CN" and c.status == "in-force" for c in result.clauses)


def test_filters_of_accepts_the_usual_shapes():
    assert Filters.of(None) == Filters()
    assert not Filters.of({"jurisdiction": [], "doc_id": []})
    f = Filters.of({"jurisdiction": "EU", "doc_id": ["a", "b"], "status": "in-force"})
    assert f == Filters(jurisdictions=("EU",), doc_ids=("a", "b"), statuses=("in-force",))
    assert Filters.of({"jurisdictions": ["CN"]}) == Filters(jurisdictions=("CN",))


# ---- cross-references ---------------------------------------------------------------------------------------------


def _xrefs(result: RetrievalResult):
    return [c for c in result.clauses if c.signals.get("cross_reference")]


def test_same_document_cross_references_are_pulled_in(retriever):
    # 第三十一条 punishes breaches of 本规定第七条、第八条、第九条第一款…
    result = retriever.run("《互联网信息服务算法推荐管理规定》第三十一条")
    citing = result.lookup_hits[0]
    xrefs = _xrefs(result)
    assert xrefs, "no cross-referenced clause"
    assert len(xrefs) <= 3
    main_ids = {c.chunk_id for c in ranked(result)}
    for c in xrefs:
        assert c.doc_id == ALGO
        assert c.unit in citing.text  # the citing clause names it
        assert c.chunk_id not in main_ids
        assert c.score == 0.0
    assert result.clauses[-len(xrefs) :] == xrefs  # appended after the ranking
    # the first three clauses the text names (in its order), less those the ranking already holds
    named = [
        u
        for u in dict.fromkeys(f"第{n}条" for n in re.findall(r"第([一二三四五六七八九十]+)条", citing.text))
        if u != citing.unit
    ]
    in_ranking = {c.unit for c in ranked(result) if c.doc_id == ALGO}
    assert [c.unit for c in xrefs] == [u for u in named[:3] if u not in in_ranking]


def test_cross_references_to_another_named_document(retriever):
    # 《网络数据安全管理条例》第二十六条: "依照《中华人民共和国个人信息保护法》第五十三条规定…"
    result = retriever.run("《网络数据安全管理条例》第二十六条")
    assert "《中华人民共和国个人信息保护法》第五十三条" in result.lookup_hits[0].text
    assert [(c.doc_id, c.unit) for c in _xrefs(result)] == [(PIPL, "第五十三条")]


def test_reference_to_a_whole_document_pulls_in_its_clauses(retriever):
    result = retriever.run("《生成式人工智能服务管理暂行办法》第十二条")
    assert "按照《互联网信息服务深度合成管理规定》" in result.lookup_hits[0].text
    assert any(c.doc_id == DEEP for c in _xrefs(result))


# ---- the LangChain retriever -----------------------------------------------------------------------------------------


def test_langchain_retriever_returns_documents_with_metadata(retriever):
    lc = ClauseRetriever(engine=retriever, k=5)
    docs = lc.invoke("EU AI Act Article 50")
    assert docs and all(isinstance(d, Document) for d in docs)
    main = [d for d in docs if not d.metadata["signals"].get("cross_reference")]
    assert len(main) == 5
    top = docs[0]
    assert (top.metadata["doc_id"], top.metadata["unit"]) == (EU_AI_ACT, "Article 50")
    for key in (*PUBLIC_CHUNK_KEYS, "score", "signals"):
        assert key in top.metadata, key
    expected = retriever.run("EU AI Act Article 50", k=5).clauses[:5]  # k documents: cross-references only if room
    assert [d.id for d in docs] == [c.chunk_id for c in expected]
    assert [d.page_content for d in docs] == [c.text for c in expected]
    assert [d.metadata["score"] for d in docs] == [c.score for c in expected]


def test_langchain_retriever_applies_filters_and_batches(retriever):
    lc = ClauseRetriever(engine=retriever, k=4, filters=Filters(jurisdictions=("CN",)))
    batches = lc.batch(["How must deep synthesis content be labelled?", "What are the duties of providers?"])
    assert len(batches) == 2
    for docs in batches:
        assert docs and all(d.metadata["jurisdiction"] == "CN" for d in docs)
    assert re.search(r"深度合成", " ".join(d.metadata["title"] for d in batches[0]))


# ---- noticing another process's ingest ------------------------------------------------------------------------------


def test_index_reloads_once_per_newly_published_fingerprint(index_copy):
    from assistant.retrieval import ClauseIndex

    settings = index_copy.settings.with_overrides(index_refresh_s=0.0)
    index = ClauseIndex(settings)
    reloads = []
    original = index.refresh
    index.refresh = lambda: reloads.append(1) or original()
    assert index.refresh_if_changed() is False  # what we loaded is what is published
    index.store.publish_fingerprint("published-by-another-process")
    index.refresh_if_changed()
    index.refresh_if_changed()
    index.refresh_if_changed()
    assert len(reloads) == 1  # one reload for the new value, not one per check while the values differ
    index.store.publish_fingerprint("and-again")
    index.refresh_if_changed()
    assert len(reloads) == 2


@pytest.mark.parametrize("follow_up", ["那违反了怎么罚？", "那违反了会受到什么处罚？"])
def test_colloquial_penalty_follow_up_finds_the_liability_clause_of_a_text_without_a_liability_chapter(
    service, follow_up
):
    """The labelling measures have no 法律责任 chapter: their liability clause is the one that opens with
    违反本办法规定的 (第十三条); '怎么罚' asks for penalties as much as '处罚' does."""
    first = "人工智能生成合成内容标识办法要求对生成内容做什么标识？"
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": service.answer(first).text}]
    answer = service.answer(follow_up, history=history)
    assert (answer.citations[0].doc_id, answer.citations[0].unit) == (
        "cn-ai-content-labeling-measures-2025",
        "第十三条",
    ), [c.label for c in answer.citations]


@pytest.mark.parametrize(
    "first, follow_up, expected",
    [
        (
            "数据安全法第三十条要求重要数据的处理者做什么？",
            "要是一直不做，会被怎么罚？",
            ("cn-data-security-law-2021", "第四十五条"),
        ),
        (
            "What does Article 50 of the EU AI Act require from providers of chatbots?",
            "And if a provider ignores that, what fine can it get?",
            ("eu-ai-act-2024", "Article 99"),
        ),
    ],
)
def test_penalty_follow_up_leads_with_the_liability_clause_citing_the_obligation(service, first, follow_up, expected):
    """'What if we don't?' after an obligation: the answer is the liability clause that cites that article by
    number (数据安全法第四十五条 cites 第三十条, Article 99(4)(g) cites Article 50), not the obligation again."""
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": service.answer(first).text}]
    answer = service.answer(follow_up, history=history)
    assert (answer.citations[0].doc_id, answer.citations[0].unit) == expected, [c.label for c in answer.citations]


def test_penalty_for_a_named_article_cites_the_liability_clause_too(service):
    """'违反第二十七条会被罚多少？' names the obligation; the fine is in 第四十五条, which cites it."""
    answer = service.answer("违反数据安全法第二十七条的数据安全保护义务会被罚多少？")
    units = [(c.doc_id, c.unit) for c in answer.citations]
    assert units[:2] == [("cn-data-security-law-2021", "第四十五条"), ("cn-data-security-law-2021", "第二十七条")], (
        units
    )
    assert "五十万元" in answer.text


def test_liability_clauses_citing_different_paragraphs_of_the_obligation_are_not_lifted(service):
    """网络安全法第六十二条 cites 第二十四条第一款、第二款, 第七十一条 its 第三款: which one answers a question about
    第二十四条 is not known from the citation, so neither is put above it."""
    answer = service.answer("网络产品、服务的提供者收集用户信息前没有向用户明示并取得同意，要承担什么法律责任？")
    units = [c.unit for c in answer.citations]
    assert units[0] != "第六十二条", units


def test_penalty_question_without_an_obligation_found_keeps_the_liability_clause_it_asked_for(service):
    """A question asked straight at a liability clause is unchanged: PIPL's 第六十六条 (fines up to 五千万元)."""
    answer = service.answer("违反个人信息保护法，情节严重的最高罚款是多少？")
    assert (answer.citations[0].doc_id, answer.citations[0].unit) == (
        "cn-personal-information-protection-law-2021",
        "第六十六条",
    ), [c.label for c in answer.citations]


def test_dense_search_is_exact_and_respects_the_mask(retriever):
    """The dense candidates are the true nearest clauses (Chroma's HNSW search is approximate and ranked differently
    in two processes over one index), and a mask limits them to its rows."""
    import numpy as np

    index = retriever.index
    got = index.store.collection.get(ids=index.ids, include=["embeddings"])
    stored = dict(zip(got["ids"], got["embeddings"]))
    matrix = np.asarray([stored[cid] for cid in index.ids], dtype=np.float64)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    vector = retriever.embedder.embed_query("deployers must disclose deep fakes")
    truth = matrix @ (np.asarray(vector, dtype=np.float64) / np.linalg.norm(vector))
    rows, sims = retriever.nearest(vector, None, 200)
    assert len(rows) == 200 and set(rows) == set(np.argsort(-truth)[:200].tolist())
    assert all(abs(sims[r] - truth[r]) < 1e-4 for r in rows)
    only_cn = index.jurisdiction_of == "CN"
    masked, _ = retriever.nearest(vector, only_cn, 50)
    assert masked and all(only_cn[r] for r in masked)
    assert set(masked) == set(np.flatnonzero(only_cn)[np.argsort(-truth[only_cn])[:50]].tolist())
