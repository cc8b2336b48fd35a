"""``POST /v1/feedback`` {answer_id, rating: 1|-1, comment?, question?, answer?} -> {"ok": true}: a thumbs-up or
-down on an answer, stored by ``assistant.feedback`` (422 for a bad rating, id or comment; 503 when the store
cannot be written)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, StrictInt, StrictStr

from assistant.feedback import InvalidFeedback, answer_details
from assistant.web.dependencies import Caller, Context, json_body
from assistant.web.errors import ApiError

log = logging.getLogger(__name__)
router = APIRouter()
MAX_FEEDBACK_BODY = 2 * 1024 * 1024


class FeedbackRequest(BaseModel):
    answer_id: StrictStr
    rating: StrictInt  # 1 or -1
    comment: StrictStr | None = None
    question: StrictStr | None = None
    answer: StrictStr | dict | None = None  # the answer's text, or the whole answer (Answer.to_dict())


@router.post("/v1/feedback")
async def feedback(
    body: Annotated[FeedbackRequest, Depends(json_body(FeedbackRequest, MAX_FEEDBACK_BODY))],
    caller: Caller,
    context: Context,
):
    try:
        details = answer_details(body.answer) if isinstance(body.answer, dict) else {"answer_text": body.answer or ""}
        if body.question:
            details["question"] = body.question
        user = caller.user if caller is not None else ""
        await asyncio.to_thread(
            context.feedback.add_rating, body.answer_id, body.rating, body.comment or "", user=user, **details
        )
    except InvalidFeedback as exc:
        raise ApiError(422, str(exc), "invalid_request") from exc
    except (sqlite3.Error, OSError) as exc:
        log.warning("could not store feedback: %s", exc)
        raise ApiError(503, "could not store the feedback; please try again later", "feedback_unavailable") from exc
    return {"ok": True}
