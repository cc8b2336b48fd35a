"""``GET /healthz`` (alive, for probes, at once) and ``GET /readyz`` (the index loaded and the model warm; with
authentication on, the details only for a signed-in caller)."""

from __future__ import annotations

import time

from fastapi import APIRouter

from assistant.web.dependencies import Caller, Context
from assistant.web.errors import ApiError

router = APIRouter()


@router.get("/healthz")
def healthz(context: Context):
    return {"status": "alive", "uptime_s": round(time.time() - context.started, 1)}


@router.get("/readyz")
def readyz(context: Context, caller: Caller):
    """Public (for probes); with auth on, only a signed-in caller sees what is loaded."""
    holder, settings = context.holder, context.settings
    if not holder.ready.is_set():
        raise ApiError(503, "loading the index and the embedding model", "not_ready")
    if holder.service is None:
        raise ApiError(503, holder.error or "not loaded", "not_ready")
    index = holder.service.retriever.index
    if not len(index):
        raise ApiError(503, "the index is empty: run `regqa ingest`", "not_ready")
    if settings.auth_enabled and caller is None:
        return {"status": "ready"}
    return {
        "status": "ready",
        "documents": len(index.docs),
        "chunks": len(index),
        "embedding_model": settings.embedding_model,
        "mode": settings.answer_mode,
    }
