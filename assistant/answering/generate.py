"""Generation: text from any OpenAI-compatible chat endpoint (DeepSeek, Qwen/DashScope, Ollama, vLLM, llama.cpp
server) through langchain-openai.

``LLMGenerator.stream(question, history, language, citations, sides)`` yields the model's text deltas for an answer
written from the offered citations only (numbered and delimited as data in the prompt); ``rewrite`` returns a
standalone version of a follow-up question. Nothing else happens here: errors propagate to the caller, and the
answer service checks the [n] marks, falls back to the extractive answer and builds the ``Answer``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from html import escape

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import SecretStr

from assistant.answering.models import Citation
from assistant.answering.policy import policy
from common.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

PROMPTS_DIR = PROJECT_ROOT / "prompts"


def load_prompt(name: str) -> str:
    return (PROMPTS_DIR / name).read_text(encoding="utf-8")


def answer_messages(
    question: str, history: list[dict], language: str, citations: list[Citation], sides: list[str] | None = None
) -> list[BaseMessage]:
    """The rules (``prompts/answer_*.md``) with the citations as ``<source>`` blocks, the comparison rules when
    there are sides (``prompts/compare_*.md``), the last turns of the conversation, then the question."""
    sources = "\n".join(
        f'<source id="{c.n}" label="{escape(c.label)}" status="{escape(c.status)}">\n'
        f"{escape(c.quote, quote=False)}\n</source>"
        for c in citations
    )
    lang = "zh" if language == "zh" else "en"
    system = load_prompt(f"answer_{lang}.md").format(sources=sources)
    if sides:  # a comparison: the answer is organised per side
        system += load_prompt(f"compare_{lang}.md").format(sides=("、" if lang == "zh" else ", ").join(sides))
    out: list[BaseMessage] = [SystemMessage(content=system)]
    for h in history[-policy().answer_turns :]:
        out.append(HumanMessage(content=h["content"]) if h["role"] == "user" else AIMessage(content=h["content"]))
    out.append(HumanMessage(content=question))
    return out


class LLMGenerator:
    def __init__(self, settings: Settings) -> None:
        # imported here, not at the top: langchain-openai takes seconds to import and only generative mode needs it
        from langchain_openai import ChatOpenAI

        self.settings = settings
        self.model_name = settings.llm_model
        self.chat = ChatOpenAI(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=SecretStr(settings.llm_api_key or "not-needed"),
            timeout=settings.llm_timeout_s,
            max_retries=0,
            temperature=settings.llm_temperature,
            streaming=True,
        )

    def rewrite(self, question: str, history: list[dict]) -> str | None:
        """A standalone version of a follow-up question, or None when the endpoint fails."""
        p = policy()
        turns = "\n".join(f"{h['role']}: {h['content'][: p.rewrite_turn_chars]}" for h in history[-p.rewrite_turns :])
        prompt = load_prompt("rewrite.md").format(history=turns, question=question)
        try:
            reply = self.chat.invoke([HumanMessage(content=prompt)])
        except Exception as exc:  # endpoint down, timeout, malformed reply
            log.warning("LLM rewrite failed: %s", exc)
            return None
        text = str(reply.content or "").strip().strip('"').strip()
        return text if 0 < len(text) < p.rewrite_max_chars else None

    def stream(
        self,
        question: str,
        history: list[dict],
        language: str,
        citations: list[Citation],
        sides: list[str] | None = None,
    ) -> Iterator[str]:
        """The model's answer as it arrives: non-empty text deltas. Endpoint errors and timeouts raise."""
        for chunk in self.chat.stream(answer_messages(question, history, language, citations, sides)):
            delta = chunk.content if isinstance(chunk.content, str) else ""
            if delta:
                yield delta
