"""The web server: one FastAPI application with the JSON / OpenAI-compatible API and the Gradio chat at ``/``.

API:
- ``POST /v1/ask`` {question, history?, filters?, mode?} -> answer, citations (full clause text), refused, timings
- ``POST /v1/chat/completions`` OpenAI-compatible (stream or not); citations as numbered Markdown footnotes in
  the content and structured in the extra field ``citations`` (non-stream: on the response; stream: on the
  last chunk before ``[DONE]``)
- ``GET /v1/documents`` what is indexed; ``GET /healthz`` alive; ``GET /readyz`` index loaded and model warm.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from assistant.answer import Answer, AnswerService, InvalidQuestion
from assistant.config import Settings, get_settings
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


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict] | None = None


class ChatRequest(BaseModel):
    model: str | None = None
    messages: list[ChatMessage]
    stream: bool = False
    filters: dict[str, str | list[str] | None] | None = None  # e.g. {"jurisdiction": ["CN"]}


def _text_of(content: str | list[dict] | None) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def footnotes(answer: Answer) -> str:
    if not answer.citations:
        return ""
    lines = ["", ""] + [f"[^{c.n}]: {c.label}" + (f" <{c.source_url}>" if c.source_url else "")
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

    def caller(request: Request) -> tuple[bool, str | None]:
        """(authenticated, user) for an API request: Bearer api_token (admin) or HTTP Basic user:password."""
        if not settings.auth_enabled:
            return True, None
        header = request.headers.get("authorization", "")
        if settings.api_token and header == f"Bearer {settings.api_token}":
            return True, "__token__"
        if header.lower().startswith("basic "):
            import base64
            import binascii
            import hmac

            try:
                user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False, None
            expected = settings.user_passwords().get(user)
            if expected is not None and hmac.compare_digest(expected, password):
                return True, user
        return False, None

    def is_admin(user: str | None) -> bool:
        return user == "__token__" or settings.is_admin(user)

    @app.middleware("http")
    async def require_auth(request: Request, call_next):
        if request.url.path.startswith("/v1/"):
            ok, user = caller(request)
            if not ok:
                return JSONResponse(status_code=401, headers={"WWW-Authenticate": "Basic"},
                                    content={"error": {"message": "authentication required",
                                                       "type": "unauthorized"}})
            request.state.user = user
        return await call_next(request)

    @app.exception_handler(ValidationError)
    async def _validation(_: Request, exc: ValidationError):
        return _error(422, str(exc), "invalid_request")

    @app.get("/healthz")
    def healthz():
        return {"status": "alive", "uptime_s": round(time.time() - started, 1)}

    @app.get("/readyz")
    def readyz():
        if not holder.ready.is_set():
            return _error(503, "loading the index and the embedding model", "not_ready")
        if holder.service is None:
            return _error(503, holder.error or "not loaded", "not_ready")
        index = holder.service.retriever.index
        if not len(index):
            return _error(503, "the index is empty: run `regqa ingest`", "not_ready")
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

    @app.post("/v1/documents")
    async def upload_document(request: Request):
        from assistant.documents import UploadError, reindex, save_upload

        if not is_admin(getattr(request.state, "user", None)):
            return _error(403, "only an admin may add documents", "forbidden")
        try:
            form = await request.form()
        except Exception as exc:  # not multipart, or a broken body
            return _error(422, f"expected multipart/form-data with a 'file' field ({exc})", "invalid_request")
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            return _error(422, "expected multipart/form-data with a 'file' field", "invalid_request")
        data = await upload.read()
        try:
            path = await asyncio.to_thread(save_upload, settings, upload.filename or "", data)
            report = await asyncio.to_thread(reindex, settings)
        except UploadError as exc:
            return _error(400, str(exc), "invalid_document")
        except (IndexError_, OSError) as exc:  # disk full, read-only index dir, Chroma down
            return _error(503, f"could not store or index the document: {exc}", "index_unavailable")
        service, err = _service_or_error()
        if service is not None:
            await asyncio.to_thread(service.retriever.index.refresh)
        return {"stored_as": path.name, "added": report.added, "replaced": report.replaced,
                "failed": [{"file": f.path.name, "reason": f.reason} for f in report.failed]}

    @app.delete("/v1/documents/{doc_id}")
    async def delete_document(doc_id: str, request: Request):
        from assistant.documents import reindex, remove_upload

        if not is_admin(getattr(request.state, "user", None)):
            return _error(403, "only an admin may remove documents", "forbidden")
        try:
            if not await asyncio.to_thread(remove_upload, settings, doc_id):
                return _error(404, f"no uploaded document {doc_id!r} (corpus documents cannot be removed here)",
                              "not_found")
            report = await asyncio.to_thread(reindex, settings)
        except (IndexError_, OSError) as exc:
            return _error(503, f"could not update the index: {exc}", "index_unavailable")
        service, _ = _service_or_error()
        if service is not None:
            await asyncio.to_thread(service.retriever.index.refresh)
        return {"removed": report.removed}

    @app.post("/v1/ask")
    async def ask(request: Request):
        body, service, err = await parse(request, AskRequest)
        if err:
            return err
        try:
            answer = await asyncio.to_thread(service.answer, body.question, [t.model_dump() for t in body.history],
                                             body.filters, body.mode)
        except InvalidQuestion as exc:
            return _error(400, str(exc), "invalid_question")
        except IndexUnavailable as exc:
            return _error(503, str(exc), "index_unavailable")
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
            from assistant.answer import validate_question

            validate_question(question)
        except InvalidQuestion as exc:
            return _error(400, str(exc), "invalid_question")

        if not body.stream:
            try:
                answer = await asyncio.to_thread(service.answer, question, history, body.filters, mode)
            except IndexUnavailable as exc:
                return _error(503, str(exc), "index_unavailable")
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
            first_events = service.stream(question, history, body.filters, mode)
            first = await asyncio.to_thread(next, first_events)
        except IndexUnavailable as exc:
            return _error(503, str(exc), "index_unavailable")

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

    from assistant.channels import mount_channels

    mount_channels(app, holder, settings)  # Slack /slack/events, WeCom /wecom/callback (404 when not configured)

    if with_ui:
        import gradio as gr

        from assistant.ui import build_ui

        passwords = settings.user_passwords()
        auth = (lambda user, password: passwords.get(user) == password) if passwords else None
        app = gr.mount_gradio_app(app, build_ui(holder), path="/", auth=auth,
                                  auth_message="regqa: sign in / 请登录")
    return app
