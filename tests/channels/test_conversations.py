"""Conversations in Slack threads and WeCom chats: follow-ups answered with the conversation's earlier turns, a
different thread or user not sharing them, the reset command, and expiry after the idle time.

Everything goes over real HTTP to the real app (events signed as Slack signs them, callbacks encrypted as WeCom
encrypts them); what the bot sent is read back from the fake platform APIs. Expected citations are computed with
the real answer service, with and without the conversation's history, and the two differ for the follow-up used
here: with the genAI measures' labelling question before it, "那违反了怎么罚？" is answered from the genAI measures;
on its own it is answered first from the deep-synthesis provisions' liability article.
"""

from __future__ import annotations

import re
import time

import pytest
from channel_support import (
    LiveServer,
    direct_message,
    encrypted_request,
    mention,
    post_slack,
    post_wecom,
    slack_event,
    text_message_xml,
)
from test_slack import slack_link, thread_messages

GENAI = "cn-genai-interim-measures-2023"
DEEP_SYNTHESIS = "cn-deep-synthesis-provisions-2022"
DEEP_SYNTHESIS_TITLE = "《互联网信息服务深度合成管理规定》"  # how its citations are labelled
SLACK_DS_LINK, WECOM_DS_LINK = "|" + DEEP_SYNTHESIS_TITLE, '">' + DEEP_SYNTHESIS_TITLE  # a link to one of its clauses
FIRST = "生成式人工智能服务提供者要对生成内容做什么标识？"
FOLLOW_UP = "那违反了怎么罚？"  # the done-when follow-up
FOLLOW_UP_PENALTY = "那违反了会受到什么处罚？"
IDLE_S = 3.0
_ids = iter(range(8_000_000_000_000_000, 9_000_000_000_000_000))


@pytest.fixture(scope="module")
def expected(answer_service):
    """What the real answer service cites for the follow-ups, with the first question's turn and without."""
    first = answer_service.answer(FIRST)
    history = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": first.text}]
    out = {
        "first": first,
        "follow_up": answer_service.answer(FOLLOW_UP, history=history),
        "penalty": answer_service.answer(FOLLOW_UP_PENALTY, history=history),
        "alone": answer_service.answer(FOLLOW_UP),
    }
    # the premises that make these tests able to tell memory from no memory
    assert first.citations[0].doc_id == GENAI  # (the deep synthesis rules' labelling article may follow)
    assert out["follow_up"].citations and {c.doc_id for c in out["follow_up"].citations} == {GENAI}
    assert out["alone"].citations[0].doc_id == DEEP_SYNTHESIS
    assert (out["penalty"].citations[0].doc_id, out["penalty"].citations[0].unit) == (GENAI, "第二十一条")
    return out


@pytest.fixture(scope="module")
def idle_server(channel_settings, answer_service):
    """The app with a short conversation idle time (its own WeCom app secret: its own token cache)."""
    from assistant.web import create_app

    settings = channel_settings.with_overrides(bot_conversation_idle_s=IDLE_S, wecom_secret="idle-app-secret")
    server = LiveServer(create_app(settings, service=answer_service, with_ui=False)).start()
    yield server
    server.stop()


def cited(text: str, answer) -> bool:
    return all(slack_link(c) in text for c in answer.citations)


# ---- Slack -------------------------------------------------------------------------------------------------------------
def slack_ask(
    server, fake, text: str, *, channel: str, user: str, thread_ts: str | None = None, dm: bool = False
) -> tuple[dict, list[dict]]:
    """Send one signed event and wait until it is answered; (the event, the bot's new messages in its thread)."""
    if dm:
        event = direct_message(text, channel=channel, user=user)
        if thread_ts:
            event["thread_ts"] = thread_ts
    else:
        event = mention(text, channel=channel, user=user, **({"thread_ts": thread_ts} if thread_ts else {}))
    thread = thread_ts or event["ts"]
    before = len(thread_messages(fake, channel, thread))
    assert post_slack(server, slack_event(event)).status_code == 200
    fake.wait_for(
        "slack",
        "chat.postMessage",
        lambda c: c.body.get("channel") == channel and c.body.get("thread_ts") == thread,
        count=before + 1,
    )
    assert server.channels.slack.jobs.wait_idle(timeout=30)
    return event, thread_messages(fake, channel, thread)[before:]


def test_slack_follow_up_in_a_thread_is_answered_about_the_first_question(bot_server, fake, expected):
    first, replies = slack_ask(bot_server, fake, FIRST, channel="CCONV", user="UCONV1")
    assert cited(replies[0]["text"], expected["first"])

    _, replies = slack_ask(bot_server, fake, FOLLOW_UP, channel="CCONV", user="UCONV1", thread_ts=first["ts"])
    text = "\n".join(m["text"] for m in replies)
    assert cited(text, expected["follow_up"])  # exactly what the service cites with the thread's first turn ...
    assert SLACK_DS_LINK not in text  # ... and no clause of the other law
    blocks = replies[-1]["blocks"]  # Block Kit: answer sections, divider, the citations as links
    assert [b["type"] for b in blocks][-2:] == ["divider", "section"]
    assert blocks[-1]["text"]["text"].splitlines()[1:] == [
        f"[{c.n}] {slack_link(c)}" for c in expected["follow_up"].citations
    ]

    # the same thread again, worded with 处罚: the genAI measures' liability article
    _, replies = slack_ask(bot_server, fake, FOLLOW_UP_PENALTY, channel="CCONV", user="UCONV2", thread_ts=first["ts"])
    text = "\n".join(m["text"] for m in replies)
    assert "《生成式人工智能服务管理暂行办法》第二十一条" in text and "予以处罚" in text
    assert re.search(r"\[1\] <[^|>]+\|《生成式人工智能服务管理暂行办法》第二十一条>", text)  # cited first


def test_slack_another_thread_does_not_share_the_memory(bot_server, fake, expected):
    first, _ = slack_ask(bot_server, fake, FIRST, channel="CCONV2", user="UCONV3")
    other, replies = slack_ask(bot_server, fake, FOLLOW_UP, channel="CCONV2", user="UCONV3")  # a new thread
    assert other["ts"] != first["ts"]
    text = "\n".join(m["text"] for m in replies)
    assert cited(text, expected["alone"]) and SLACK_DS_LINK in text
    # and the first thread still has its own memory
    _, replies = slack_ask(bot_server, fake, FOLLOW_UP, channel="CCONV2", user="UCONV3", thread_ts=first["ts"])
    assert cited("\n".join(m["text"] for m in replies), expected["follow_up"])


def test_slack_direct_messages_outside_threads_are_one_conversation(bot_server, fake, expected):
    first, _ = slack_ask(bot_server, fake, FIRST, channel="DCONV", user="UCONV4", dm=True)
    _, replies = slack_ask(bot_server, fake, FOLLOW_UP, channel="DCONV", user="UCONV4", dm=True)
    assert cited("\n".join(m["text"] for m in replies), expected["follow_up"])
    # a reply in the thread the bot answered the first DM in continues from that message
    _, replies = slack_ask(bot_server, fake, FOLLOW_UP, channel="DCONV", user="UCONV4", dm=True, thread_ts=first["ts"])
    assert cited("\n".join(m["text"] for m in replies), expected["follow_up"])
    # another user's DM: no memory of it
    _, replies = slack_ask(bot_server, fake, FOLLOW_UP, channel="DCONV5", user="UCONV5", dm=True)
    assert cited("\n".join(m["text"] for m in replies), expected["alone"])


def test_slack_reset_command_clears_the_thread_and_confirms(bot_server, fake, expected):
    first, _ = slack_ask(bot_server, fake, FIRST, channel="CRESET", user="UCONV6")
    _, replies = slack_ask(bot_server, fake, "新话题", channel="CRESET", user="UCONV6", thread_ts=first["ts"])
    (confirmation,) = replies
    assert "已清空" in confirmation["text"] and not confirmation["updated"]  # no "thinking…": a direct reply
    assert confirmation["blocks"][0]["type"] == "section"
    _, replies = slack_ask(bot_server, fake, FOLLOW_UP, channel="CRESET", user="UCONV6", thread_ts=first["ts"])
    assert cited("\n".join(m["text"] for m in replies), expected["alone"])
    # nothing left to forget
    _, (again,) = slack_ask(bot_server, fake, "/reset", channel="CRESET", user="UCONV6", thread_ts="1.000001")
    assert "nothing to forget" in again["text"]


def test_slack_memory_expires_after_the_idle_time(idle_server, fake, expected):
    first, _ = slack_ask(idle_server, fake, FIRST, channel="CIDLE", user="UCONV7")
    _, replies = slack_ask(idle_server, fake, FOLLOW_UP, channel="CIDLE", user="UCONV7", thread_ts=first["ts"])
    assert cited("\n".join(m["text"] for m in replies), expected["follow_up"])  # within the idle time: remembered
    time.sleep(IDLE_S + 0.5)
    _, replies = slack_ask(idle_server, fake, FOLLOW_UP, channel="CIDLE", user="UCONV7", thread_ts=first["ts"])
    assert cited("\n".join(m["text"] for m in replies), expected["alone"])


# ---- WeCom -------------------------------------------------------------------------------------------------------------
def wecom_ask(server, fake, text: str, user: str) -> str:
    """Send one encrypted text message and wait until it is answered; the text of the bot's new messages."""

    def sent():
        return fake.find("wecom", "message/send", lambda c: c.body.get("touser") == user)

    before = len(sent())
    params, body = encrypted_request(text_message_xml(text, user=user, msg_id=next(_ids)))
    assert post_wecom(server, params, body).status_code == 200
    fake.wait_for("wecom", "message/send", lambda c: c.body.get("touser") == user, count=before + 1)
    assert server.channels.wecom.jobs.wait_idle(timeout=30)
    return "\n".join(c.body["text"]["content"] for c in sent()[before:])


def wecom_cited(text: str, answer) -> bool:
    return all(f'<a href="{c.source_url}">{c.label}</a>' in text for c in answer.citations)


def test_wecom_follow_up_is_answered_about_the_users_first_question(bot_server, fake, expected):
    assert wecom_cited(wecom_ask(bot_server, fake, FIRST, "conv-a"), expected["first"])
    text = wecom_ask(bot_server, fake, FOLLOW_UP, "conv-a")
    assert wecom_cited(text, expected["follow_up"]) and WECOM_DS_LINK not in text
    # another user has no memory of conv-a's question
    assert wecom_cited(wecom_ask(bot_server, fake, FOLLOW_UP, "conv-b"), expected["alone"])


def test_wecom_reset_command_clears_the_conversation_and_confirms(bot_server, fake, expected):
    wecom_ask(bot_server, fake, FIRST, "conv-c")
    confirmation = wecom_ask(bot_server, fake, "新话题", "conv-c")
    assert "已清空" in confirmation
    assert wecom_cited(wecom_ask(bot_server, fake, FOLLOW_UP, "conv-c"), expected["alone"])


def test_wecom_memory_expires_after_the_idle_time(idle_server, fake, expected):
    wecom_ask(idle_server, fake, FIRST, "conv-d")
    assert wecom_cited(wecom_ask(idle_server, fake, FOLLOW_UP, "conv-d"), expected["follow_up"])
    time.sleep(IDLE_S + 0.5)
    assert wecom_cited(wecom_ask(idle_server, fake, FOLLOW_UP, "conv-d"), expected["alone"])


def test_the_obligations_command_says_when_the_checklist_is_missing(bot_server, fake, monkeypatch):
    from assistant.channels import conversations

    monkeypatch.setattr(conversations, "CHECKLIST_MODULE", "assistant.no_such_obligations_module")
    text = wecom_ask(bot_server, fake, "义务清单 提供者 标识办法", "conv-e")
    assert "义务清单功能暂不可用" in text


def test_the_obligations_command_lists_the_register_in_wecom_and_slack(bot_server, fake):
    """ "义务清单 提供者 深度合成" in WeCom and "obligations provider deep synthesis" in Slack list the Deep Synthesis
    Provisions' provider obligations from the register (the small corpus holds that text)."""
    text = wecom_ask(bot_server, fake, "义务清单 提供者 深度合成", "conv-f")
    assert "互联网信息服务深度合成管理规定" in text and "☐ 第" in text and "应当" in text
    assert "生成式人工智能服务管理暂行办法" not in text
    _, replies = slack_ask(
        bot_server, fake, "obligations provider Deep Synthesis Provisions", channel="C-obl", user="U-obl"
    )
    shown = "\n".join(m.get("text", "") for m in replies)
    assert "☐ 第" in shown and "深度合成" in shown
    unknown = wecom_ask(bot_server, fake, "义务清单 提供者 火星交通法", "conv-g")
    assert "语料中没有名为" in unknown and "☐" not in unknown
