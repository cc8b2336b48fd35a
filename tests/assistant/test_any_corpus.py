"""A user's own collection, ingested as plain files without our front matter or catalog: an unknown jurisdiction
is never taken as proof that the corpus lacks a jurisdiction (issue 12: every English question about such a
collection was declined as 'no regulation text for that jurisdiction')."""

from __future__ import annotations

RULES = """# 网络交易平台经营规则（测试文件）

第一条 为了规范网络交易平台经营活动，制定本规则。

第二条 平台经营者应当在首页显著位置持续公示营业执照信息和行政许可信息。

第三条 平台经营者不得利用服务协议限制平台内经营者的合法交易。
"""


def test_an_uncatalogued_text_of_unknown_jurisdiction_answers_questions_naming_a_country(collection_of):
    from assistant.answering.service import AnswerService

    service = AnswerService(collection_of("platform-rules", {"platform-rules.md": RULES}))
    info = service.retriever.index.docs["platform-rules"]
    assert info.title == "网络交易平台经营规则（测试文件）" and info.jurisdiction == ""
    answer = service.answer("In China, what must an online trading platform show on its home page?")
    assert not answer.refused, answer.text
    assert "第二条" in {c.unit for c in answer.citations}
    # a named instrument the collection does not hold is still declined
    assert service.answer("What does the GDPR say about platforms?").refused


CREDIT_RULES = """# 浙江省公共信用信息管理条例

第一条 为了规范公共信用信息管理，推进社会信用体系建设，制定本条例。

第二条 本省行政区域内公共信用信息的归集、披露、使用及其管理活动，适用本条例。

本条例所称公共信用信息，是指国家机关在履行职能过程中产生的反映信息主体信用状况的数据和资料。

第三条 公共信用信息管理应当遵循合法、安全、及时、准确的原则。

第四条 县级以上人民政府应当加强对公共信用信息管理工作的领导。

第五条 公共信用信息提供单位应当按照公共信用信息目录归集公共信用信息。

第六条 不良信息的披露期限为五年，自不良行为终止之日起计算。
"""


def test_a_question_naming_a_user_text_by_a_shortened_title_asking_what_a_term_means(collection_of):
    """浙江公共信用条例 is the user's 浙江省公共信用信息管理条例 (it was declined as a text the corpus does not hold), and
    the answer to what 公共信用信息 means is the scope article that defines it, first."""
    from assistant.answering.service import AnswerService

    service = AnswerService(collection_of("credit-rules", {"浙江省公共信用信息管理条例(2017-09-30).md": CREDIT_RULES}))
    answer = service.answer("浙江公共信用条例里说的“公共信用信息”是什么意思？")
    assert not answer.refused, answer.text
    assert answer.citations[0].unit == "第二条"
    # a clause it does not have is declined as missing from that text, not answered from another clause
    assert service.answer("浙江公共信用条例第九十条规定了什么？").refusal_kind == "missing-clause"
    index = service.retriever.index
    defining = {index.metas[r]["unit"] for r in index.rows_defining("什么是公共信用信息？").nonzero()[0]}
    assert defining == {"第二条"}
    assert not index.rows_defining("公共信用信息由谁归集？").any()  # the term, but not its meaning, is asked about
    assert not index.rows_defining("什么是公共信用信息的披露期限？").any()  # nor here
    assert not index.rows_defining("公共信用信息").any()  # a bare term is not quoted


INTERPRETATION = """# 最高人民法院关于审理网络侵权纠纷案件适用法律若干问题的规定

2014年6月23日 最高人民法院审判委员会第1621次会议通过

2020年12月23日 最高人民法院审判委员会第1823次会议通过

第一条 本规定所称的网络侵权纠纷案件，是指利用信息网络侵害他人人身权益引起的纠纷案件。

第二条 网络服务提供者收到有效通知后，应当及时采取删除、屏蔽、断开链接等必要措施。

第三条 人民法院认定网络服务提供者是否知道侵权行为，应当综合考虑其管理能力等因素。
"""


def test_a_user_text_dated_by_its_own_history_declines_its_earlier_wording_and_particular_cases(collection_of):
    """A court's interpretation adopted in 2014 and amended in 2020, as a plain file: what it says is answered;
    its 2014 wording, a later amendment and a particular case are not in it."""
    from assistant.answering.service import AnswerService

    service = AnswerService(collection_of("interpretation", {"网络侵权规定.md": INTERPRETATION}))
    info = service.retriever.index.docs["网络侵权规定"]
    assert (info.issued, info.amended_year) == ("2014-06-23", 2020)
    answer = service.answer("网络侵权规定里，网络服务提供者收到通知后要采取哪些措施？")
    assert not answer.refused and answer.citations[0].unit == "第二条", answer.text
    assert service.answer("网络侵权规定2014年最初版本的第二条是怎么写的？").refusal_kind == "older-version"
    assert service.answer("网络侵权规定2023年修正后第二条改成什么了？").refusal_kind == "newer-version"
    assert service.answer("张某诉某网站网络侵权纠纷案二审怎么判的？").refusal_kind == "events"
    # what courts do under the text is the text's to say
    assert not service.answer("法院怎么认定网络服务提供者知道侵权行为？").refused
