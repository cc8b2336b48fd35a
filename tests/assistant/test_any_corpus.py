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
