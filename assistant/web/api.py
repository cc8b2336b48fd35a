"""The JSON API: ``POST /v1/ask`` {question, history?, filters?, mode?, as_of?} -> the answer with its citations
(full clause text), refused, timings; ``GET /v1/documents`` what is indexed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from assistant.answering.models import InvalidAsOf, InvalidQuestion, as_of_date
from assistant.web.answering import within_budget
from assistant.web.dependencies import Context, Service, json_body
from assistant.web.errors import ApiError

router = APIRouter()


class Turn(BaseModel):
    role: str
    content: str


class AskRequest(BaseModel):
    question: str
    history: list[Turn] = Field(default_factory=list)
    filters: dict[str, str | list[str] | None] | None = None  # e.g. {"jurisdiction": ["CN"]}
    mode: str | None = None
    as_of: str | None = None  # YYYY-MM-DD: the date citations are in effect or not (default today)


@router.get("/v1/documents")
def documents(service: Service):
    index = service.retriever.index
    chunks: dict[str, int] = {}
    for meta in index.metas:
        chunks[meta["doc_id"]] = chunks.get(meta["doc_id"], 0) + 1
    return {
        "documents": [
            {
                "doc_id": d.doc_id,
                "title": d.title,
                "title_en": d.title_en,
                "jurisdiction": d.jurisdiction,
                "language": d.language,
                "status": d.status,
                "issued": d.issued,
                "units": len(d.units),
                "chunks": chunks.get(d.doc_id, 0),
            }
            for d in sorted(index.docs.values(), key=lambda d: d.doc_id)
        ]
    }


@router.post("/v1/ask")
async def ask(body: Annotated[AskRequest, Depends(json_body(AskRequest))], service: Service, context: Context):
    try:
        as_of = as_of_date(body.as_of)
    except InvalidAsOf as exc:
        raise ApiError(400, str(exc), "invalid_as_of") from exc
    try:
        answer = await within_budget(
            context.settings,
            service.answer,
            body.question,
            [t.model_dump() for t in body.history],
            body.filters,
            body.mode,
            as_of,
        )
    except InvalidQuestion as exc:
        raise ApiError(400, str(exc), "invalid_question") from exc
    return answer.to_dict()
