"""The web server: one FastAPI application with the JSON / OpenAI-compatible API and the Gradio chat at ``/``.

API:
- ``POST /v1/ask`` {question, history?, filters?, mode?, as_of?} -> answer, citations (full clause text), refused, timings
- ``POST /v1/chat/completions`` OpenAI-compatible (stream or not); citations as numbered Markdown footnotes in
  the content and structured in the extra field ``citations`` (non-stream: on the response; stream: on the
  last chunk before ``[DONE]``)
- ``GET /v1/obligations?doc=…&role=…&jurisdiction=…&as_of=…`` the obligation register, ``{"items": [...]}``
- ``GET /v1/documents`` what is indexed; ``GET /healthz`` alive; ``GET /readyz`` index loaded and model warm.
- ``POST /v1/feedback`` a thumbs-up/down on an answer (``assistant.feedback``); ``POST /v1/export`` a
  conversation as a Markdown or DOCX attachment (``assistant.export``).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import sqlite3
import threading
import time
import uuid
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Literal

from fastapi import FastAPI, Query, Request
from starlette.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, StrictInt, StrictStr, ValidationError

from assistant.answering.models import (Answer, InvalidAsOf, InvalidQuestion, as_of_date, validate_history,
                                          validate_question)
from assistant.answering.service import AnswerService
from common.settings import Settings, get_settings
from assistant.obligations import InvalidObligationQuery, ObligationQuery, ObligationRegister, parse_query
from assistant.documents import DuplicateDocument, IngestJobs, UploadError, remove_upload, save_upload
from assistant.security import AccessControl, Principal, is_loopback, safe_link
from assistant.web_guard import DOCUMENT_EVENTS, Guard, add_login_routes, allowed_hosts
from ingest.store import IndexError_, IndexUnavailable

log = logging.getLogger(__name__)


class Turn(BaseModel):
    role: str
    content: str


class AskRequest(BaseModel):
    question: str
    history: list[Turn] = Field(default_factory=list)
    filters: dict[str, str | list[str] | None] | None = None  # e.g. {"jurisdiction": ["CN"]}
    mode: str | None = None
    as_of: str | None = None  # YYYY-MM-DD: the date citations are in effect or not (default today)


class FeedbackRequest(BaseModel):
    answer_id: StrictStr
    rating: StrictInt  # 1 or -1
    comment: StrictStr | None = None
    question: StrictStr | None = None
    answer: StrictStr | dict | None = None  # the answer's text, or the whole answer (Answer.to_dict())


class ExportRequest(BaseModel):
    turns: list[dict]  # [{"question": str, "answer": Answer.to_dict()}]
    format: Literal["markdown", "docx"] = "markdown"


MAX_EXPORT_BODY = 20 * 1024 * 1024
EXPORT_TYPES = {"markdown": ("text/markdown; charset=utf-8", "md"),
                "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")}


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


def _text_of(content: str | list[ContentPart] | None) -> str:
    if isinstance(content, list):
        return "".join(part.text or "" for part in content if part.type == "text")
    return content or ""


def footnotes(answer: Answer) -> str:
    if not answer.citations:
        return ""
    lines = ["", ""] + [f"[^{c.n}]: {c.label}" + (f" <{safe_link(c.source_url)}>" if safe_link(c.source_url) else "")
                        for c in answer.citations]
    return "\n".join(lines)


class ServiceHolder:
    """Loads the answer service once (in the background), so that /healthz answers at once."""

    def __init__(self, settings: Settings, service: AnswerService | None = None) -> None:
        self.settings = settings
        self.service = service
        self.error: str | None = None
        self.ready = threading.Event()
        if service is not None:
            self.ready.set()

    def start(self) -> None:
        if self.ready.is_set():
            return
        threading.Thread(target=self._load, name="regqa-load", daemon=True).start()

    def _load(self) -> None:
        try:
            service = AnswerService(self.settings)
            service.warm_up()
            self.service = service
        except Exception as exc:  # reported by /readyz and every API call
            log.exception("answer service failed to load")
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()

    def get(self) -> AnswerService:
        self.ready.wait(timeout=600)
        if self.service is None:
            raise RuntimeError(self.error or "the answer service is not loaded")
        return self.service


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"message": message, "type": kind}})


def create_app(settings: Settings | None = None, service: AnswerService | None = None,
               with_ui: bool = True) -> FastAPI:
    settings = settings or get_settings()
    holder = ServiceHolder(settings, service)
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        holder.start()  # load the index and warm the model in the background; /healthz answers at once
        yield

    app = FastAPI(title="regqa", description="Compliance Q&A over AI-safety regulation, with clause citations",
                  lifespan=lifespan)
    app.state.holder = holder
    started = time.time()

    access = AccessControl(settings)
    app.state.access = access
    if not settings.auth_enabled and not is_loopback(settings.host):
        log.warning("serving on %s without authentication: every visitor can read everything%s. Set "
                    "REGQA_AUTH_USERS / REGQA_API_TOKEN (README, Deploying).", settings.host,
                    " and add or remove documents" if settings.open_uploads else "")
    jobs = IngestJobs(settings, on_done=lambda: holder.service is not None and holder.service.retriever.index.refresh())
    app.state.ingest_jobs = jobs

    def principal_of(request: Request) -> Principal | None:
        return request.scope.get("state", {}).get("principal")

    def may_change_documents(request: Request) -> bool:
        return access.may_change_documents(principal_of(request))

    def documents_refusal() -> JSONResponse:
        if not settings.auth_enabled:
            return _error(403, "adding and removing documents is off in open mode (set REGQA_OPEN_UPLOADS=true, or "
                               "turn on authentication)", "forbidden")
        return _error(403, "only an admin may add or remove documents", "forbidden")

    async def answer_within_budget(call, *args):
        """Run a blocking answer call in a thread, bounded by the per-request time budget."""
        return await asyncio.wait_for(asyncio.to_thread(call, *args), timeout=settings.request_timeout_s)

    def too_slow() -> JSONResponse:
        return _error(504, f"the request took longer than {settings.request_timeout_s:g} s", "timeout")

    @app.exception_handler(ValidationError)
    async def _validation(_: Request, exc: ValidationError):
        return _error(422, str(exc), "invalid_request")

    @app.get("/healthz")
    def healthz():
        return {"status": "alive", "uptime_s": round(time.time() - started, 1)}

    @app.get("/readyz")
    def readyz(request: Request):
        """Public (for probes); with auth on, only a signed-in caller sees what is loaded."""
        if not holder.ready.is_set():
            return _error(503, "loading the index and the embedding model", "not_ready")
        if holder.service is None:
            return _error(503, holder.error or "not loaded", "not_ready")
        index = holder.service.retriever.index
        if not len(index):
            return _error(503, "the index is empty: run `regqa ingest`", "not_ready")
        if settings.auth_enabled and principal_of(request) is None:
            return {"status": "ready"}
        return {"status": "ready", "documents": len(index.docs), "chunks": len(index),
                "embedding_model": settings.embedding_model, "mode": settings.answer_mode}

    def _service_or_error():
        try:
            return holder.get(), None
        except RuntimeError as exc:
            return None, _error(503, str(exc), "not_ready")

    async def parse(request: Request, model: type[BaseModel]):
        """(body, service, None), or (None, None, a JSON error response) for a bad body or a service not ready."""
        try:
            body = model.model_validate(await request.json())
        except (ValidationError, ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
            return None, None, _error(422, f"invalid request body: {str(exc)[:300]}", "invalid_request")
        service, err = _service_or_error()
        return body, service, err

    @app.get("/v1/documents")
    def documents():
        service, err = _service_or_error()
        if err:
            return err
        index = service.retriever.index
        chunks: dict[str, int] = {}
        for meta in index.metas:
            chunks[meta["doc_id"]] = chunks.get(meta["doc_id"], 0) + 1
        return {"documents": [
            {"doc_id": d.doc_id, "title": d.title, "title_en": d.title_en, "jurisdiction": d.jurisdiction,
             "language": d.language, "status": d.status, "issued": d.issued, "units": len(d.units),
             "chunks": chunks.get(d.doc_id, 0)} for d in sorted(index.docs.values(), key=lambda d: d.doc_id)]}

    register = ObligationRegister(settings)
    app.state.obligations = register

    def obligations_for(service: AnswerService, query: ObligationQuery) -> list[dict]:
        index = service.retriever.index
        index.refresh_if_changed()
        return register.find(query, list(zip(index.ids, index.metas, index.texts)), key=index.fingerprint)

    @app.get("/v1/obligations")
    async def obligations(doc: list[str] = Query(default=[]), role: list[str] = Query(default=[]),
                          jurisdiction: list[str] = Query(default=[]), as_of: str = ""):
        """The obligation register: ``{"items": [...]}`` filtered by documents, roles (items binding anyone are
        always included), jurisdictions and an as-of date."""
        service, err = _service_or_error()
        if err:
            return err
        try:
            query = parse_query(doc, role, jurisdiction, as_of)
            items = await asyncio.to_thread(obligations_for, service, query)
        except InvalidObligationQuery as exc:
            return _error(400, str(exc), "invalid_request")
        except IndexUnavailable as exc:
            return _error(503, str(exc), "index_unavailable")
        return {"items": items}

    @app.post("/v1/documents")
    async def upload_document(request: Request, wait: float = 0):
        """Store an upload and queue a re-index job: 202 with the job (poll ``GET /v1/jobs/{id}``), or, with
        ``?wait=SECONDS``, the finished job when it ends within that time."""
        if not may_change_documents(request):
            return documents_refusal()
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > settings.upload_max_mb * 1024 * 1024 + 64 * 1024:
            return _error(413, f"file too large (the limit is {settings.upload_max_mb:g} MB)", "too_large")
        try:
            form = await request.form(max_files=1, max_fields=10)
        except Exception as exc:  # not multipart, or a broken body
            return _error(422, f"expected multipart/form-data with a 'file' field ({exc})", "invalid_request")
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            return _error(422, "expected multipart/form-data with a 'file' field", "invalid_request")
        data = await upload.read()
        try:
            path = await asyncio.to_thread(save_upload, settings, upload.filename or "", data)
        except DuplicateDocument as exc:
            return _error(409, str(exc), "duplicate_document")
        except UploadError as exc:
            return _error(400, str(exc), "invalid_document")
        except (IndexError_, OSError) as exc:  # disk full, read-only index dir, Chroma down
            return _error(503, f"could not store the document: {exc}", "index_unavailable")
        job = jobs.submit(f"upload {path.name}")
        return await job_response(job, wait, {"stored_as": path.name})

    async def job_response(job, wait: float, extra: dict) -> JSONResponse:
        if wait > 0:
            await asyncio.to_thread(job.finished.wait, min(wait, 3600))
        body = {**extra, **job.to_dict()}
        if job.state == "failed":
            return JSONResponse(status_code=503, content={**body, "error": {
                "message": f"could not index: {job.error}", "type": "index_unavailable"}})
        return JSONResponse(status_code=200 if job.finished.is_set() else 202, content=body)

    @app.get("/v1/jobs/{job_id}")
    def job_status(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            return _error(404, "no such job", "not_found")
        return job.to_dict()

    @app.delete("/v1/documents/{doc_id}")
    async def delete_document(doc_id: str, request: Request, wait: float = 0):
        if not may_change_documents(request):
            return documents_refusal()
        try:
            if not await asyncio.to_thread(remove_upload, settings, doc_id):
                return _error(404, f"no uploaded document {doc_id!r} (corpus documents cannot be removed here)",
                              "not_found")
        except (IndexError_, OSError) as exc:
            return _error(503, f"could not update the index: {exc}", "index_unavailable")
        job = jobs.submit(f"remove {doc_id}")
        return await job_response(job, wait, {"removing": doc_id})

    @app.post("/v1/ask")
    async def ask(request: Request):
        body, service, err = await parse(request, AskRequest)
        if err:
            return err
        try:
            as_of = as_of_date(body.as_of)
        except InvalidAsOf as exc:
            return _error(400, str(exc), "invalid_as_of")
        try:
            answer = await answer_within_budget(service.answer, body.question,
                                                [t.model_dump() for t in body.history], body.filters, body.mode,
                                                as_of)
        except InvalidQuestion as exc:
            return _error(400, str(exc), "invalid_question")
        except IndexUnavailable as exc:
            return _error(503, str(exc), "index_unavailable")
        except TimeoutError:
            return too_slow()
        return answer.to_dict()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        body, service, err = await parse(request, ChatRequest)
        if err:
            return err
        turns = [{"role": m.role, "content": _text_of(m.content)} for m in body.messages
                 if m.role in ("user", "assistant")]
        if not turns or turns[-1]["role"] != "user":
            return _error(400, "the last message must come from the user", "invalid_request")
        question, history = turns[-1]["content"], turns[:-1]
        mode = "generative" if body.model and body.model.startswith("generative") else None
        created = int(time.time())
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        model_name = body.model or "regqa"
        try:
            as_of = as_of_date(body.as_of)
        except InvalidAsOf as exc:
            return _error(400, str(exc), "invalid_as_of")
        try:
            validate_question(question)
            validate_history(history, settings.max_history_turns, settings.max_history_chars)
        except InvalidQuestion as exc:
            return _error(400, str(exc), "invalid_question")

        if not body.stream:
            try:
                answer = await answer_within_budget(service.answer, question, history, body.filters, mode, as_of)
            except IndexUnavailable as exc:
                return _error(503, str(exc), "index_unavailable")
            except TimeoutError:
                return too_slow()
            return {
                "id": completion_id, "object": "chat.completion", "created": created, "model": model_name,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": answer.text + footnotes(answer)}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "citations": [c.to_dict() for c in answer.citations], "refused": answer.refused,
            }

        def chunk(delta: dict, finish: str | None = None, extra: dict | None = None) -> str:
            payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                       "model": model_name, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            if extra:
                payload.update(extra)
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        # Retrieval runs before the first byte, so an unavailable index is still a proper 503.
        try:
            first_events = service.stream(question, history, body.filters, mode, as_of)
            first = await asyncio.wait_for(asyncio.to_thread(next, first_events), timeout=settings.request_timeout_s)
        except IndexUnavailable as exc:
            return _error(503, str(exc), "index_unavailable")
        except TimeoutError:
            return too_slow()

        def events():
            yield chunk({"role": "assistant", "content": ""})
            final = None
            streamed = ""
            for event in itertools.chain([first], first_events):
                if isinstance(event, Answer):
                    final = event
                else:
                    streamed += event
                    yield chunk({"content": event})
            if final is not None:
                tail = footnotes(final)
                if final.text != streamed:  # a fallback replaced what was streamed
                    tail = "\n\n" + final.text + tail if not streamed.endswith(final.text) else tail
                if tail:
                    yield chunk({"content": tail})
                yield chunk({}, "stop", {"citations": [c.to_dict() for c in final.citations],
                                         "refused": final.refused})
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    add_feedback_routes(app, settings, principal_of)
    add_export_routes(app, settings)

    from assistant.channels import mount_channels

    mount_channels(app, holder, settings)  # Slack /slack/events, WeCom /wecom/callback (404 when not configured)

    add_login_routes(app, access)
    document_events: set[int] = set()
    if with_ui:
        import gradio as gr

        from assistant.ui import build_ui

        blocks = build_ui(holder, access, jobs, obligations=lambda query: obligations_for(holder.get(), query))
        document_events.update(key for key, fn in blocks.fns.items()
                               if {getattr(fn, "name", None), getattr(fn, "api_name", None)} & DOCUMENT_EVENTS)
        app = gr.mount_gradio_app(
            app, blocks, path="/", auth_message="regqa: sign in / 请登录",
            auth_dependency=(lambda request: (principal_of(request) or _NOBODY).user or None)
            if settings.auth_enabled else None,
            max_file_size=int(settings.upload_max_mb * 1024 * 1024),
            run_history=False,  # Gradio's run-history pages and routes: not used here
            blocked_paths=[str(settings.index_dir), str(settings.corpus_dir), "/proc", "/sys", "/dev", "/etc"],
        )
        # Gradio only checks the paths of the files that events name once it has "launched"; a mounted app never
        # does, so any server file could be named. Mark it launched: event files must then come from its upload
        # folder (which only users allowed to change documents can write to: see web_guard).
        blocks.has_launched = True
    app.add_middleware(Guard, access=access, upload_limit_bytes=int(settings.upload_max_mb * 1024 * 1024),
                       document_events=lambda: document_events)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings), www_redirect=False)
    return app


_NOBODY = Principal("", False)


async def _json_body(request: Request, model: type[BaseModel], max_bytes: int = 2 * 1024 * 1024):
    """(body, None) or (None, a 413/422 JSON error)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        return None, _error(413, f"request body too large (the limit is {max_bytes // (1024 * 1024)} MB)", "too_large")
    try:
        return model.model_validate(await request.json()), None
    except (ValidationError, ValueError, RecursionError) as exc:
        return None, _error(422, f"invalid request body: {str(exc)[:300]}", "invalid_request")


def add_feedback_routes(app: FastAPI, settings: Settings, principal_of) -> None:
    """``POST /v1/feedback`` {answer_id, rating: 1|-1, comment?, question?, answer?} -> {"ok": true}."""
    from assistant.feedback import FeedbackStore, InvalidFeedback, answer_details

    store = FeedbackStore(settings)
    app.state.feedback = store

    @app.post("/v1/feedback")
    async def feedback(request: Request):
        body, err = await _json_body(request, FeedbackRequest)
        if err:
            return err
        try:
            details = answer_details(body.answer) if isinstance(body.answer, dict) else \
                {"answer_text": body.answer or ""}
            if body.question:
                details["question"] = body.question
            user = (principal_of(request) or _NOBODY).user
            await asyncio.to_thread(store.add_rating, body.answer_id, body.rating, body.comment or "", user=user,
                                    **details)
        except InvalidFeedback as exc:
            return _error(422, str(exc), "invalid_request")
        except (sqlite3.Error, OSError) as exc:
            log.warning("could not store feedback: %s", exc)
            return _error(503, "could not store the feedback; please try again later", "feedback_unavailable")
        return {"ok": True}


def add_export_routes(app: FastAPI, settings: Settings) -> None:
    """``POST /v1/export`` {turns: [{question, answer}], format: markdown|docx} -> the file, as an attachment."""
    from assistant.export import InvalidExport, conversation_docx, conversation_markdown

    @app.post("/v1/export")
    async def export(request: Request):
        body, err = await _json_body(request, ExportRequest, MAX_EXPORT_BODY)
        if err:
            return err
        now = datetime.now().astimezone()
        try:
            if body.format == "docx":
                content = await asyncio.to_thread(conversation_docx, body.turns, now, settings.export_max_turns)
            else:
                content = (await asyncio.to_thread(conversation_markdown, body.turns, now,
                                                   settings.export_max_turns)).encode("utf-8")
        except InvalidExport as exc:
            return _error(422, str(exc), "invalid_request")
        media_type, suffix = EXPORT_TYPES[body.format]
        name = f"regqa-conversation-{now:%Y%m%d-%H%M%S}.{suffix}"
        return Response(content, media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
