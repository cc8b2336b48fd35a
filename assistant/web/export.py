"""``POST /v1/export`` {turns: [{question, answer}], format: markdown|docx} -> the conversation as a file, as an
attachment (``assistant.export``; 422 for a malformed conversation)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel

from assistant.export import InvalidExport, conversation_docx, conversation_markdown
from assistant.web.dependencies import Context, json_body
from assistant.web.errors import ApiError

router = APIRouter()
MAX_EXPORT_BODY = 20 * 1024 * 1024
EXPORT_TYPES = {
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
}


class ExportRequest(BaseModel):
    turns: list[dict]  # [{"question": str, "answer": Answer.to_dict()}]
    format: Literal["markdown", "docx"] = "markdown"


@router.post("/v1/export")
async def export(body: Annotated[ExportRequest, Depends(json_body(ExportRequest, MAX_EXPORT_BODY))], context: Context):
    now = datetime.now().astimezone()
    max_turns = context.settings.export_max_turns
    try:
        if body.format == "docx":
            content = await asyncio.to_thread(conversation_docx, body.turns, now, max_turns)
        else:
            content = (await asyncio.to_thread(conversation_markdown, body.turns, now, max_turns)).encode("utf-8")
    except InvalidExport as exc:
        raise ApiError(422, str(exc), "invalid_request") from exc
    media_type, suffix = EXPORT_TYPES[body.format]
    name = f"regqa-conversation-{now:%Y%m%d-%H%M%S}.{suffix}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})
