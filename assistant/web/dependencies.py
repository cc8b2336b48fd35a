"""FastAPI dependencies of the API routes: the app's context, who is asking, whether they may change documents,
the answer service (503 when it could not load), and a JSON body read into a model (413 / 422 in our error shape).

Authentication itself happens before any route, in ``guard.Guard`` (it covers the Gradio UI too); it leaves the
``Principal`` (or None) in the request's state, which ``principal`` reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from assistant.answering.service import AnswerService
from assistant.security import Principal
from assistant.web.context import WebContext
from assistant.web.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)


def web_context(request: Request) -> WebContext:
    return request.app.state.web


def principal(request: Request) -> Principal | None:
    """The caller ``Guard`` identified (None: anonymous)."""
    return request.scope.get("state", {}).get("principal")


Context = Annotated[WebContext, Depends(web_context)]
Caller = Annotated[Principal | None, Depends(principal)]


def answer_service(context: Context) -> AnswerService:
    """The loaded answer service (waits while it loads); 503 ``not_ready`` when it could not be loaded."""
    try:
        return context.holder.get()
    except RuntimeError as exc:
        raise ApiError(503, str(exc), "not_ready") from exc


Service = Annotated[AnswerService, Depends(answer_service)]


def json_body(model: type[Model], max_bytes: int | None = None) -> Callable[[Request], Awaitable[Model]]:
    """A dependency reading the request's JSON into ``model``: 413 past ``max_bytes`` (from the Content-Length),
    422 for a body that is not JSON or not the model."""

    async def parse(request: Request) -> Model:
        length = request.headers.get("content-length", "")
        if max_bytes is not None and length.isdigit() and int(length) > max_bytes:
            raise ApiError(413, f"request body too large (the limit is {max_bytes // (1024 * 1024)} MB)", "too_large")
        try:
            return model.model_validate(await request.json())
        except (ValidationError, ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
            raise ApiError(422, f"invalid request body: {str(exc)[:300]}", "invalid_request") from exc

    return parse


@dataclass(frozen=True)
class DocumentChange:
    """A permitted request to add or remove a document; ``wait``: seconds to wait for its re-index job."""

    principal: Principal | None
    wait: float


def document_change(request: Request, context: Context, wait: float = 0) -> DocumentChange:
    """403 unless the caller may add and remove documents (an admin; in open mode only with REGQA_OPEN_UPLOADS)."""
    who = principal(request)
    if not context.access.may_change_documents(who):
        if not context.settings.auth_enabled:
            raise ApiError(
                403,
                "adding and removing documents is off in open mode (set REGQA_OPEN_UPLOADS=true, "
                "or turn on authentication)",
                "forbidden",
            )
        raise ApiError(403, "only an admin may add or remove documents", "forbidden")
    return DocumentChange(who, wait)


DocumentChangeRequest = Annotated[DocumentChange, Depends(document_change)]
