"""The API against the real app over HTTP: /v1/ask, /v1/chat/completions (read back by the openai client),
/v1/documents, /healthz, /readyz, and JSON errors with proper status codes."""

from __future__ import annotations

import json

import httpx
import pytest


def test_health_and_readiness(live_server):
    assert httpx.get(live_server.url + "/healthz").json()["status"] == "alive"
    ready = httpx.get(live_server.url + "/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] == 3 and ready["chunks"] > 40


def test_documents_lists_the_index(live_server, small_doc_ids):
    docs = httpx.get(live_server.url + "/v1/documents").json()["documents"]
    assert sorted(d["doc_id"] for d in docs) == list(small_doc_ids)
    genai = next(d for d in docs if d["doc_id"] == "cn-genai-interim-measures-2023")
    assert genai["units"] == 24 and genai["status"] == "in-force" and genai["chunks"] >= 24


def test_ask_returns_cited_clauses(live_server):
    r = httpx.post(
        live_server.url + "/v1/ask",
        json={"question": "《生成式人工智能服务管理暂行办法》第十二条规定了什么？"},
        timeout=60,
    )
    assert r.status_code == 200
    body = r.json()
    assert not body["refused"]
    first = body["citations"][0]
    assert (first["doc_id"], first["unit"]) == ("cn-genai-interim-measures-2023", "第十二条")
    assert "对图片、视频等生成内容进行标识" in first["quote"]
    assert first["source_url"].startswith("https://") and first["status"] == "in-force"
    assert "[1]" in body["text"] and body["timings"]["total_ms"] > 0


def test_ask_names_the_part_of_the_question_the_corpus_does_not_cover(live_server):
    r = httpx.post(
        live_server.url + "/v1/ask",
        json={"question": "生成式人工智能服务提供者发现违法内容后应当怎么处置？另外，深圳有没有自己的地方细则？"},
        timeout=60,
    )
    body = r.json()
    assert r.status_code == 200 and not body["refused"]
    assert body["uncovered"] == ["深圳有没有自己的地方细则？"]
    assert any("深圳有没有自己的地方细则" in n for n in body["notices"])
    assert body["citations"][0]["doc_id"] == "cn-genai-interim-measures-2023"


def test_ask_filters_restrict_documents(live_server):
    r = httpx.post(
        live_server.url + "/v1/ask",
        json={"question": "深度合成服务提供者的标识义务", "filters": {"doc_id": ["cn-genai-interim-measures-2023"]}},
        timeout=60,
    )
    cites = r.json()["citations"]
    assert cites and {c["doc_id"] for c in cites} == {"cn-genai-interim-measures-2023"}


@pytest.mark.parametrize(
    "payload,status",
    [
        ({"question": ""}, 400),
        ({"question": "   \n\t "}, 400),
        ({"question": "x" * 10_001}, 400),
        ({"question": "？？？！！！"}, 400),
        ({"nothing": 1}, 422),
        ({"question": ["not", "text"]}, 422),
    ],
)
def test_bad_questions_get_json_errors(live_server, payload, status):
    r = httpx.post(live_server.url + "/v1/ask", json=payload, timeout=30)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["message"]


def test_malformed_json_body_is_a_422(live_server):
    r = httpx.post(live_server.url + "/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "error" in r.json()


def test_control_characters_are_stripped_not_fatal(live_server):
    r = httpx.post(live_server.url + "/v1/ask", json={"question": "深度合成\x00\x07服务提供者\x1b的义务"}, timeout=60)
    assert r.status_code == 200 and r.json()["citations"]


def test_openai_client_non_streaming(live_server):
    from openai import OpenAI

    client = OpenAI(base_url=live_server.url + "/v1", api_key="unused")
    reply = client.chat.completions.create(
        model="regqa", messages=[{"role": "user", "content": "深度合成服务提供者提供人脸编辑功能时要取得谁的同意？"}]
    )
    content = reply.choices[0].message.content
    assert "[1]" in content and "[^1]:" in content  # numbered footnotes
    extra = reply.model_extra["citations"]
    assert extra and extra[0]["doc_id"] == "cn-deep-synthesis-provisions-2022"
    # the clause is quoted verbatim (as a Markdown quote block: every paragraph appears whole)
    assert all(paragraph in content for paragraph in extra[0]["quote"].split("\n\n"))


def test_openai_client_streaming(live_server):
    from openai import OpenAI

    client = OpenAI(base_url=live_server.url + "/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="regqa",
        stream=True,
        messages=[{"role": "user", "content": "生成式人工智能服务提供者应当对哪些内容进行标识？"}],
    )
    pieces, citations = [], None
    for event in stream:
        if event.choices and event.choices[0].delta.content:
            pieces.append(event.choices[0].delta.content)
        if event.model_extra and event.model_extra.get("citations") is not None:
            citations = event.model_extra["citations"]
    assert len(pieces) > 3  # it really streamed
    text = "".join(pieces)
    assert citations and all(f"[{c['n']}]" in text for c in citations)
    assert any(c["unit"] == "第十二条" for c in citations)


def test_chat_completions_follow_up_uses_history(live_server):
    r = httpx.post(
        live_server.url + "/v1/chat/completions",
        json={
            "messages": [
                {"role": "user", "content": "深度合成服务提供者发现违法信息要怎么处理？"},
                {"role": "assistant", "content": "……"},
                {"role": "user", "content": "那违反了怎么处罚？"},
            ]
        },
        timeout=60,
    )
    assert r.status_code == 200
    units = {(c["doc_id"], c["unit"]) for c in r.json()["citations"]}
    assert any(d == "cn-deep-synthesis-provisions-2022" for d, _ in units)


def test_chat_completions_rejects_a_conversation_not_ending_with_the_user(live_server):
    r = httpx.post(
        live_server.url + "/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]}
    )
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request"


def test_sse_stream_is_well_formed(live_server):
    with httpx.stream(
        "POST",
        live_server.url + "/v1/chat/completions",
        timeout=60,
        json={
            "stream": True,
            "messages": [{"role": "user", "content": "What does paragraph 7 of resolution 78/311 encourage?"}],
        },
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode("utf-8")
    # one "data: …" line and a blank line per event, "\n" line ends, no comment (keep-alive) lines
    events = raw.split("\n\n")
    assert events[-1] == "" and "\r" not in raw
    assert all(event.startswith("data: ") and "\n" not in event for event in events[:-1])
    lines = [line for line in raw.split("\n") if line]
    assert lines[-1] == "data: [DONE]"
    payloads = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(p["object"] == "chat.completion.chunk" for p in payloads)
    assert payloads[-1]["choices"][0]["finish_reason"] == "stop"
    assert any(c["unit"] == "para 7" for c in payloads[-1]["citations"])
