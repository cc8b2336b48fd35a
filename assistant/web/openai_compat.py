"""``POST /v1/chat/completions``, OpenAI-compatible, streamed (SSE, ``sse-starlette``) or not. The content starts
with the answer's lead; citations are numbered Markdown footnotes in the content and structured in the extra
field ``citations`` (non-stream: on the response; stream: on the last chunk before ``[DONE]``). Model
``generative…`` selects LLM mode; the extra field ``as_of`` (YYYY-MM-DD) the date citations are checked on."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

from assistant.answering.models import (
    Answer,
    InvalidAsOf,
    InvalidQuestion,
    as_of_date,
    recent_history,
    validate_question,
)
from assistant.answering.service import AnswerService
from assistant.security import safe_link
from assistant.web.answering import too_slow, within_budget
from assistant.web.dependencies import Context, Service, json_body
from assistant.web.errors import ApiError
from common.settings import Settings
from ingest.store import IndexUnavailable

router = APIRouter()


class ContentPart(BaseModel):
    type: str = "text"
    text: str | None = None


class ChatMessage(BaseModel):
    role: str
    content: str | list[ContentPart] | None = None


class ChatRequest(BaseModel):
    model: str | None = None
    messages: list[ChatMessage]
    stream: bool = False
    filters: dict[str, str | list[str] | None] | None = None  # e.g. {"jurisdiction": ["CN"]}
    as_of: str | None = None  # extra field: YYYY-MM-DD (default today)


@dataclass(frozen=True)
class Completion:
    """One chat completion being answered: what to ask the answer service, and the response's identity."""

    question: str
    history: list[dict]
    mode: str | None
    as_of: date
    id: str
    created: int
    model: str


def _text_of(content: str | list[ContentPart] | None) -> str:
    if isinstance(content, list):
        return "".join(part.text or "" for part in content if part.type == "text")
    return content or ""


def footnotes(answer: Answer) -> str:
    if not answer.citations:
        return ""
    lines = ["", ""] + [
        f"[^{c.n}]: {c.label}" + (f" <{safe_link(c.source_url)}>" if safe_link(c.source_url) else "")
        for c in answer.citations
    ]
    return "\n".join(lines)


def completion_of(body: ChatRequest, settings: Settings) -> Completion:
    """The question (the last message, which must be the user's), its history and options; 400 when invalid."""
    turns = [{"role": m.role, "content": _text_of(m.content)} for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user":
        raise ApiError(400, "the last message must come from the user", "invalid_request")
    # a chat client sends the whole conversation with every question and cannot shorten it: the oldest turns beyond
    # the history limits are dropped, as the web UI and the bots do (POST /v1/ask, whose caller sends what it
    # chooses, refuses a longer history with a 400)
    question = turns[-1]["content"]
    history = recent_history(turns[:-1], settings.max_history_turns, settings.max_history_chars)
    mode = "generative" if body.model and body.model.startswith("generative") else None
    created, completion_id = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
    try:
        as_of = as_of_date(body.as_of)
    except InvalidAsOf as exc:
        raise ApiError(400, str(exc), "invalid_as_of") from exc
    try:
        validate_question(question)
    except InvalidQuestion as exc:
        raise ApiError(400, str(exc), "invalid_question") from exc
    return Completion(question, history, mode, as_of, completion_id, created, body.model or "regqa")


def completion_body(completion: Completion, answer: Answer) -> dict:
    return {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": answer.text + footnotes(answer)},
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": [c.to_dict() for c in answer.citations],
        "refused": answer.refused,
    }


def chunk(completion: Completion, delta: dict, finish: str | None = None, extra: dict | None = None) -> str:
    """One ``chat.completion.chunk``, as the data of one server-sent event."""
    payload = {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if extra:
        payload.update(extra)
    return json.dumps(payload, ensure_ascii=False)


def stream_chunks(completion: Completion, events: Iterator[str | Answer]) -> Iterator[str]:
    """The streamed text as chunks, then the footnotes (and the final text when a fallback replaced what was
    streamed), a last chunk with the citations, and ``[DONE]``."""
    yield chunk(completion, {"role": "assistant", "content": ""})
    final = None
    streamed = ""
    for event in events:
        if isinstance(event, Answer):
            final = event
        else:
            streamed += event
            yield chunk(completion, {"content": event})
    if final is not None:
        tail = footnotes(final)
        if final.text != streamed:  # a fallback replaced what was streamed
            tail = "\n\n" + final.text + tail if not streamed.endswith(final.text) else tail
        if tail:
            yield chunk(completion, {"content": tail})
        yield chunk(
            completion, {}, "stop", {"citations": [c.to_dict() for c in final.citations], "refused": final.refused}
        )
    yield "[DONE]"


async def streamed_completion(
    completion: Completion, service: AnswerService, filters, settings: Settings
) -> EventSourceResponse:
    # Retrieval runs before the first byte, so an unavailable index is still a proper 503.
    try:
        events = service.stream(completion.question, completion.history, filters, completion.mode, completion.as_of)
        first = await asyncio.wait_for(asyncio.to_thread(next, events), timeout=settings.request_timeout_s)
    except IndexUnavailable as exc:
        raise ApiError(503, str(exc), "index_unavailable") from exc
    except TimeoutError as exc:
        raise too_slow(settings) from exc
    # "data: …" and a blank line per chunk, as before: "\n" line ends, no keep-alive comments
    return EventSourceResponse(stream_chunks(completion, itertools.chain([first], events)), sep="\n", ping=0)


@router.post("/v1/chat/completions")
async def chat_completions(
    body: Annotated[ChatRequest, Depends(json_body(ChatRequest))], service: Service, context: Context
):
    completion = completion_of(body, context.settings)
    if body.stream:
        return await streamed_completion(completion, service, body.filters, context.settings)
    answer = await within_budget(
        context.settings,
        service.answer,
        completion.question,
        completion.history,
        body.filters,
        completion.mode,
        completion.as_of,
    )
    return completion_body(completion, answer)
