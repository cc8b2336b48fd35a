"""Running one blocking answer call for a request: in a thread, within the per-request time budget
(``REGQA_REQUEST_TIMEOUT_S``), with the index's and the budget's failures as API errors (503, 504)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from assistant.web.errors import ApiError
from common.settings import Settings
from ingest.store import IndexUnavailable

Result = TypeVar("Result")


def too_slow(settings: Settings) -> ApiError:
    return ApiError(504, f"the request took longer than {settings.request_timeout_s:g} s", "timeout")


async def within_budget(settings: Settings, call: Callable[..., Result], *args) -> Result:
    """``call(*args)`` in a thread, bounded by the time budget; 503 when the index is unavailable, 504 when late."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(call, *args), timeout=settings.request_timeout_s)
    except IndexUnavailable as exc:
        raise ApiError(503, str(exc), "index_unavailable") from exc
    except TimeoutError as exc:
        raise too_slow(settings) from exc
