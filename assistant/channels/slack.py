"""The Slack bot (slack_bolt): app mentions and direct messages, answered in the thread.

HTTP mode: ``POST /slack/events`` on the web server (``mount``). Every request is checked before Bolt sees it:
the v0 HMAC-SHA256 signature over ``v0:{timestamp}:{body}`` with the signing secret (401 when missing or
wrong), the timestamp within five minutes (403), and the exact signed request not seen before (403: a replay;
Slack's own retries carry ``X-Slack-Retry-Num`` and go on to the dedupe). Bolt then verifies the signature
again, answers ``url_verification`` and dispatches events.

Socket Mode (``regqa slack --socket``): the same Bolt app over a WebSocket opened with the app-level token.

Either way, a global Bolt middleware drops, synchronously and before the 200 goes back, duplicate
``event_id``s (Slack's retries) and a second event for the same message (a mention in a DM arrives both as
``app_mention`` and ``message.im``), other bots' messages and edits. Accepted events are acknowledged at once
and answered by Bolt's listener threads: a "thinking…" message in the thread, replaced (``chat.update``) by
the answer, with further thread replies when the answer is longer than one message.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from assistant.channels.base import (
    JobTracker,
    RateLimiter,
    SeenSet,
    Style,
    answer_or_message,
    is_stale,
    language_of,
    rate_limited_message,
    render_answer,
    split_text,
    thinking_message,
)
from assistant.config import Settings

from fastapi import FastAPI, Request

log = logging.getLogger("assistant.channels.slack")

SECTION_LIMIT = 3000  # characters in a section block's text; also well under the 4000 a message's text should stay
PATH = "/slack/events"


def missing_settings(settings: Settings, socket: bool = False) -> list[str]:
    """The env names still needed for HTTP mode (or Socket Mode)."""
    needed = {"REGQA_SLACK_BOT_TOKEN": settings.slack_bot_token}
    if socket:
        needed["REGQA_SLACK_APP_TOKEN"] = settings.slack_app_token
    else:
        needed["REGQA_SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    return [name for name, value in needed.items() if not value]


# ---- formatting ------------------------------------------------------------------------------------------------
def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    return f"<{escape(url).replace('|', '%7C')}|{escape(label).replace('|', '¦')}>"


SLACK_STYLE = Style(
    escape=escape,
    bold=lambda text: f"*{text}*",
    inline_bold=lambda text: f"*{text}*",
    quote="> ",
    link=_link,
    sources_heading=lambda language: "*出处*" if language == "zh" else "*Sources*",
)


def slack_pieces(text: str) -> list[str]:
    return split_text(text, SECTION_LIMIT) or [text]


def question_text(text: str, bot_user_id: str | None) -> str:
    """The question in a Slack message: without the bot's mention, links shown by label, entities decoded."""
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", " ")
    else:
        text = re.sub(r"^\s*<@[UW][A-Z0-9]+>", " ", text)
    text = re.sub(r"<(?:https?|mailto):[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<((?:https?|mailto):[^>]*)>", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _blocks(piece: str) -> list[dict]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}}]


# ---- the bot -----------------------------------------------------------------------------------------------------
class SlackChannel:
    def __init__(self, holder, settings: Settings) -> None:
        self.holder = holder
        self.settings = settings
        base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
        self.client = WebClient(token=settings.slack_bot_token, base_url=base_url, timeout=15)
        self.jobs = JobTracker()
        self.limiter = RateLimiter(settings.bot_rate_limit_per_minute)
        self._event_ids = SeenSet(ttl_s=3 * 3600)  # Slack retries for up to about an hour
        self._messages = SeenSet(ttl_s=3 * 3600)
        self._signatures = SeenSet(ttl_s=2 * 300 + 60)
        self.app = App(
            name="regqa",
            client=self.client,
            signing_secret=settings.slack_signing_secret,
            # No auth.test at start-up: the web app must start even when Slack is unreachable. Bolt calls it
            # once, on the first event, to learn the bot's user id (to ignore its own messages).
            token_verification_enabled=False,
            listener_executor=ThreadPoolExecutor(max_workers=max(1, settings.bot_workers),
                                                 thread_name_prefix="regqa-slack"),
        )
        self.app.middleware(self._gate)
        self.app.event("app_mention")(self._listener)
        self.app.event("message")(self._listener)

    # -- HTTP mode: checks before Bolt --------------------------------------------------------------------------
    def check_request(self, headers, body: bytes) -> tuple[int, str] | None:
        """None when the request is genuine and fresh, else (status, reason) — the reason names no secret."""
        timestamp = headers.get("x-slack-request-timestamp")
        signature = headers.get("x-slack-signature")
        if not timestamp or not signature:
            return 401, "missing X-Slack-Request-Timestamp / X-Slack-Signature"
        basestring = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self.settings.slack_signing_secret.encode(), basestring,
                                    hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return 401, "invalid signature"
        if is_stale(timestamp):
            return 403, "stale timestamp (more than 5 minutes off)"
        if self._signatures.check_and_add(signature) and not headers.get("x-slack-retry-num"):
            return 403, "replayed request"
        return None

    # -- Bolt middleware: runs before the acknowledgement ----------------------------------------------------------
    def _gate(self, req: BoltRequest, resp: BoltResponse, next):
        body = req.body or {}
        if body.get("type") != "event_callback":
            return next()
        event = body.get("event") or {}
        reason = self._drop_reason(body, event, req.headers.get("x-slack-retry-num", [None])[0])
        if reason:
            log.info("slack: event %s not answered: %s", body.get("event_id", "?"), reason)
            return BoltResponse(status=200, body="")
        self.jobs.start()  # before the 200 goes back, so that an accepted question is always counted
        try:
            return next()
        except Exception:
            self.jobs.done()
            raise

    def _drop_reason(self, body: dict, event: dict, retry_num: str | None) -> str:
        kind = event.get("type")
        if kind not in ("app_mention", "message"):
            return f"unsupported event type {kind!r}"
        if kind == "message" and event.get("channel_type") != "im":
            return "not a direct message"
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return "an edit, a bot or a system message"
        event_id = body.get("event_id")
        if event_id and self._event_ids.check_and_add(str(event_id)):
            return f"duplicate event_id (retry {retry_num})" if retry_num else "duplicate event_id"
        if self._messages.check_and_add(f"{event.get('channel')}:{event.get('ts')}"):
            return "this message was already answered (another event for it)"
        return ""

    # -- listener: Bolt runs it in its thread pool after acknowledging -----------------------------------------
    def _listener(self, event: dict, context, client: WebClient) -> None:
        try:
            self.handle(event, context.get("bot_user_id"), client)
        except SlackApiError as exc:
            log.warning("slack: API call failed: %s", exc.response.get("error"))
        except Exception:
            log.exception("slack: handling an event failed")
        finally:
            self.jobs.done()

    def handle(self, event: dict, bot_user_id: str | None, client: WebClient) -> None:
        channel, user = event["channel"], event["user"]
        thread_ts = event.get("thread_ts") or event["ts"]
        question = question_text(event.get("text") or "", bot_user_id)
        language = language_of(question)
        if not self.limiter.allow(f"{event.get('team', '')}:{user}"):
            client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                    text=rate_limited_message(language, self.limiter.per_minute))
            return
        try:  # a visible "seen" mark on the question; optional (needs reactions:write)
            client.reactions_add(channel=channel, timestamp=event["ts"], name="eyes")
        except SlackApiError as exc:
            log.debug("slack: reactions.add failed: %s", exc.response.get("error"))
        thinking = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=thinking_message(language))
        answer, message = answer_or_message(self.holder.get, question)
        pieces = slack_pieces(render_answer(answer, SLACK_STYLE)) if answer is not None else [escape(message)]
        first, rest = pieces[0], pieces[1:]
        client.chat_update(channel=thinking["channel"], ts=thinking["ts"], text=first, blocks=_blocks(first))
        for piece in rest:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=piece, blocks=_blocks(piece))


# ---- HTTP mode on the web server -------------------------------------------------------------------------------
def mount(app: FastAPI, channel: SlackChannel) -> None:
    from fastapi.responses import JSONResponse
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

    @app.post(PATH, include_in_schema=False)
    async def slack_events(request: Request):
        body = await request.body()
        rejected = channel.check_request(request.headers, body)
        if rejected:
            status, reason = rejected
            log.warning("slack: rejected a request from %s: %s",
                        request.client.host if request.client else "?", reason)
            return JSONResponse(status_code=status, content={"error": {"message": reason, "type": "unauthorized"}})
        bolt_response = await asyncio.to_thread(channel.app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)


# ---- Socket Mode -------------------------------------------------------------------------------------------------
def socket_mode_handler(settings: Settings, holder=None):
    """A Bolt ``SocketModeHandler`` for the bot (``.start()`` blocks; ``.connect()`` / ``.close()`` do not)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    if holder is None:
        from assistant.web import ServiceHolder

        holder = ServiceHolder(settings)
        holder.start()  # load the index and warm the model in the background
    channel = SlackChannel(holder, settings)
    handler = SocketModeHandler(channel.app, settings.slack_app_token)
    handler.channel = channel
    return handler
