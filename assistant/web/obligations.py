"""``GET /v1/obligations?doc=…&role=…&jurisdiction=…&as_of=…`` -> ``{"items": [...]}``: the obligation register
(``assistant.obligations``), the same items as ``regqa obligations`` and the UI's Obligations tab."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Query

from assistant.obligations import InvalidObligationQuery, parse_query
from assistant.web.dependencies import Context, answer_service
from assistant.web.errors import ApiError
from ingest.store import IndexUnavailable

router = APIRouter()


@router.get("/v1/obligations", dependencies=[Depends(answer_service)])  # 503 until the service loads
async def obligations(
    context: Context,
    doc: list[str] = Query(default=[]),
    role: list[str] = Query(default=[]),
    jurisdiction: list[str] = Query(default=[]),
    as_of: str = "",
):
    """The obligation register: ``{"items": [...]}`` filtered by documents, roles (items binding anyone are
    always included), jurisdictions and an as-of date."""
    try:
        query = parse_query(doc, role, jurisdiction, as_of)
        items = await asyncio.to_thread(context.find_obligations, query)
    except InvalidObligationQuery as exc:
        raise ApiError(400, str(exc), "invalid_request") from exc
    except IndexUnavailable as exc:
        raise ApiError(503, str(exc), "index_unavailable") from exc
    return {"items": items}
