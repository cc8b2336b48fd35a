"""The LLM endpoint as ingest uses it (``regqa ingest --enrich``): any OpenAI-compatible chat endpoint from the
settings (``llm_base_url``, ``llm_model``, ``llm_api_key``), one prompt in, its text out."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr

from common.settings import PROJECT_ROOT, Settings

ENRICHMENT_PROMPT = PROJECT_ROOT / "prompts" / "enrich_unit.md"


class EnrichmentUnavailable(RuntimeError):
    """``--enrich`` without an endpoint configured."""


def enrichment_prompt() -> str:
    return ENRICHMENT_PROMPT.read_text(encoding="utf-8")


def endpoint_ask(settings: Settings) -> Callable[[str], str]:
    if not (settings.llm_base_url and settings.llm_model):
        raise EnrichmentUnavailable(
            "--enrich needs an LLM endpoint: set REGQA_LLM_BASE_URL and REGQA_LLM_MODEL "
            "(any OpenAI-compatible server: DeepSeek, Qwen, Ollama, vLLM, llama.cpp)"
        )
    from langchain_core.messages import HumanMessage
    from langchain_openai import ChatOpenAI  # imported here: it takes seconds and only --enrich needs it

    chat = ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=SecretStr(settings.llm_api_key or "not-needed"),
        timeout=settings.llm_timeout_s,
        max_retries=0,  # a unit without a usable reply is tried again at the next --enrich
        temperature=settings.llm_temperature,
    )

    def ask(prompt: str) -> str:
        return str(chat.invoke([HumanMessage(content=prompt)]).content or "")

    return ask
