"""The Slack bot (slack_bolt): app mentions and direct messages, answered in the thread.

HTTP mode: ``POST /slack/events`` on the web server (``router``). Every request is checked before Bolt sees it:
the v0 signature (``slack_sdk.signature.SignatureVerifier``: HMAC-SHA256 over ``v0:{timestamp}:{body}`` with the
signing secret; 401 when missing or wrong), the timestamp within five minutes (403), and the exact signed request
not seen before (403: a replay;
Slack's own retries carry ``X-Slack-Retry-Num`` and go on to the dedupe). Bolt then verifies the signature
again, answers ``url_verification`` and dispatches events.

Socket Mode (``regqa slack --socket``): the same Bolt app over a WebSocket opened with the app-level token.

Either way, a global Bolt middleware drops, synchronously and before the 200 goes back, duplicate
``event_id``s (Slack's retries) and a second event for the same message (a mention in a DM arrives both as
``app_mention`` and ``message.im``), other bots' messages and edits. Accepted events are acknowledged at once
and answered by Bolt's listener threads: a "thinking…" message in the thread, replaced (``chat.update``) by
the answer as Block Kit (the answer's mrkdwn sections, a divider, the citations as links; ``text`` carries the
plain fallback), with further thread replies when the answer is longer than one message.

Conversations (``conversations.py``): a follow-up in a thread is answered with the thread's earlier turns; a
direct message outside a thread continues the DM's conversation with that user. "新话题" / "new topic" /
"/reset" forgets it; "义务清单 …" / "obligations <role> …" goes to the obligations checklist hook.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import DividerBlock, MarkdownTextObject, SectionBlock
from slack_sdk.signature import SignatureVerifier

from assistant.answering.models import Answer
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
    render_citations,
    split_text,
    text_as_answer,
    thinking_message,
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


MESSAGE_TEXT_LIMIT = SECTION_LIMIT  # a message's plain-text fallback (all its sections' text) stays within this
MESSAGE_BLOCK_LIMIT = 50  # Slack's limit of blocks in one message


def _section(text: str) -> dict:
    return SectionBlock(text=MarkdownTextObject(text=text)).to_dict()  # slack_sdk checks the 3000 limit


def slack_messages(answer: Answer) -> list[tuple[str, list[dict]]]:
    """An answer as Slack messages, each (plain-text fallback, Block Kit blocks): the answer's text first, as
    mrkdwn sections of at most 3000 characters, then a divider and the citations as links to the official
    text. Sections are packed into as few messages as keep each fallback within 3000 characters."""
    parts = [(False, p) for p in slack_pieces(render_answer(answer, SLACK_STYLE, citations=False))]
    sources = render_citations(answer, SLACK_STYLE)
    if sources:
        parts += [(i == 0, p) for i, p in enumerate(slack_pieces(sources))]  # (divider before it, text)
    messages: list[tuple[str, list[dict]]] = []
    texts: list[str] = []
    blocks: list[dict] = []
    for divider, text in parts:
        if not text.strip():
            continue
        size = sum(len(t) + 2 for t in texts) + len(text)  # the fallback: the sections joined by blank lines
        if texts and (size > MESSAGE_TEXT_LIMIT or len(blocks) + 2 > MESSAGE_BLOCK_LIMIT):
            messages.append(("\n\n".join(texts), blocks))
            texts, blocks = [], []
        if divider and blocks:
            blocks.append(DividerBlock().to_dict())
        texts.append(text)
        blocks.append(_section(text))
    if texts:
        messages.append(("\n\n".join(texts), blocks))
    return messages or [("…", [_section("…")])]


def message_blocks(text: str, language: str) -> list[tuple[str, list[dict]]]:
    """A fixed message or command reply (Markdown) as Slack messages."""
    return slack_messages(text_as_answer(text, language))


# ---- the bot -----------------------------------------------------------------------------------------------------
def conversation_key(event: dict) -> str:
    """Whose memory a message continues: its thread (channel + thread_ts; a mention outside a thread starts
    the thread the answer goes to), or, for a direct message outside a thread, the DM channel + user."""
    channel = event.get("channel", "")
    if event.get("thread_ts"):
        return f"slack:{event.get('team', '')}:{channel}:thread:{event['thread_ts']}"
    if event.get("type") == "message" and event.get("channel_type") == "im":
        return f"slack:{event.get('team', '')}:{channel}:user:{event.get('user', '')}"
    return f"slack:{event.get('team', '')}:{channel}:thread:{event.get('ts', '')}"


class SlackChannel:
    def __init__(self, holder: ServiceHolder, settings: Settings, checklist: Checklist | None = None) -> None:
        self.holder = holder
        self.settings = settings
        self.conversations = ConversationStore.from_settings(settings)
        self.checklist = checklist  # None: assistant.obligations.checklist_for_chat, looked up when asked
        base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
        self.client = WebClient(token=settings.slack_bot_token, base_url=base_url, timeout=15)
        self.jobs = JobTracker()
        self.limiter = RateLimiter(settings.bot_rate_limit_per_minute)
        self._event_ids = SeenSet(ttl_s=3 * 3600)  # Slack retries for up to about an hour
        self._messages = SeenSet(ttl_s=3 * 3600)
        self._signatures = SeenSet(ttl_s=2 * 300 + 60)
        # HTTP mode only (Socket Mode has no signing secret, and SignatureVerifier refuses an empty one)
        self.verifier = SignatureVerifier(settings.slack_signing_secret) if settings.slack_signing_secret else None
        self.app = App(
            name="regqa",
            client=self.client,
            signing_secret=settings.slack_signing_secret,
            # No auth.test at start-up: the web app must start even when Slack is unreachable. Bolt calls it
            # once, on the first event, to learn the bot's user id (to ignore its own messages).
            token_verification_enabled=False,
            listener_executor=ThreadPoolExecutor(
                max_workers=max(1, settings.bot_workers), thread_name_prefix="regqa-slack"
            ),
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
        if not self.signed(timestamp, body, signature):
            return 401, "invalid signature"
        if is_stale(timestamp):
            return 403, "stale timestamp (more than 5 minutes off)"
        if self._signatures.check_and_add(signature) and not headers.get("x-slack-retry-num"):
            return 403, "replayed request"
        return None

    def signed(self, timestamp: str, body: bytes, signature: str) -> bool:
        """The signature is the signing secret's over this timestamp and body. Checked apart from the time window
        (``SignatureVerifier.is_valid`` folds both into one False): a forged request is 401 whatever its
        timestamp, a stale genuine one 403."""
        if self.verifier is None:
            return False
        try:
            expected = self.verifier.generate_signature(timestamp=timestamp, body=body)
        except UnicodeDecodeError:  # Slack signs UTF-8 JSON or form bodies
            return False
        return expected is not None and hmac.compare_digest(expected, signature)

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
        command = parse_command(question)
        key = conversation_key(event)
        if command.kind == "reset":
            ((text, blocks),) = message_blocks(reset_message(language, self.conversations.reset(key)), language)
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
            return
        if not self.limiter.allow(f"{event.get('team', '')}:{user}"):
            client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=rate_limited_message(language, self.limiter.per_minute)
            )
            return
        try:  # a visible "seen" mark on the question; optional (needs reactions:write)
            client.reactions_add(channel=channel, timestamp=event["ts"], name="eyes")
        except SlackApiError as exc:
            log.debug("slack: reactions.add failed: %s", exc.response.get("error"))
        thinking = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=thinking_message(language))
        if command.kind == "obligations":
            messages = message_blocks(self.obligations(command, language), language)
        else:
            answer, message = answer_in_conversation(self.holder.get, self.conversations, key, question)
            if answer is not None and key != conversation_key({**event, "thread_ts": thread_ts}):
                # a DM outside a thread: the answer goes to the message's thread; a reply there continues from here
                self.conversations.fork(key, conversation_key({**event, "thread_ts": thread_ts}))
            messages = slack_messages(answer) if answer is not None else message_blocks(message, language)
        (first_text, first_blocks), rest = messages[0], messages[1:]
        client.chat_update(channel=thinking["channel"], ts=thinking["ts"], text=first_text, blocks=first_blocks)
        for text, blocks in rest:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)

    def obligations(self, command, language: str) -> str:
        """The obligations command's reply (the hook to the obligation register)."""
        try:
            return checklist_reply(self.holder.get, command, language, self.checklist)
        except Exception:
            log.exception("slack: the obligations checklist failed")
            return failure_message(language)


# ---- HTTP mode on the web server -------------------------------------------------------------------------------
def router(channel: SlackChannel) -> APIRouter:
    """``POST /slack/events``: checked (``check_request``), then dispatched to Bolt."""
    routes = APIRouter()

    @routes.post(PATH, include_in_schema=False)
    async def slack_events(request: Request):
        body = await request.body()
        rejected = channel.check_request(request.headers, body)
        if rejected:
            status, reason = rejected
            log.warning("slack: rejected a request from %s: %s", request.client.host if request.client else "?", reason)
            return JSONResponse(status_code=status, content={"error": {"message": reason, "type": "unauthorized"}})
        bolt_response = await asyncio.to_thread(channel.app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    return routes


# ---- Socket Mode -------------------------------------------------------------------------------------------------
class SlackSocketMode(SocketModeHandler):
    """Bolt's ``SocketModeHandler`` for the bot, with the channel it serves (``.channel``)."""

    def __init__(self, channel: SlackChannel, app_token: str) -> None:
        super().__init__(channel.app, app_token)
        self.channel = channel


def socket_mode_handler(settings: Settings, holder: ServiceHolder | None = None) -> SlackSocketMode:
    """A Bolt ``SocketModeHandler`` for the bot (``.start()`` blocks; ``.connect()`` / ``.close()`` do not)."""
    if holder is None:
        holder = ServiceHolder(settings)
        holder.start()  # load the index and warm the model in the background
    return SlackSocketMode(SlackChannel(holder, settings), settings.slack_app_token)
