"""The notices the answer service adds when generative mode does not give the answer it was asked for, or when the
corpus covers only part of a question (shown as ``> ⚠ …`` lines and listed in ``Answer.notices``)."""

from __future__ import annotations


def no_endpoint(language: str) -> str:
    return (
        "No LLM endpoint is configured (llm_base_url, llm_model): extractive answer."
        if language == "en"
        else "未配置大模型接口（llm_base_url、llm_model），以下为原文摘录式回答。"
    )


def llm_failed(language: str, failure: str) -> str:
    return (
        f"大模型接口出错或超时（{failure}），以下为原文摘录式回答。"
        if language == "zh"
        else f"The LLM endpoint failed ({failure}); this is the extractive answer."
    )


def llm_empty(language: str) -> str:
    return (
        "大模型未返回内容，以下为原文摘录式回答。"
        if language == "zh"
        else "The LLM returned no text; this is the extractive answer."
    )


def llm_uncited(language: str) -> str:
    return (
        "大模型的回答没有有效引用，以下为原文摘录式回答。"
        if language == "zh"
        else "The LLM answer had no valid citation; this is the extractive answer."
    )


def invalid_citations(language: str, numbers: list[int]) -> str:
    return ("已删除无效引用编号：" if language == "zh" else "Removed invalid citation numbers: ") + ", ".join(
        str(n) for n in numbers
    )


def uncovered_part(language: str, part: str, reason: str) -> str:
    """A part of the question that the guard declines when it is asked on its own, with the guard's reason."""
    reason = reason.strip().rstrip("。.")
    return (
        f"语料库未涵盖问题的这一部分：“{part}”（{reason}）。以下回答只涉及问题的其余部分。"
        if language == "zh"
        else f"The corpus does not cover this part of the question: “{part}” ({reason}). "
        "The answer below covers the rest."
    )
