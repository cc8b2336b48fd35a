"""When to say "the corpus does not cover this" instead of answering.

Two kinds of reasons:
- what the question names is not in the corpus: a jurisdiction no document covers, a document title or
  standard number that is not indexed, a clause number the named document does not have, an amendment
  newer than the text we hold, enforcement facts about a company, or statistics — regulation texts do not
  contain those;
- weak evidence: nothing named, and the retrieved clauses are neither semantically close nor cover the
  question's keywords (thresholds in settings, calibrated on the dev set).
Each reason is a sentence in the question's language, shown to the user.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from common.settings import Settings
from assistant.query import QueryAnalysis
from assistant.retrieval import RetrievalResult

_COMPANIES = re.compile(
    r"\b(openai|google|alphabet|meta|facebook|microsoft|apple|amazon|anthropic|tiktok|bytedance|nvidia|"
    r"baidu|alibaba|tencent|huawei|deepseek|x\.ai|xai|mistral|clearview)\b|字节跳动|抖音|百度|阿里巴巴|阿里|腾讯|华为|"
    r"深度求索|美团|滴滴|拼多多|京东", re.I)
_ENFORCEMENT = re.compile(r"\b(fined?|fines|penali[sz]ed|sanction(ed)?|enforcement|investigat\w*|lawsuit|sued)\b|"
                          r"罚了|处罚了|被罚|约谈|立案|执法", re.I)
_STATISTICS = re.compile(
    r"\bhow many\b.*\b(cases|companies|firms|fines|providers|models|enforcement|signator\w*|times)\b|"
    r"\bwhich (companies|firms|providers)\b.*\b(signed|joined|fined|registered|filed)\b|\bso far\b|"
    r"多少(起|家|个案例|件)|多少(款|个|家|批)[^，。？?]{0,12}(备案|上线|下架|通过|获批|登记|被罚)|"
    r"哪些(公司|企业|厂商)(已经|已)?(签署|备案|被罚)|截至目前|迄今|到目前为止|到现在为止", re.I)
_AMENDMENT = re.compile(r"\bamend\w*|\bomnibus\b|\brevis\w*|修订|修正|修改|新版|新办法|新规", re.I)
_YEAR = re.compile(r"(?<!\d)(20[2-4]\d)(?!\d)")


@dataclass(frozen=True)
class RefusalDecision:
    refused: bool
    reason: str = ""
    kind: str = ""  # foreign-jurisdiction, unknown-document, missing-clause, newer-version, events, weak-evidence


def _say(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def decide(result: RetrievalResult, settings: Settings, doc_years: dict[str, int],
           titles: dict[str, str]) -> RefusalDecision:
    a: QueryAnalysis = result.analysis
    lang = a.language
    if result.missing_refs:
        doc_id, ref = result.missing_refs[0]
        title = titles.get(doc_id, doc_id)
        return RefusalDecision(True, _say(lang, f"语料库中的{title}没有{ref.raw}这一条款。",
                                          f"{title} in the corpus has no {ref.raw}."), "missing-clause")
    if a.unknown_titles:
        names = "、".join(a.unknown_titles) if lang == "zh" else ", ".join(a.unknown_titles)
        return RefusalDecision(True, _say(lang, f"语料库中没有{names}的文本。",
                                          f"The corpus does not contain the text of {names}."), "unknown-document")
    if a.foreign_jurisdictions and not a.jurisdictions and not a.named_in_question:
        names = ", ".join(a.foreign_jurisdictions)
        return RefusalDecision(True, _say(lang, f"语料库中没有涉及该法域（{names}）的法规文本。",
                                          f"The corpus has no regulation text for that jurisdiction ({names})."),
                               "foreign-jurisdiction")
    if _COMPANIES.search(a.question) and _ENFORCEMENT.search(a.question):
        return RefusalDecision(True, _say(lang, "语料库只收录法规文本，不包含针对具体企业的执法或处罚记录。",
                                          "The corpus holds regulation texts only, not enforcement decisions "
                                          "about particular companies."), "events")
    if _STATISTICS.search(a.question):
        return RefusalDecision(True, _say(lang, "语料库只收录法规文本，不包含执法统计、签署名单等事实数据。",
                                          "The corpus holds regulation texts only, not statistics, "
                                          "signatory lists or other facts about what happened since."), "events")
    if _AMENDMENT.search(a.question):
        asked_years = [int(y) for y in _YEAR.findall(a.question)]
        for doc_id in a.named_in_question:
            held = doc_years.get(doc_id)
            if held and asked_years and max(asked_years) > held:
                title = titles.get(doc_id, doc_id)
                return RefusalDecision(True, _say(
                    lang, f"语料库中的{title}是{held}年的文本，不包含{max(asked_years)}年的修订。",
                    f"The corpus holds the {held} text of {title}; it does not contain a "
                    f"{max(asked_years)} amendment."), "newer-version")
    if not result.clauses:
        return RefusalDecision(True, _say(lang, "语料库中没有找到相关条款。", "No relevant clause was found in the corpus."),
                               "weak-evidence")
    named_something = bool(a.doc_ids or result.lookup_hits)
    if not named_something and result.top_dense_similarity < settings.refusal_min_similarity and \
            result.keyword_coverage < settings.refusal_min_coverage:
        return RefusalDecision(True, _say(lang, "语料库中没有足够相关的条款来回答这个问题。",
                                          "The corpus does not contain clauses that answer this question."),
                               "weak-evidence")
    return RefusalDecision(False)
