"""The sign-in page: ``GET/POST /login`` (a plain form; the same message for an unknown user and a wrong
password; 429 when throttled) and ``/logout``. Included before the UI is mounted, so they take precedence over
Gradio's own routes."""

from __future__ import annotations

import asyncio
import html
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from assistant.security import SESSION_COOKIE, AccessControl, Principal, Throttled
from assistant.web.dependencies import Context
from assistant.web.guard import client_of

router = APIRouter()

LOGIN_PAGE = """<!doctype html><html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>regqa — sign in / 登录</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:360px;margin:12vh auto;padding:0 16px}}
label{{display:block;margin-top:12px}}input{{width:100%;padding:8px;font-size:16px;box-sizing:border-box}}
button{{margin-top:16px;padding:8px 16px;font-size:16px}}.error{{color:#c62828}}</style></head>
<body><h1>regqa</h1><p>AI-safety regulation Q&amp;A · AI 安全法规问答</p>
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>User / 用户名<input name="username" autocomplete="username" id="username"></label>
<label>Password or API token / 密码或 API 令牌<input name="password" type="password" id="password"
 autocomplete="current-password"></label>
<button type="submit" id="login">Sign in / 登录</button></form><p class="error" id="login-error">{error}</p>
</body></html>"""


LOGOUT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>regqa — sign out / 退出</title></head>
<body style="font-family:system-ui,sans-serif;max-width:360px;margin:12vh auto"><form method="post" action="/logout">
<button type="submit" id="logout">Sign out / 退出登录</button></form></body></html>"""


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith(("//", "/\\")) else "/"


def _access(context: Context) -> AccessControl:
    return context.access


Access = Annotated[AccessControl, Depends(_access)]


@router.get("/login", include_in_schema=False)
def login_page(next: str = "/"):
    return HTMLResponse(LOGIN_PAGE.format(next=html.escape(_safe_next(next)), error=""))


def _signed_in(request: Request, access: AccessControl, principal: Principal, target: str) -> RedirectResponse:
    """Off to ``target`` with a new session cookie."""
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        access.sessions.issue(principal.user, access.credential_of(principal.user) or ""),
        max_age=access.sessions.max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/login", include_in_schema=False)
async def login(request: Request, access: Access):
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    user = (form.get("username") or [""])[0].strip()
    password = (form.get("password") or [""])[0]
    target = _safe_next((form.get("next") or ["/"])[0])
    try:
        principal = (
            await asyncio.to_thread(access.login, client_of(request), user, password) if access.enabled else None
        )
    except Throttled as exc:
        page = LOGIN_PAGE.format(
            next=html.escape(target),
            error=html.escape(
                f"Too many failed attempts; try again in {exc.retry_after} s. / 尝试次数过多，请 {exc.retry_after} 秒后再试。"
            ),
        )
        return HTMLResponse(page, status_code=429, headers={"Retry-After": str(exc.retry_after)})
    if principal is None:
        if not access.enabled:
            return RedirectResponse("/", status_code=303)
        page = LOGIN_PAGE.format(next=html.escape(target), error="Wrong user name or password. / 用户名或密码错误。")
        return HTMLResponse(page, status_code=401)
    return _signed_in(request, access, principal, target)


@router.get("/logout", include_in_schema=False)
def logout_page():
    """A button, not an action: a GET (an image in a document, a link) must not sign anyone out."""
    return HTMLResponse(LOGOUT_PAGE)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, access: Access):
    access.sessions.revoke(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
