"""Helpers for the channel tests: the live server, Slack signing, WeCom encryption (as the platforms do it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
from support.live_server import LiveServer, free_port  # noqa: F401  (re-exported for the tests)

SLACK_BOT_TOKEN = "xoxb-test-bot-token"
SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
WECOM_CORP_ID = "wwcorp0123456789"
WECOM_AGENT_ID = "1000002"
WECOM_SECRET = "wecom-app-secret-for-tests"
WECOM_TOKEN = "wecomCallbackToken"
WECOM_AES_KEY = base64.b64encode(hashlib.sha256(b"regqa wecom test key").digest()).decode().rstrip("=")  # 43 chars
RATE_LIMIT = 3  # questions per user per minute in the test app


# ---- Slack requests, signed as Slack signs them -------------------------------------------------------------------
_counter = iter(range(1, 10**9))


def new_ts() -> str:
    return f"{int(time.time())}.{next(_counter):06d}"


def slack_event(event: dict, event_id: str | None = None) -> dict:
    return {
        "token": "legacy-verification-token",
        "team_id": "T0TEST",
        "api_app_id": "A0TEST",
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": "T0TEST", "user_id": "UBOT", "is_bot": True}],
    }


def mention(text: str, *, channel: str, user: str = "UALICE", ts: str | None = None, **extra) -> dict:
    ts = ts or new_ts()
    return {
        "type": "app_mention",
        "user": user,
        "text": f"<@UBOT> {text}",
        "ts": ts,
        "event_ts": ts,
        "channel": channel,
        "team": "T0TEST",
        **extra,
    }


def direct_message(text: str, *, channel: str, user: str = "UALICE", ts: str | None = None) -> dict:
    ts = ts or new_ts()
    return {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel": channel,
        "team": "T0TEST",
    }


def slack_headers(body: str, *, secret: str = SLACK_SIGNING_SECRET, timestamp: int | None = None) -> dict:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def post_slack(
    server: LiveServer, payload: dict | str, *, headers: dict | None = None, retry: int | None = None, **sign
) -> httpx.Response:
    body = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    headers = dict(headers or slack_headers(body, **sign))
    if retry is not None:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    return httpx.post(server.url + "/slack/events", content=body.encode(), headers=headers, timeout=10)


# ---- WeCom requests, encrypted as WeCom encrypts them ---------------------------------------------------------------
def wecom_crypto():
    from wechatpy.enterprise.crypto import WeChatCrypto

    return WeChatCrypto(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP_ID)


def wecom_signature(token: str, timestamp: str, nonce: str, data: str) -> str:
    """WeCom's msg_signature: SHA1 over the sorted (Token, timestamp, nonce, data) strings."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, data])).encode()).hexdigest()


def text_message_xml(
    content: str, *, user: str, msg_id: int, agent: str = WECOM_AGENT_ID, msg_type: str = "text"
) -> str:
    body = (
        f"<Content><![CDATA[{content}]]></Content>"
        if msg_type == "text"
        else "<PicUrl><![CDATA[https://example.invalid/p.png]]></PicUrl><MediaId><![CDATA[media1]]></MediaId>"
    )
    return (
        f"<xml><ToUserName><![CDATA[{WECOM_CORP_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>{body}<MsgId>{msg_id}</MsgId>"
        f"<AgentID>{agent}</AgentID></xml>"
    )


def encrypted_request(
    xml: str, *, crypto=None, timestamp: int | None = None, nonce: str | None = None
) -> tuple[dict, str]:
    """(query params, POST body) as WeCom sends them for ``xml``."""
    import xmltodict

    ts = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or uuid.uuid4().hex[:10]
    envelope = xmltodict.parse((crypto or wecom_crypto()).encrypt_message(xml, nonce, ts))["xml"]
    body = (
        f"<xml><ToUserName><![CDATA[{WECOM_CORP_ID}]]></ToUserName>"
        f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt>"
        f"<AgentID><![CDATA[{WECOM_AGENT_ID}]]></AgentID></xml>"
    )
    return {"msg_signature": envelope["MsgSignature"], "timestamp": ts, "nonce": nonce}, body


def post_wecom(server: LiveServer, params: dict, body: str) -> httpx.Response:
    return httpx.post(
        server.url + "/wecom/callback",
        params=params,
        content=body.encode(),
        headers={"Content-Type": "text/xml"},
        timeout=10,
    )
