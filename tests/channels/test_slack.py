"""The Slack bot over real HTTP: events signed as Slack signs them, replies read back from the fake Web API.

Replies come from background threads, so the tests poll the fake's recorded calls (``wait_for``); to show that
something did *not* happen they wait until the bot has no question in flight (``jobs.wait_idle``) and then
look at what was recorded.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time

from channel_support import (
    RATE_LIMIT,
    SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET,
    direct_message,
    mention,
    new_ts,
    post_slack,
    slack_event,
    slack_headers,
)

GENAI_Q12 = "《生成式人工智能服务管理暂行办法》第十二条规定了什么？"
LONG_EN = "UN GA Resolution A/RES/78/311 paragraphs 5, 6, 7, 8, 9"


def slack_link(citation) -> str:
    """How a citation must appear in mrkdwn: <url|label> (with Slack's &, <, > escaping)."""

    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    return f"<{esc(citation.source_url)}|{esc(citation.label)}>"


def thread_messages(fake, channel: str, thread_ts: str) -> list[dict]:
    """The bot's messages in a thread, in order, each with its final text (after any chat.update)."""
    posts = fake.find(
        "slack", "chat.postMessage", lambda c: c.body.get("channel") == channel and c.body.get("thread_ts") == thread_ts
    )
    out = []
    for post in posts:
        ts = post.response["ts"]
        updates = fake.find(
            "slack", "chat.update", lambda c, ts=ts: c.body.get("channel") == channel and c.body.get("ts") == ts
        )
        final = updates[-1].body if updates else post.body
        out.append(
            {
                "ts": ts,
                "first_text": post.body["text"],
                "text": final["text"],
                "blocks": final.get("blocks"),
                "updated": bool(updates),
                "authorization": post.headers.get("authorization"),
            }
        )
    return out


def wait_answered(fake, channel: str, thread_ts: str, timeout: float = 30) -> list[dict]:
    """Wait until the thread's "thinking…" message has been replaced by the answer."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        messages = thread_messages(fake, channel, thread_ts)
        if messages and messages[0]["updated"]:
            return messages
        time.sleep(0.02)
    raise AssertionError(f"no answer in thread {channel}/{thread_ts}: {thread_messages(fake, channel, thread_ts)}")


def settle(bot_server) -> None:
    assert bot_server.channels.slack.jobs.wait_idle(timeout=30), "the Slack bot is still answering"


def test_url_verification_challenge(bot_server):
    r = post_slack(
        bot_server,
        {
            "token": "legacy",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        },
    )
    assert r.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in r.text


def test_mention_gets_one_threaded_reply_with_clause_links(bot_server, fake, answer_service):
    event = mention(GENAI_Q12, channel="CMENTION")
    started = time.perf_counter()
    r = post_slack(bot_server, slack_event(event))
    assert r.status_code == 200 and time.perf_counter() - started < 3  # acknowledged within Slack's 3 s

    messages = wait_answered(fake, "CMENTION", event["ts"])
    settle(bot_server)
    messages = thread_messages(fake, "CMENTION", event["ts"])
    assert len(messages) == 1, messages  # one reply, in the thread of the question (thread_ts = the event's ts)
    reply = messages[0]
    assert "正在检索" in reply["first_text"]  # the visible "thinking…" state, then chat.update with the answer
    assert reply["authorization"] == f"Bearer {SLACK_BOT_TOKEN}"
    expected = answer_service.answer(GENAI_Q12)
    assert expected.citations and not expected.refused
    for citation in expected.citations:
        assert slack_link(citation) in reply["text"]
    assert "《生成式人工智能服务管理暂行办法》第十二条" in reply["text"]
    assert "对图片、视频等生成内容进行标识" in reply["text"]  # the clause, quoted
    assert "**" not in reply["text"]  # Markdown bold became mrkdwn
    # Block Kit: the answer's sections, a divider, then the citations section; `text` is their plain fallback
    kinds = [b["type"] for b in reply["blocks"]]
    assert kinds[-2:] == ["divider", "section"] and set(kinds[:-2]) == {"section"}, kinds
    sections = [b["text"] for b in reply["blocks"] if b["type"] == "section"]
    assert all(t["type"] == "mrkdwn" and len(t["text"]) <= 3000 for t in sections)
    assert reply["text"] == "\n\n".join(t["text"] for t in sections)
    assert "对图片、视频等生成内容进行标识" in sections[0]["text"] and "<http" not in sections[0]["text"]
    sources = sections[-1]["text"].splitlines()
    assert sources == ["*出处*"] + [f"[{c.n}] {slack_link(c)}" for c in expected.citations]
    # the question was marked as seen
    assert fake.find("slack", "reactions.add", lambda c: c.body.get("timestamp") == event["ts"])
    # nothing went anywhere else
    assert all(
        c.body.get("thread_ts") == event["ts"]
        for c in fake.find("slack", "chat.postMessage", lambda c: c.body.get("channel") == "CMENTION")
    )


def test_direct_message_is_answered_in_its_thread(bot_server, fake, answer_service):
    question = "What does the UN resolution say about human rights?"
    event = direct_message(question, channel="DDIRECT", user="UBOB")
    assert post_slack(bot_server, slack_event(event)).status_code == 200
    wait_answered(fake, "DDIRECT", event["ts"])
    settle(bot_server)  # a long answer continues in further thread replies: wait for all of them
    messages = thread_messages(fake, "DDIRECT", event["ts"])
    expected = answer_service.answer(question)
    text = "".join(m["text"] for m in messages)
    for citation in expected.citations:
        assert slack_link(citation) in text
    assert "Thinking" in messages[0]["first_text"]


def test_retries_and_duplicate_events_never_answer_twice(bot_server, fake):
    event = mention("深度合成服务提供者的标识义务", channel="CRETRY", user="UCAROL")
    payload = slack_event(event)
    assert post_slack(bot_server, payload).status_code == 200
    wait_answered(fake, "CRETRY", event["ts"])

    # Slack's retries: the same event, re-signed, with X-Slack-Retry-Num
    for attempt in (1, 2):
        r = post_slack(bot_server, payload, retry=attempt)
        assert r.status_code == 200
    # the same event_id delivered again without a retry header (signed at another time: not a byte-identical replay)
    assert post_slack(bot_server, payload, timestamp=int(time.time()) - 30).status_code == 200
    # a mention in a DM also arrives as message.im: a different event_id for the same message
    dm_twin = slack_event({**direct_message(event["text"], channel="CRETRY", user="UCAROL", ts=event["ts"])})
    assert post_slack(bot_server, dm_twin).status_code == 200

    settle(bot_server)
    messages = thread_messages(fake, "CRETRY", event["ts"])
    assert len(messages) == 1 and messages[0]["updated"]
    assert len(fake.find("slack", "chat.update", lambda c: c.body.get("channel") == "CRETRY")) == 1


def test_forged_stale_and_replayed_requests_are_rejected(bot_server, fake, caplog):
    caplog.set_level(logging.INFO)
    forged = slack_event(mention(GENAI_Q12, channel="CFORGED"))
    r = post_slack(bot_server, forged, secret="not-the-signing-secret")
    assert r.status_code == 401

    unsigned = json.dumps(slack_event(mention(GENAI_Q12, channel="CFORGED")))
    r = post_slack(bot_server, unsigned, headers={"Content-Type": "application/json"})
    assert r.status_code == 401

    # a correctly signed body with its signature moved onto another body
    body_a = json.dumps(slack_event(mention(GENAI_Q12, channel="CFORGED")))
    body_b = json.dumps(slack_event(mention("another question", channel="CFORGED")))
    assert post_slack(bot_server, body_b, headers=slack_headers(body_a)).status_code == 401

    stale = slack_event(mention(GENAI_Q12, channel="CFORGED"))
    r = post_slack(bot_server, stale, timestamp=int(time.time()) - 6 * 60)  # correctly signed, 6 minutes old
    assert r.status_code in (401, 403)

    # a replay: a genuine request captured and sent again byte for byte
    genuine = json.dumps(slack_event(mention(GENAI_Q12, channel="CREPLAY", user="UDAVE")))
    headers = slack_headers(genuine)
    assert post_slack(bot_server, genuine, headers=headers).status_code == 200
    assert post_slack(bot_server, genuine, headers=headers).status_code in (401, 403)

    settle(bot_server)
    assert not fake.find("slack", "chat.postMessage", lambda c: c.body.get("channel") == "CFORGED")
    assert len(fake.find("slack", "chat.postMessage", lambda c: c.body.get("channel") == "CREPLAY")) == 1
    rejections = [rec.getMessage() for rec in caplog.records if "rejected" in rec.getMessage()]
    assert len(rejections) >= 5
    assert not any(SLACK_SIGNING_SECRET in rec.getMessage() for rec in caplog.records)


def _normal(text: str) -> str:
    """Text as a reader sees it: entities decoded, no whitespace, quote or bold markers."""
    return re.sub(r"[\s>*]", "", html.unescape(text))


def test_long_answer_is_split_within_slack_limits(bot_server, fake, answer_service):
    expected = answer_service.answer(LONG_EN)
    assert len(expected.text) > 3000  # the premise: this answer does not fit one section block
    event = mention(LONG_EN, channel="CLONG", user="UERIN")
    assert post_slack(bot_server, slack_event(event)).status_code == 200
    wait_answered(fake, "CLONG", event["ts"])
    settle(bot_server)
    messages = thread_messages(fake, "CLONG", event["ts"])
    assert len(messages) >= 2
    for m in messages:
        assert len(m["text"]) <= 3000 and len(m["blocks"][0]["text"]["text"]) <= 3000
    delivered = "\n".join(m["text"] for m in messages)
    for citation in expected.citations:
        assert slack_link(citation) in delivered  # no link cut in two
        for line in citation.quote.splitlines():
            assert _normal(line) in _normal(delivered), line  # every clause, all of it, in order of pieces
    lead = expected.text.splitlines()[0]
    assert _normal(lead) in _normal(messages[0]["text"])


def test_rate_limit_sends_a_polite_message(bot_server, fake):
    events = [
        mention(f"深度合成服务提供者的标识义务 {i}", channel="CRATE", user="URATE") for i in range(RATE_LIMIT + 1)
    ]
    for event in events:
        assert post_slack(bot_server, slack_event(event)).status_code == 200
    settle(bot_server)
    answered = [
        e
        for e in events
        if thread_messages(fake, "CRATE", e["ts"]) and thread_messages(fake, "CRATE", e["ts"])[0]["updated"]
    ]
    limited = [e for e in events if e not in answered]
    assert len(answered) == RATE_LIMIT and len(limited) == 1
    (reply,) = thread_messages(fake, "CRATE", limited[0]["ts"])
    assert f"{RATE_LIMIT}" in reply["text"] and "分钟" in reply["text"]
    # another user is not affected
    other = mention("深度合成服务提供者的标识义务", channel="CRATE", user="UOTHER")
    post_slack(bot_server, slack_event(other))
    wait_answered(fake, "CRATE", other["ts"])


def test_an_empty_mention_asks_for_a_question(bot_server, fake):
    event = mention("", channel="CEMPTY", user="UFRANK")
    assert post_slack(bot_server, slack_event(event)).status_code == 200
    (reply,) = wait_answered(fake, "CEMPTY", event["ts"])
    assert "Please type a question" in reply["text"]


def test_a_mention_inside_a_thread_is_answered_in_that_thread(bot_server, fake):
    parent = new_ts()
    event = mention(GENAI_Q12, channel="CTHREAD", user="UGINA", thread_ts=parent)
    assert post_slack(bot_server, slack_event(event)).status_code == 200
    (reply,) = wait_answered(fake, "CTHREAD", parent)
    assert "第十二条" in reply["text"]
