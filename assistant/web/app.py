"""The app factory: one FastAPI application with the API routers, the chat channels' endpoints, the sign-in page,
the Gradio UI at ``/``, and the ``Guard`` and trusted-host middleware in front of everything."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.middleware.trustedhost import TrustedHostMiddleware

from assistant.answering.service import AnswerService
from assistant.channels import open_channels
from assistant.documents import IngestJobs
from assistant.feedback import FeedbackStore
from assistant.obligations import ObligationRegister
from assistant.security import AccessControl, is_loopback
from assistant.service_holder import ServiceHolder
from assistant.web.api import router as api_router
from assistant.web.context import WebContext
from assistant.web.dependencies import principal
from assistant.web.documents import router as documents_router
from assistant.web.errors import install_error_handlers
from assistant.web.export import router as export_router
from assistant.web.feedback import router as feedback_router
from assistant.web.guard import DOCUMENT_EVENTS, Guard, allowed_hosts
from assistant.web.health import router as health_router
from assistant.web.login import router as login_router
from assistant.web.obligations import router as obligations_router
from assistant.web.openai_compat import router as openai_router
from common.settings import Settings, get_settings

log = logging.getLogger(__name__)

# In the order they were added (the OpenAPI document lists them so); the channels and the sign-in page follow.
FEATURE_ROUTERS = (
    health_router,
    api_router,
    obligations_router,
    documents_router,
    openai_router,
    feedback_router,
    export_router,
)


def _context(settings: Settings, service: AnswerService | None) -> WebContext:
    holder = ServiceHolder(settings, service)

    def reload_index() -> None:  # after an ingest job: the running service answers from the new index
        if holder.service is not None:
            holder.service.retriever.index.refresh()

    jobs = IngestJobs(settings, on_done=reload_index)
    return WebContext(
        settings=settings,
        holder=holder,
        access=AccessControl(settings),
        jobs=jobs,
        obligations=ObligationRegister(settings),
        feedback=FeedbackStore(settings),
        started=time.time(),
    )


def _warn_if_open(settings: Settings) -> None:
    if not settings.auth_enabled and not is_loopback(settings.host):
        log.warning(
            "serving on %s without authentication: every visitor can read everything%s. Set "
            "REGQA_AUTH_USERS / REGQA_API_TOKEN (README, Deploying).",
            settings.host,
            " and add or remove documents" if settings.open_uploads else "",
        )


def _signed_in_user(request: Request) -> str | None:
    """Gradio's ``auth_dependency``: the user ``Guard`` identified (None: Gradio shows its sign-in message)."""
    caller = principal(request)
    return caller.user if caller is not None and caller.user else None


def _mount_ui(app: FastAPI, context: WebContext) -> set[int]:
    """The Gradio UI at ``/``; returns the indices of its events that change documents (``Guard`` gates them)."""
    import gradio as gr  # seconds to import: only when the UI is mounted

    from assistant.web.ui import build_ui

    settings = context.settings
    blocks = build_ui(context.holder, context.access, context.jobs, obligations=context.find_obligations)
    document_events = {
        key
        for key, fn in blocks.fns.items()
        if {getattr(fn, "name", None), getattr(fn, "api_name", None)} & DOCUMENT_EVENTS
    }
    gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        auth_message="regqa: sign in / 请登录",
        auth_dependency=_signed_in_user if settings.auth_enabled else None,
        max_file_size=int(settings.upload_max_mb * 1024 * 1024),
        run_history=False,  # Gradio's run-history pages and routes: not used here
        blocked_paths=[str(settings.index_dir), str(settings.corpus_dir), "/proc", "/sys", "/dev", "/etc"],
    )
    # Gradio only checks the paths of the files that events name once it has "launched"; a mounted app never
    # does, so any server file could be named. Mark it launched: event files must then come from its upload
    # folder (which only users allowed to change documents can write to: see guard).
    blocks.has_launched = True
    return document_events


def create_app(settings: Settings | None = None, service: AnswerService | None = None, with_ui: bool = True) -> FastAPI:
    settings = settings or get_settings()
    context = _context(settings, service)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        context.holder.start()  # load the index and warm the model in the background; /healthz answers at once
        yield

    app = FastAPI(
        title="regqa", description="Compliance Q&A over AI-safety regulation, with clause citations", lifespan=lifespan
    )
    _warn_if_open(settings)
    app.state.web = context  # what the routes' dependencies read (dependencies.web_context)
    install_error_handlers(app)
    for router in FEATURE_ROUTERS:
        app.include_router(router)
    app.state.channels = open_channels(context.holder, settings)
    app.include_router(app.state.channels.router())  # Slack /slack/events, WeCom /wecom/callback (404 when off)
    app.include_router(login_router)
    document_events = _mount_ui(app, context) if with_ui else set()
    app.add_middleware(
        Guard,
        access=context.access,
        upload_limit_bytes=int(settings.upload_max_mb * 1024 * 1024),
        document_events=lambda: document_events,
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings), www_redirect=False)
    return app
