"""The web app's front door: an ASGI middleware in front of every route, the Gradio UI included. Policy lives in
``assistant.security``; this module applies it to HTTP:

1. security headers on every response (no framing, no sniffing, a CSP that loads nothing from other sites);
2. state-changing requests from another site's page are refused (403);
3. with auth on, every path but ``PUBLIC_PATHS`` needs a principal (Bearer, Basic or the session cookie; the
   ``Authorization`` header is read with ``fastapi.security``): browsers are sent to ``/login``, other clients get
   401; throttled clients get 429 with Retry-After;
4. Gradio's upload route and its document-changing events are refused before Gradio reads a byte of them,
   unless the principal may change documents; uploads over the size limit get 413 from the header.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import HTTPConnection

from assistant.security import SESSION_COOKIE, AccessControl, Credentials, Principal, Throttled
from assistant.web.errors import error_response as _error
from common.settings import Settings

PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/login", "/logout", "/slack/events", "/wecom/callback", "/favicon.ico"}
)
GRADIO_PREFIX = "/gradio_api/"
GRADIO_UPLOAD = "/gradio_api/upload"
UPLOAD_PATHS = frozenset({GRADIO_UPLOAD, "/v1/documents"})
UPLOAD_FORM_OVERHEAD = 64 * 1024
DOCUMENT_EVENTS = frozenset({"add_documents", "remove_document"})
MAX_EVENT_BODY = 1_000_000  # a Gradio event body is small; anything larger is not ours to parse

CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self' blob:; frame-src 'self'; frame-ancestors 'none'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", CSP.encode()),
]
_BEARER = HTTPBearer(auto_error=False)  # ``Authorization: Bearer <token>``, else None


async def presented_credentials(connection: HTTPConnection) -> Credentials:
    """The credentials a request or WebSocket presents: a Bearer token, Basic credentials, the session cookie.
    Basic credentials are split off the header as ``HTTPBasic`` does, but decoded by ``AccessControl`` as UTF-8:
    ``HTTPBasic`` decodes them as ASCII and refuses the UTF-8 passwords that browsers and HTTP clients send."""
    bearer = await _BEARER(connection)
    scheme, param = get_authorization_scheme_param(connection.headers.get("Authorization"))
    basic = param if scheme.lower() == "basic" and param else None
    return Credentials(
        bearer=bearer.credentials if bearer is not None else None,
        basic=basic,
        cookie=connection.cookies.get(SESSION_COOKIE),
    )


class Guard:
    """Pure ASGI middleware (streams pass through untouched). ``document_events`` gives the fn indices of the
    Gradio events that change documents (known once the UI is built)."""

    def __init__(
        self, app, access: AccessControl, upload_limit_bytes: int, document_events: Callable[[], set[int]] = set
    ) -> None:
        self.app = app
        self.access = access
        self.upload_limit = upload_limit_bytes
        self.body_limit = int(access.settings.max_request_mb * 1024 * 1024)
        self.body_timeout = access.settings.request_body_timeout_s
        self.document_events = document_events

    def _limit_of(self, path: str) -> int:
        return self.upload_limit + UPLOAD_FORM_OVERHEAD if path in UPLOAD_PATHS else self.body_limit

    def bounded(self, receive, limit: int):
        """``receive`` that drops a client whose body passes ``limit`` bytes or who sends nothing for a while
        (the app then sees a disconnect: nothing is buffered past the limit)."""
        received = 0

        async def bounded_receive():
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), timeout=self.body_timeout)
            except TimeoutError:
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    return {"type": "http.disconnect"}
            return message

        return bounded_receive

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        request = Request(scope)
        path = scope.get("path", "")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names
                ]
            await send(message)

        if scope["type"] == "http":
            length = request.headers.get("content-length", "")
            limit = self._limit_of(path)
            if length.isdigit() and int(length) > limit:
                return await _error(413, f"request body too large (limit {limit // 1024} KB)", "too_large")(
                    scope, receive, send_with_headers
                )
            receive = self.bounded(receive, limit)

        if scope["type"] == "http" and self.access.cross_site(
            request.method,
            request.headers.get("host", ""),
            request.headers.get("origin"),
            request.headers.get("referer"),
        ):
            return await _error(403, "cross-site request refused", "forbidden")(scope, receive, send_with_headers)

        principal: Principal | None = None
        try:
            credentials = await presented_credentials(request)
            # a Basic password is checked with bcrypt (slow on purpose): off the event loop
            principal = (
                await asyncio.to_thread(self.access.identify, client_of(request), credentials)
                if credentials.basic
                else self.access.identify(client_of(request), credentials)
            )
        except Throttled as exc:
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _error(429, str(exc), "too_many_attempts", {"Retry-After": str(exc.retry_after)})(
                scope, receive, send_with_headers
            )
        scope.setdefault("state", {})["principal"] = principal

        if self.access.enabled and principal is None and path not in PUBLIC_PATHS:
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await self._unauthenticated(request)(scope, receive, send_with_headers)

        if scope["type"] == "http" and request.method == "POST":
            refusal = self._gradio_upload_refusal(request, principal)
            if refusal is None and path.startswith(GRADIO_PREFIX) and path != GRADIO_UPLOAD:
                receive, refusal = await self._gradio_event_refusal(request, receive, principal)
            if refusal is not None:
                return await refusal(scope, receive, send_with_headers)
        return await self.app(scope, receive, send_with_headers)

    def _unauthenticated(self, request: Request) -> Response:
        path = request.url.path
        if request.method == "GET" and "text/html" in request.headers.get("accept", "") and not path.startswith("/v1/"):
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return _error(
            401,
            "authentication required",
            "unauthorized",
            {"WWW-Authenticate": 'Basic realm="regqa"'} if path.startswith("/v1/") else None,
        )

    def _gradio_upload_refusal(self, request: Request, principal: Principal | None) -> Response | None:
        if request.url.path != GRADIO_UPLOAD:
            return None
        if not self.access.may_change_documents(principal):
            return _error(403, "uploads are not allowed for this user (or are off)", "forbidden")
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            return _error(411, "uploads need a Content-Length", "length_required")
        if int(length) > self.upload_limit:
            return _error(413, f"file too large (limit {self.upload_limit / 1024 / 1024:g} MB)", "too_large")
        return None

    async def _gradio_event_refusal(self, request: Request, receive, principal: Principal | None):
        """Read a Gradio event's body (small JSON), refuse document events for those who may not change
        documents, and hand the same body on to Gradio."""
        if self.access.may_change_documents(principal):
            return receive, None
        forbidden = _error(403, "only an admin may add or remove documents", "forbidden")
        if DOCUMENT_EVENTS & set(request.url.path.split("/")):  # /gradio_api/{call,run,api,call/v2}/add_documents
            return receive, forbidden
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_EVENT_BODY:
                return receive, _error(413, "request body too large", "too_large")
        try:
            data = json.loads(body or b"{}")
            raw = data.get("fn_index") if isinstance(data, dict) else None
            fn_index = int(float(raw)) if raw is not None and float(raw).is_integer() else None
        except (ValueError, TypeError, AttributeError, OverflowError):
            fn_index = None  # Gradio refuses what it cannot read either
        refusal = forbidden if fn_index in self.document_events() else None
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, refusal


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host names the app answers to (a page on another domain rebound to this address is refused):
    loopback, the host it is bound to, REGQA_ALLOWED_HOSTS, and the hosts of REGQA_ALLOWED_ORIGINS. Bound to every
    interface with none of these named, any host is accepted (``regqa serve`` warns)."""
    named = [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    named += [urlsplit(o.strip()).hostname or "" for o in settings.allowed_origins.split(",") if o.strip()]
    named = [h for h in named if h]
    if settings.host in ("0.0.0.0", "::", "") and not named:
        return ["*"]
    return ["127.0.0.1", "localhost", "::1", "[::1]", "testserver", settings.host, *named]
