"""The WeCom (企业微信) bot: a self-built app's callback at ``/wecom/callback``, answers through the API.

- ``GET /wecom/callback?msg_signature&timestamp&nonce&echostr``: URL verification — the SHA1 signature over
  (Token, timestamp, nonce, echostr) is checked, echostr AES-decrypted (EncodingAESKey, corp ID) and returned.
- ``POST /wecom/callback?msg_signature&timestamp&nonce`` with the encrypted XML: signature checked (401 when
  missing or wrong, or when the ciphertext is not for this corp), timestamp within five minutes (403), the
  exact request not seen before (403, a replay), then decrypted with wechatpy's ``WeChatCrypto``. The reply
  is an empty 200 at once (WeCom waits 5 s, then retries); text questions are deduplicated by ``MsgId`` and
  answered in the background with ``POST {api}/cgi-bin/message/send`` — text messages of at most 2048 UTF-8
  bytes each, citations as clause labels with ``<a href>`` links. Each user's messages are one conversation:
  follow-ups are answered with the earlier turns until "新话题" / "new topic" or the idle time (``conversations.py``).
- The access token (``GET {api}/cgi-bin/gettoken``) is cached until shortly before it expires, and fetched
  again once when WeCom says it is invalid or expired.
- ``push_webhook`` / ``notify_ingest``: optional group-robot (群机器人) pushes, e.g. an ingest summary.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import xmltodict
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from assistant.channels.base import (
    JobTracker,
    RateLimiter,
    SeenSet,
    Style,
    answer_in_conversation,
    failure_message,
    is_stale,
    language_of,
    rate_limited_message,
    render_answer,
    split_text,
    text_as_answer,
    unsupported_message,
    utf8_len,
)
from assistant.channels.conversations import (
    Checklist,
    ConversationStore,
    checklist_reply,
    parse_command,
    reset_message,
)
from assistant.service_holder import ServiceHolder
from common.settings import Settings

log = logging.getLogger("assistant.channels.wecom")

PATH = "/wecom/callback"
TEXT_LIMIT_BYTES = 2048  # message/send text content
WEBHOOK_LIMIT_BYTES = 4096  # group robot markdown content
TOKEN_ERRORS = {40014, 42001}  # invalid / expired access_token: fetch a new one and send again
SETTING_NAMES = {
    "wecom_corp_id": "REGQA_WECOM_CORP_ID",
    "wecom_agent_id": "REGQA_WECOM_AGENT_ID",
    "wecom_secret": "REGQA_WECOM_SECRET",
    "wecom_token": "REGQA_WECOM_TOKEN",
    "wecom_aes_key": "REGQA_WECOM_AES_KEY",
}


def missing_settings(settings: Settings) -> list[str]:
    return [env for field, env in SETTING_NAMES.items() if not getattr(settings, field)]


class WeComAPIError(RuntimeError):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeCom API error {errcode}: {errmsg}")
        self.errcode = errcode


# ---- formatting ------------------------------------------------------------------------------------------------
def _link(url: str, label: str) -> str:
    return f'<a href="{url.replace(chr(34), "%22")}">{label.replace("<", "＜").replace(">", "＞")}</a>'


WECOM_STYLE = Style(
    escape=lambda text: text,
    bold=lambda text: text if text.startswith("《") else f"【{text}】",
    inline_bold=lambda text: text,
    quote="",
    link=_link,
    sources_heading=lambda language: "出处：" if language == "zh" else "Sources:",
)


def wecom_pieces(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    return split_text(text, limit, utf8_len) or [text]


class _Redact(logging.Filter):
    """httpx logs request URLs at INFO: hide the access token and the app secret in them."""

    _SECRET = re.compile(r"((?:access_token|corpsecret|key)=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                self._SECRET.sub(r"\1***", a)
                if isinstance(a, str)
                else self._SECRET.sub(r"\1***", str(a))
                if isinstance(a, httpx.URL)
                else a
                for a in record.args
            )
        return True


def redact_http_logs() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _Redact) for f in logger.filters):
        logger.addFilter(_Redact())


# ---- the outgoing API ------------------------------------------------------------------------------------------
class WeComAPI:
    """gettoken (cached) and message/send. Never logs the secret or the token."""

    def __init__(self, settings: Settings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self.base = settings.wecom_api_url.rstrip("/")
        self.http = http or httpx.Client(timeout=15)
        redact_http_logs()
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def access_token(self, refresh: bool = False) -> str:
        with self._lock:
            if refresh or self._token is None or time.monotonic() >= self._expires_at:
                r = self.http.get(
                    f"{self.base}/cgi-bin/gettoken",
                    params={"corpid": self.settings.wecom_corp_id, "corpsecret": self.settings.wecom_secret},
                )
                r.raise_for_status()
                data = r.json()
                if data.get("errcode", 0) != 0 or not data.get("access_token"):
                    raise WeComAPIError(data.get("errcode", -1), data.get("errmsg", "no access_token"))
                expires_in = float(data.get("expires_in") or 7200)
                # renew shortly before WeCom's expiry: 5 minutes early (or at half-life for short tokens)
                self._expires_at = time.monotonic() + expires_in - min(300.0, expires_in / 2)
                self._token = data["access_token"]
            return self._token

    def send_text(self, user: str, content: str) -> None:
        agent = self.settings.wecom_agent_id
        payload = {
            "touser": user,
            "msgtype": "text",
            "agentid": int(agent) if agent.isdigit() else agent,
            "text": {"content": content},
            "safe": 0,
        }
        for attempt in (0, 1):
            r = self.http.post(
                f"{self.base}/cgi-bin/message/send",
                params={"access_token": self.access_token(refresh=attempt > 0)},
                json=payload,
            )
            r.raise_for_status()
            data = r.json()
            code = data.get("errcode", 0)
            if code == 0:
                return
            if code not in TOKEN_ERRORS or attempt:
                raise WeComAPIError(code, data.get("errmsg", ""))
            log.info("wecom: access token rejected (%s), fetching a new one", code)


# ---- the bot -----------------------------------------------------------------------------------------------------
def conversation_key(message) -> str:
    """Whose memory a message continues: the WeCom user (in this corp and app)."""
    return f"wecom:{getattr(message, 'agent', '') or ''}:{message.source}"


class WeComChannel:
    def __init__(
        self,
        holder: ServiceHolder,
        settings: Settings,
        http: httpx.Client | None = None,
        checklist: Checklist | None = None,
    ) -> None:
        self.holder = holder
        self.settings = settings
        self.conversations = ConversationStore.from_settings(settings)
        self.checklist = checklist  # None: assistant.obligations.checklist_for_chat, looked up when asked
        self.crypto = WeChatCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
        self.api = WeComAPI(settings, http)
        self.executor = ThreadPoolExecutor(max_workers=max(1, settings.bot_workers), thread_name_prefix="regqa-wecom")
        self.jobs = JobTracker()
        self.limiter = RateLimiter(settings.bot_rate_limit_per_minute)
        self._messages = SeenSet(ttl_s=3600)
        self._signatures = SeenSet(ttl_s=2 * 300 + 60)

    # -- the callback ------------------------------------------------------------------------------------------------
    def verify_url(self, params) -> tuple[int, str]:
        signature, timestamp, nonce = params.get("msg_signature"), params.get("timestamp"), params.get("nonce")
        echostr = params.get("echostr")
        if not (signature and timestamp and nonce and echostr):
            return 401, "missing msg_signature / timestamp / nonce / echostr"
        try:
            plain = self.crypto.check_signature(signature, timestamp, nonce, echostr)
        except InvalidSignatureException:
            return 401, "invalid signature"
        except Exception:  # bad base64/padding, or encrypted for another corp ID
            return 401, "echostr does not decrypt with this app's key and corp ID"
        if is_stale(timestamp):
            return 403, "stale timestamp (more than 5 minutes off)"
        return 200, plain

    def receive(self, params, body: bytes) -> tuple[int, str]:
        """Check, decrypt and accept one callback POST; returns (status, reason or "")."""
        signature, timestamp, nonce = params.get("msg_signature"), params.get("timestamp"), params.get("nonce")
        if not (signature and timestamp and nonce):
            return 401, "missing msg_signature / timestamp / nonce"
        try:
            envelope = xmltodict.parse(body.decode("utf-8"))["xml"]
            if not isinstance(envelope, dict) or not envelope.get("Encrypt"):
                raise KeyError("Encrypt")
        except Exception as exc:  # not UTF-8, not XML, no Encrypt element
            return 400, f"not a WeCom callback body ({type(exc).__name__})"
        try:
            xml = self.crypto.decrypt_message(envelope, signature, timestamp, nonce)
        except InvalidSignatureException:
            return 401, "invalid signature"
        except Exception as exc:  # signed with our Token but not encrypted with our key, or for another corp ID
            return 401, f"undecryptable message ({type(exc).__name__})"
        if is_stale(timestamp):
            return 403, "stale timestamp (more than 5 minutes off)"
        if self._signatures.check_and_add(signature):
            return 403, "replayed request"
        try:
            message = parse_message(xml)
        except Exception as exc:
            return 400, f"unreadable message ({type(exc).__name__})"
        self.accept(message)
        return 200, ""

    def accept(self, message) -> None:
        if message.type == "event":
            log.debug("wecom: event %s ignored", getattr(message, "event", "?"))
            return
        agent = str(getattr(message, "agent", "") or "")
        if agent and self.settings.wecom_agent_id and agent != str(self.settings.wecom_agent_id):
            log.info("wecom: message for agent %s ignored (this app is agent %s)", agent, self.settings.wecom_agent_id)
            return
        key = str(message.id or f"{message.source}:{message.create_time}:{message.type}")
        if self._messages.check_and_add(key):
            log.info("wecom: message %s not answered: duplicate MsgId (a retry)", key)
            return
        self.jobs.start()
        try:
            self.executor.submit(self._work, message)
        except Exception:
            self.jobs.done()
            raise

    def _work(self, message) -> None:
        try:
            self.handle(message)
        except (httpx.HTTPError, WeComAPIError) as exc:
            log.warning("wecom: sending the answer failed: %s", exc)
        except Exception:
            log.exception("wecom: handling a message failed")
        finally:
            self.jobs.done()

    def handle(self, message) -> None:
        user = message.source
        if message.type != "text":
            self.api.send_text(user, unsupported_message())
            return
        question = message.content or ""
        language = language_of(question)
        command = parse_command(question)
        key = conversation_key(message)
        if command.kind == "reset":
            self.api.send_text(user, reset_message(language, self.conversations.reset(key)))
            return
        if not self.limiter.allow(user):
            self.api.send_text(user, rate_limited_message(language, self.limiter.per_minute))
            return
        if command.kind == "obligations":
            text = render_answer(text_as_answer(self.obligations(command, language), language), WECOM_STYLE)
        else:
            answer, text = answer_in_conversation(self.holder.get, self.conversations, key, question)
            if answer is not None:
                text = render_answer(answer, WECOM_STYLE)
        for piece in wecom_pieces(text):
            self.api.send_text(user, piece)

    def obligations(self, command, language: str) -> str:
        """The obligations command's reply (the hook to the obligation register)."""
        try:
            return checklist_reply(self.holder.get, command, language, self.checklist)
        except Exception:
            log.exception("wecom: the obligations checklist failed")
            return failure_message(language)


def router(channel: WeComChannel) -> APIRouter:
    """``GET /wecom/callback`` (URL verification) and ``POST /wecom/callback`` (messages)."""
    routes = APIRouter()

    def rejected(request: Request, status: int, reason: str) -> JSONResponse:
        log.warning(
            "wecom: rejected a %s from %s: %s", request.method, request.client.host if request.client else "?", reason
        )
        return JSONResponse(status_code=status, content={"error": {"message": reason, "type": "unauthorized"}})

    @routes.get(PATH, include_in_schema=False)
    async def wecom_verify(request: Request):
        status, text = channel.verify_url(request.query_params)
        return PlainTextResponse(text) if status == 200 else rejected(request, status, text)

    @routes.post(PATH, include_in_schema=False)
    async def wecom_message(request: Request):
        body = await request.body()
        status, reason = await asyncio.to_thread(channel.receive, request.query_params, body)
        return PlainTextResponse("") if status == 200 else rejected(request, status, reason)

    return routes


# ---- group robot -------------------------------------------------------------------------------------------------
def push_webhook(settings: Settings, content: str, http: httpx.Client | None = None) -> int:
    """Push Markdown to the group robot at ``REGQA_WECOM_WEBHOOK_URL``; returns the messages sent (0: no URL)."""
    if not settings.wecom_webhook_url:
        return 0
    redact_http_logs()
    client = http or httpx.Client(timeout=15)
    sent = 0
    try:
        for piece in split_text(content, WEBHOOK_LIMIT_BYTES, utf8_len):
            r = client.post(settings.wecom_webhook_url, json={"msgtype": "markdown", "markdown": {"content": piece}})
            r.raise_for_status()
            data = r.json()
            if data.get("errcode", 0) != 0:
                raise WeComAPIError(data.get("errcode", -1), data.get("errmsg", ""))
            sent += 1
    finally:
        if http is None:
            client.close()
    return sent


def ingest_summary(report) -> str | None:
    """Markdown for the group robot after an ingest that added, replaced or removed documents (else None)."""
    if not (report.added or report.replaced or report.removed or report.failed):
        return None
    lines = [
        "**regqa 法规库已更新 / regulation index updated**",
        f"> 文档 documents: {report.documents} · 片段 chunks: {report.chunks}",
    ]
    for title, ids in (
        ("新增 added", report.added),
        ("更新 replaced", report.replaced),
        ("移除 removed", report.removed),
    ):
        if ids:
            lines.append(f"- {title} ({len(ids)}): " + ", ".join(f"`{i}`" for i in ids))
    if report.failed:
        lines.append(
            f'- <font color="warning">失败 failed ({len(report.failed)})</font>: '
            + ", ".join(f"`{getattr(f.path, 'name', f.path)}`" for f in report.failed)
        )
    return "\n".join(lines)


def notify_ingest(settings: Settings, report, http: httpx.Client | None = None) -> bool:
    """Push the ingest summary to the group robot when one is configured and the ingest changed something."""
    summary = ingest_summary(report)
    if summary is None or not settings.wecom_webhook_url:
        return False
    try:
        return push_webhook(settings, summary, http) > 0
    except (httpx.HTTPError, WeComAPIError) as exc:
        log.warning("wecom: webhook push failed: %s", type(exc).__name__)
        return False
