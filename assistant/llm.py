"""Generative mode: any OpenAI-compatible chat endpoint (DeepSeek, Qwen/DashScope, Ollama, vLLM, llama.cpp
server) through langchain-openai.

The LLM sees only the retrieved clauses, numbered and delimited as data. After generation every ``[n]`` is
checked against the supplied clauses: invalid numbers are removed and flagged; an answer left with no valid
citation is replaced by the extractive answer. Endpoint errors and timeouts fall back to the extractive
answer with a notice. Tokens are streamed.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from html import escape

from common.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

PROMPTS_DIR = PROJECT_ROOT / "prompts"
_CITATION = re.compile(r"\[(\d{1,3})\]")


def first_paragraph(text: str) -> str:
    """The lead of a generated answer: its first paragraph (the prompt asks the model to answer first)."""
    for block in re.split(r"\n\s*\n", text.strip()):
        if block.strip() and not block.lstrip().startswith(("|", ">", "#")):
            return block.strip()
    return ""


def load_prompt(name: str) -> str:
    return (PROMPTS_DIR / name).read_text(encoding="utf-8")


def check_citations(text: str, valid: set[int]) -> tuple[str, list[int], list[int]]:
    """(text with invalid [n] removed, valid numbers cited in order, invalid numbers found)."""
    cited, invalid = [], []

    def keep_or_drop(m: re.Match) -> str:
        n = int(m.group(1))
        if n in valid:
            if n not in cited:
                cited.append(n)
            return m.group(0)
        if n not in invalid:
            invalid.append(n)
        return ""

    cleaned = _CITATION.sub(keep_or_drop, text)
    cleaned = re.sub(r"[ \t]+([。，；,.;])", r"\1", cleaned)
    return cleaned, cited, invalid


class CitationStreamFilter:
    """Drops invalid ``[n]`` marks from streamed text as it arrives (a mark may be split across chunks), and
    the blank before a dropped mark when punctuation follows it ("see [9]." -> "see.")."""

    _PUNCTUATION = set("。，；：！？、,.;:!?)）")

    def __init__(self, valid: set[int]) -> None:
        self.valid = valid
        self.pending = ""  # an unfinished "[1" waiting for its "]"
        self.blanks = ""  # blanks not yet shown: they are dropped if a removed mark and punctuation follow
        self.dropped = False  # a mark was just removed

    def _emit(self, out: list[str], ch: str) -> None:
        if ch in " \t":
            self.blanks += ch
            return
        if not (self.dropped and ch in self._PUNCTUATION):
            out.append(self.blanks)
        self.blanks = ""
        self.dropped = False
        out.append(ch)

    def feed(self, delta: str) -> str:
        text, out = self.pending + delta, []
        self.pending = ""
        i = 0
        while i < len(text):
            if text[i] != "[":
                self._emit(out, text[i])
                i += 1
                continue
            m = re.match(r"\[(\d{0,3})(\]?)", text[i:])
            if m.end() == len(text) - i and not m.group(2) and len(m.group(1)) < 3:
                self.pending = text[i:]  # "[", "[1": wait for the rest
                break
            if m.group(2) and m.group(1):  # a complete [n]
                if int(m.group(1)) in self.valid:
                    for ch in m.group(0):
                        self._emit(out, ch)
                else:
                    self.dropped = True
                i += m.end()
            else:
                self._emit(out, "[")
                i += 1
        return "".join(out)

    def flush(self) -> str:
        rest = ("" if self.dropped else self.blanks) + self.pending
        self.pending = self.blanks = ""
        return rest


class LLMGenerator:
    def __init__(self, settings: Settings) -> None:
        from langchain_openai import ChatOpenAI

        self.settings = settings
        self.model_name = settings.llm_model
        self.chat = ChatOpenAI(
            base_url=settings.llm_base_url, model=settings.llm_model,
            api_key=settings.llm_api_key or "not-needed", timeout=settings.llm_timeout_s, max_retries=0,
            temperature=settings.llm_temperature, streaming=True,
        )

    # -- follow-ups ------------------------------------------------------------------------------------------
    def rewrite(self, question: str, history: list[dict]) -> str | None:
        """A standalone version of a follow-up question, or None when the endpoint fails."""
        from langchain_core.messages import HumanMessage

        turns = "\n".join(f"{h['role']}: {h['content'][:1500]}" for h in history[-4:])
        prompt = load_prompt("rewrite.md").format(history=turns, question=question)
        try:
            reply = self.chat.invoke([HumanMessage(content=prompt)])
        except Exception as exc:  # endpoint down, timeout, malformed reply
            log.warning("LLM rewrite failed: %s", exc)
            return None
        text = str(reply.content or "").strip().strip('"').strip()
        return text if 0 < len(text) < 2000 else None

    # -- answers ---------------------------------------------------------------------------------------------
    def messages(self, question: str, history: list[dict], language: str, citations,
                 sides: list[str] | None = None) -> list:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        sources = "\n".join(
            f'<source id="{c.n}" label="{escape(c.label)}" status="{escape(c.status)}">\n{escape(c.quote, quote=False)}\n</source>'
            for c in citations)
        lang = "zh" if language == "zh" else "en"
        system = load_prompt(f"answer_{lang}.md").format(sources=sources)
        if sides:  # a comparison: the answer is organised per side (prompts/compare_*.md)
            system += load_prompt(f"compare_{lang}.md").format(sides=("、" if lang == "zh" else ", ").join(sides))
        out = [SystemMessage(content=system)]
        for h in history[-6:]:
            out.append(HumanMessage(content=h["content"]) if h["role"] == "user" else AIMessage(content=h["content"]))
        out.append(HumanMessage(content=question))
        return out

    def stream_answer(self, service, question: str, history: list[dict], language: str, result, timings: dict,
                      t0: float, notices: list[str]) -> Iterator:
        from assistant.answer import Answer

        clauses = service.cited_clauses(result)
        citations = [service._citation(n, c, language) for n, c in enumerate(clauses, 1)]
        parts: list[str] = []
        shown = CitationStreamFilter({c.n for c in citations})
        visible: list[str] = []  # what the user has seen: the reply with invalid [n] removed
        t_llm = time.perf_counter()
        failure = None
        try:
            sides = service.side_names(result, language)
            for chunk in self.chat.stream(self.messages(question, history, language, citations, sides)):
                delta = chunk.content if isinstance(chunk.content, str) else ""
                if delta:
                    parts.append(delta)
                    piece = shown.feed(delta)
                    if piece:
                        visible.append(piece)
                        yield piece
        except Exception as exc:  # connection refused, timeout, HTTP error, malformed payload
            failure = f"{type(exc).__name__}: {str(exc)[:200]}"
            log.warning("LLM endpoint failed: %s", failure)
        timings["llm_ms"] = round((time.perf_counter() - t_llm) * 1000, 1)

        raw = "".join(parts).strip()
        fallback_reason = None
        if failure:
            fallback_reason = (f"大模型接口出错或超时（{failure}），以下为原文摘录式回答。" if language == "zh"
                               else f"The LLM endpoint failed ({failure}); this is the extractive answer.")
        elif not raw:
            fallback_reason = ("大模型未返回内容，以下为原文摘录式回答。" if language == "zh"
                               else "The LLM returned no text; this is the extractive answer.")
        else:
            _, cited, invalid = check_citations(raw, {c.n for c in citations})
            if invalid:
                notices.append(("已删除无效引用编号：" if language == "zh" else "Removed invalid citation numbers: ")
                               + ", ".join(str(n) for n in invalid))
            if not cited:
                fallback_reason = ("大模型的回答没有有效引用，以下为原文摘录式回答。" if language == "zh"
                                   else "The LLM answer had no valid citation; this is the extractive answer.")
            else:
                tail = shown.flush()
                if tail:
                    visible.append(tail)
                    yield tail
                if notices:  # after the streamed reply, so that the deltas add up to the final text
                    block = "\n\n" + "\n".join(f"> ⚠ {n}" for n in notices)
                    visible.append(block)
                    yield block
                timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
                final = "".join(visible)
                yield Answer(question=question, text=final, citations=[c for c in citations if c.n in cited],
                             refused=False, mode=f"generative:{self.model_name}", language=language,
                             timings=timings, notices=notices, retrieved=result.clauses,
                             lead=first_paragraph(final))
                return
        notices.append(fallback_reason)
        text, citations, lead = service.compose_extractive(result, language)
        text = "\n".join(f"> ⚠ {n}" for n in notices) + "\n\n" + text
        yield "\n\n" + text if parts else text
        timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        yield Answer(question=question, text=text, citations=citations, refused=False, mode="extractive",
                     language=language, timings=timings, notices=notices, retrieved=result.clauses, lead=lead)
