"""A local fake of an OpenAI-compatible chat endpoint, for tests of the generative path.

A real HTTP server (stdlib ``ThreadingHTTPServer``) on 127.0.0.1 with a free port, in a background thread.
It implements ``POST /v1/chat/completions`` in both shapes the OpenAI API has: a ``chat.completion`` JSON body
when the request has no ``"stream": true``, and ``chat.completion.chunk`` Server-Sent Events
(``data: {...}`` lines, ending with ``data: [DONE]``) when it does. ``GET /v1/models`` lists the one model.

What it replies is scripted per test: push behaviours onto a queue (``server.script(...)``); each request
pops one (when the queue is empty it repeats ``default``). Every request is recorded (path, headers, parsed
JSON body) so tests can assert what prompt was sent.

Behaviours (see the ``Reply`` constructors):
- ``Reply.text("…[1]…")``: an answer (split into several stream chunks when streamed);
- ``Reply.chunks(["a", "b", …], interval_s=0)``: exactly these stream deltas (one chunk each, paced);
- ``Reply.malformed()``: a 200 whose body is not valid JSON (a broken SSE event when streamed);
- ``Reply.error(500)``: an HTTP error with an OpenAI-style error body;
- ``Reply.slow(seconds, text)``: waits before answering (longer than the client timeout, to test timeouts);
- ``Reply.stall(seconds, first_chunks)``: streams some chunks, then stalls mid-stream.

Usage::

    with FakeOpenAI() as server:
        server.script(Reply.text("答案 [1]"))
        settings = Settings(llm_base_url=server.base_url, llm_model=server.model, ...)
        ...
        assert server.requests[0].body["messages"][0]["role"] == "system"
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODEL = "fake-model"


@dataclass(frozen=True)
class Reply:
    """One scripted behaviour of the fake endpoint (build it with the class methods)."""

    kind: str  # text | chunks | malformed | error | slow | stall
    content: str = ""
    pieces: tuple[str, ...] = ()
    status: int = 200
    delay_s: float = 0.0

    @classmethod
    def text(cls, content: str) -> Reply:
        return cls("text", content=content)

    @classmethod
    def chunks(cls, pieces: list[str] | tuple[str, ...], interval_s: float = 0.0) -> Reply:
        """Exactly these deltas, one stream chunk each, ``interval_s`` apart."""
        return cls("chunks", pieces=tuple(pieces), delay_s=interval_s)

    @classmethod
    def malformed(cls) -> Reply:
        return cls("malformed")

    @classmethod
    def error(cls, status: int = 500, message: str = "internal error (fake)") -> Reply:
        return cls("error", content=message, status=status)

    @classmethod
    def slow(cls, seconds: float, content: str = "too late [1]") -> Reply:
        return cls("slow", content=content, delay_s=seconds)

    @classmethod
    def stall(cls, seconds: float, first_pieces: list[str] | tuple[str, ...] = ("partial ",)) -> Reply:
        return cls("stall", pieces=tuple(first_pieces), delay_s=seconds)

    def stream_pieces(self) -> list[str]:
        """How a reply is cut into stream deltas: several pieces of a few characters each for a text reply."""
        if self.kind in ("chunks", "stall"):
            return list(self.pieces)
        text = self.content
        size = max(1, min(8, len(text) // 4 or 1))
        return [text[i : i + size] for i in range(0, len(text), size)] or [""]

    @property
    def full_text(self) -> str:
        return "".join(self.stream_pieces())


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any  # parsed JSON (None when the body was not JSON)
    received_at: float = field(default_factory=time.monotonic)

    @property
    def messages(self) -> list[dict]:
        return list((self.body or {}).get("messages", []))

    @property
    def streamed(self) -> bool:
        return bool((self.body or {}).get("stream"))

    def text(self) -> str:
        """All message contents of the request, concatenated (what the model was shown)."""
        out = []
        for m in self.messages:
            content = m.get("content")
            if isinstance(content, list):  # content parts
                out += [p.get("text", "") for p in content if isinstance(p, dict)]
            elif content:
                out.append(str(content))
        return "\n".join(out)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        pass

    # -- plumbing -----------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _event(self, data: str) -> None:
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(
                200, {"object": "list", "data": [{"id": self.server.fake.model, "object": "model", "owned_by": "fake"}]}
            )
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = None
        fake = self.server.fake
        fake._record(RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, raw, body))
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        reply = fake._next_reply()
        # the client may give up (timeout): that is the point of the slow behaviours
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self._reply(reply, body or {})

    # -- behaviours ---------------------------------------------------------------------------------------
    def _reply(self, reply: Reply, body: dict) -> None:
        model = body.get("model") or self.server.fake.model
        stream = bool(body.get("stream"))
        if reply.kind == "error":
            self._json(reply.status, {"error": {"message": reply.content, "type": "server_error", "code": None}})
            return
        if reply.kind == "slow":
            time.sleep(reply.delay_s)
        if reply.kind == "malformed":
            if stream:
                self._start_sse()
                self._event('{"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choices": [{"delta": ')
                self._event("[DONE]")
            else:
                self._send(200, b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"mess')
            return
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        created = int(time.time())
        if not stream:
            text = reply.full_text
            self._json(
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                },
            )
            return

        def chunk(delta: dict, finish: str | None = None) -> str:
            return json.dumps(
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                },
                ensure_ascii=False,
            )

        self._start_sse()
        self._event(chunk({"role": "assistant", "content": ""}))
        for piece in reply.stream_pieces():
            self._event(chunk({"content": piece}))
            if reply.kind == "chunks" and reply.delay_s:
                time.sleep(reply.delay_s)
        if reply.kind == "stall":
            time.sleep(reply.delay_s)
        self._event(chunk({}, "stop"))
        self._event("[DONE]")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeOpenAI


class FakeOpenAI:
    """The fake endpoint. ``base_url`` is ``http://127.0.0.1:<port>/v1``; start/stop or use as a context manager."""

    def __init__(self, model: str = DEFAULT_MODEL, default: Reply | None = None) -> None:
        self.model = model
        self.default = default or Reply.text("The provided clauses cover this [1].")
        self._queue: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        server = _Server(("127.0.0.1", 0), _Handler)  # port 0: the OS picks a free port
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ----------------------------------------------------------------------------------------
    def script(self, *replies: Reply) -> FakeOpenAI:
        """Queue these behaviours for the next requests, in order."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def reset(self) -> None:
        """Forget scripted replies and recorded requests (between tests)."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    # -- used by the handler ------------------------------------------------------------------------------
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default
