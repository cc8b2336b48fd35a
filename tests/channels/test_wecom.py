"""The WeCom bot over real HTTP: callbacks encrypted and signed as WeCom does it (wechatpy's WeChatCrypto), answers
read back from the fake WeCom API (gettoken, message/send) and group robot."""

from __future__ import annotations

import html
import logging
import re
import time

import httpx
import pytest
from channel_support import (
    RATE_LIMIT,
    WECOM_AES_KEY,
    WECOM_AGENT_ID,
    WECOM_CORP_ID,
    WECOM_SECRET,
    WECOM_TOKEN,
    LiveServer,
    encrypted_request,
    post_wecom,
    text_message_xml,
    wecom_crypto,
    wecom_signature,
)

GENAI_Q12 = "《生成式人工智能服务管理暂行办法》第十二条规定了什么？"
LONG_ZH = "深度合成服务提供者的标识义务"
_ids = iter(range(7_000_000_000_000_000, 8_000_000_000_000_000))


def sends_to(fake, user: str) -> list:
    return fake.find("wecom", "message/send", lambda c: c.body.get("touser") == user)


def settle(server) -> None:
    assert server.channels.wecom.jobs.wait_idle(timeout=30), "the WeCom bot is still answering"


def ask(server, question: str, user: str, msg_id: int | None = None) -> httpx.Response:
    params, body = encrypted_request(text_message_xml(question, user=user, msg_id=msg_id or next(_ids)))
    return post_wecom(server, params, body)


def html_link(citation) -> str:
    return f'<a href="{citation.source_url}">{citation.label}</a>'


# ---- URL verification ----------------------------------------------------------------------------------------------
def _echostr(plain: str) -> str:
    from wechatpy.enterprise.crypto import PrpCrypto

    return PrpCrypto(wecom_crypto().key).encrypt(plain, WECOM_CORP_ID).decode()


def test_url_verification_round_trip(bot_server):
    plain = "1616140317555161061"
    echostr = _echostr(plain)
    ts, nonce = str(int(time.time())), "1372623149"
    params = {
        "msg_signature": wecom_signature(WECOM_TOKEN, ts, nonce, echostr),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": echostr,
    }
    r = httpx.get(bot_server.url + "/wecom/callback", params=params)
    assert r.status_code == 200 and r.text == plain

    forged = {**params, "msg_signature": wecom_signature("not-the-token", ts, nonce, echostr)}
    assert httpx.get(bot_server.url + "/wecom/callback", params=forged).status_code in (401, 403)
    assert httpx.get(bot_server.url + "/wecom/callback", params={"echostr": echostr}).status_code in (401, 403)
    old = str(int(time.time()) - 10 * 60)
    stale = {**params, "timestamp": old, "msg_signature": wecom_signature(WECOM_TOKEN, old, nonce, echostr)}
    assert httpx.get(bot_server.url + "/wecom/callback", params=stale).status_code in (401, 403)


# ---- messages --------------------------------------------------------------------------------------------------------
def test_text_message_is_answered_through_message_send(bot_server, fake, answer_service):
    started = time.perf_counter()
    r = ask(bot_server, GENAI_Q12, user="zhangsan")
    assert r.status_code == 200 and time.perf_counter() - started < 5  # within WeCom's 5 s
    assert r.text == ""  # no passive reply: the answer goes through the API
    (send,) = fake.wait_for("wecom", "message/send", lambda c: c.body.get("touser") == "zhangsan")
    settle(bot_server)
    assert len(sends_to(fake, "zhangsan")) == 1
    assert send.body["msgtype"] == "text" and send.body["agentid"] == int(WECOM_AGENT_ID)
    content = send.body["text"]["content"]
    expected = answer_service.answer(GENAI_Q12)
    for citation in expected.citations:
        assert html_link(citation) in content  # clause label, linked to the official text
    assert "对图片、视频等生成内容进行标识" in content and "出处" in content
    assert "**" not in content and "\n>" not in content  # no Markdown left in a WeCom text message
    assert send.query["access_token"] in fake.wecom_tokens


def test_access_token_is_fetched_once_and_reused(bot_server, fake):
    for user in ("lisi", "wangwu"):
        assert ask(bot_server, LONG_ZH, user=user).status_code == 200
    for user in ("lisi", "wangwu"):
        fake.wait_for("wecom", "message/send", lambda c, u=user: c.body.get("touser") == u)
    settle(bot_server)
    token_fetches = fake.find("wecom", "gettoken", lambda c: c.query.get("corpsecret") == WECOM_SECRET)
    assert len(token_fetches) == 1
    assert token_fetches[0].query["corpid"] == WECOM_CORP_ID
    token = token_fetches[0].response["access_token"]
    sends = sends_to(fake, "lisi") + sends_to(fake, "wangwu")
    assert len(sends) >= 2 and {s.query["access_token"] for s in sends} == {token}


def test_a_retried_msgid_is_not_answered_twice(bot_server, fake):
    msg_id = next(_ids)
    assert ask(bot_server, GENAI_Q12, user="zhaoliu", msg_id=msg_id).status_code == 200
    fake.wait_for("wecom", "message/send", lambda c: c.body.get("touser") == "zhaoliu")
    # WeCom's retries: the same message (same MsgId), encrypted again with a new nonce
    for _ in range(3):
        assert ask(bot_server, GENAI_Q12, user="zhaoliu", msg_id=msg_id).status_code == 200
    settle(bot_server)
    assert len(sends_to(fake, "zhaoliu")) == 1


def test_forged_stale_and_replayed_callbacks_are_rejected(bot_server, fake, caplog):
    from wechatpy.enterprise.crypto import WeChatCrypto

    caplog.set_level(logging.INFO)

    def xml(user: str) -> str:
        return text_message_xml(GENAI_Q12, user=user, msg_id=next(_ids))

    # signed with the wrong Token
    params, body = encrypted_request(xml("mallory"), crypto=WeChatCrypto("wrong-token", WECOM_AES_KEY, WECOM_CORP_ID))
    assert post_wecom(bot_server, params, body).status_code == 401
    # right Token, wrong EncodingAESKey (the ciphertext is not ours)
    other_key = "a" * 43
    params, body = encrypted_request(xml("mallory"), crypto=WeChatCrypto(WECOM_TOKEN, other_key, WECOM_CORP_ID))
    assert post_wecom(bot_server, params, body).status_code == 401
    # right keys, another corp ID inside the ciphertext
    params, body = encrypted_request(xml("mallory"), crypto=WeChatCrypto(WECOM_TOKEN, WECOM_AES_KEY, "wwothercorp"))
    assert post_wecom(bot_server, params, body).status_code == 401
    # no signature at all
    params, body = encrypted_request(xml("mallory"))
    assert post_wecom(bot_server, {"timestamp": params["timestamp"]}, body).status_code == 401
    # correctly signed but 10 minutes old
    params, body = encrypted_request(xml("mallory"), timestamp=int(time.time()) - 600)
    assert post_wecom(bot_server, params, body).status_code in (401, 403)
    # a genuine callback sent again byte for byte
    params, body = encrypted_request(xml("trent"))
    assert post_wecom(bot_server, params, body).status_code == 200
    assert post_wecom(bot_server, params, body).status_code in (401, 403)

    settle(bot_server)
    assert not sends_to(fake, "mallory")
    assert len(sends_to(fake, "trent")) == 1
    assert len([r for r in caplog.records if "rejected" in r.getMessage()]) >= 5
    for secret in (WECOM_AES_KEY, WECOM_SECRET, WECOM_TOKEN):
        assert not any(secret in r.getMessage() for r in caplog.records)


def _normal(text: str) -> str:
    return re.sub(r"[\s>*【】]", "", html.unescape(re.sub(r"<[^>]+>", "", text)))


def test_long_answer_is_split_to_2048_bytes(bot_server, fake, answer_service):
    expected = answer_service.answer(LONG_ZH)
    assert len(expected.text.encode()) > 2048  # the premise: more than one WeCom text message
    assert ask(bot_server, LONG_ZH, user="sunqi").status_code == 200
    fake.wait_for("wecom", "message/send", lambda c: c.body.get("touser") == "sunqi")
    settle(bot_server)
    sends = sends_to(fake, "sunqi")
    assert len(sends) >= 2
    pieces = [s.body["text"]["content"] for s in sends]
    assert all(len(p.encode("utf-8")) <= 2048 for p in pieces)
    delivered = "\n".join(pieces)
    for citation in expected.citations:
        assert html_link(citation) in delivered  # no link cut in two
        for line in citation.quote.splitlines():
            assert _normal(line) in _normal(delivered), line
    assert _normal(expected.text.splitlines()[0]) in _normal(pieces[0])


def test_rate_limit_sends_a_polite_message(bot_server, fake):
    for i in range(RATE_LIMIT + 1):
        assert (
            ask(bot_server, f"What does the UN resolution say about human rights? {i}", user="ratelimited").status_code
            == 200
        )
    settle(bot_server)
    contents = [s.body["text"]["content"] for s in sends_to(fake, "ratelimited")]
    polite = [c for c in contents if "per minute" in c]
    assert len(polite) == 1 and str(RATE_LIMIT) in polite[0]
    assert sum("Sources:" in c for c in contents) == RATE_LIMIT


def test_non_text_messages_get_a_hint(bot_server, fake):
    params, body = encrypted_request(text_message_xml("", user="imageuser", msg_id=next(_ids), msg_type="image"))
    assert post_wecom(bot_server, params, body).status_code == 200
    (send,) = fake.wait_for("wecom", "message/send", lambda c: c.body.get("touser") == "imageuser")
    assert "文字" in send.body["text"]["content"]


# ---- token expiry (own app: its own token cache and secret) -------------------------------------------------------
@pytest.fixture
def second_app(channel_settings, answer_service):
    from assistant.web import create_app

    server = LiveServer(
        create_app(
            channel_settings.with_overrides(wecom_secret="second-app-secret"), service=answer_service, with_ui=False
        )
    ).start()
    yield server
    server.stop()


def test_an_expired_access_token_is_fetched_again(second_app, fake):
    assert ask(second_app, GENAI_Q12, user="expiry1").status_code == 200
    fake.wait_for("wecom", "message/send", lambda c: c.body.get("touser") == "expiry1")
    fake.expire_wecom_tokens()  # WeCom now answers 42001 for the cached token
    assert ask(second_app, GENAI_Q12, user="expiry2").status_code == 200
    settle(second_app)
    fetches = fake.find("wecom", "gettoken", lambda c: c.query.get("corpsecret") == "second-app-secret")
    assert len(fetches) == 2
    attempts = sends_to(fake, "expiry2")
    assert [a.response["errcode"] for a in attempts] == [42001, 0]
    assert attempts[-1].query["access_token"] == fetches[-1].response["access_token"]


# ---- group robot ----------------------------------------------------------------------------------------------------
def test_ingest_summary_is_pushed_to_the_group_robot(channel_settings, clean_index, fake, small_doc_ids):
    from assistant.channels.wecom import notify_ingest

    assert notify_ingest(channel_settings, clean_index.report)
    (push,) = fake.wait_for("wecom", "webhook/send", timeout=5)
    assert push.query["key"] == "robot-key" and push.body["msgtype"] == "markdown"
    content = push.body["markdown"]["content"]
    for doc_id in small_doc_ids:
        assert doc_id in content
    # nothing configured: nothing pushed
    assert not notify_ingest(channel_settings.with_overrides(wecom_webhook_url=""), clean_index.report)
    assert len(fake.find("wecom", "webhook/send")) == 1
