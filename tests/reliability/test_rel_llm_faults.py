"""Faults: the LLM endpoint is down, slow, or stalls mid-stream. In generative mode the API must still answer
200 with the extractive answer (clauses quoted, cited) and a notice, within about the configured timeout.

The endpoint is either a closed port on 127.0.0.1 (nobody listens) or the local fake OpenAI-compatible server
(tests/fake_openai.py) scripted to answer too late. The web app is the real one over HTTP (uvicorn in a thread).
"""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fake_openai import FakeOpenAI, Reply
from rel_support import free_port
from support.live_server import LiveServer

QUESTION = "《生成式人工智能服务管理暂行办法》第十二条规定了什么？"
TIMEOUT_S = 1.5
SLACK_S = 3.0  # retrieval + HTTP on a busy 2-core machine


def _closed_port() -> int:
    with socket.socket() as s:  # bound, never listening, then closed: connections are refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(rel_service, base_url: str, model: str = "fake-model") -> LiveServer:
    from assistant.answering.service import AnswerService
    from assistant.web import create_app

    settings = rel_service.settings.with_overrides(
        answer_mode="generative",
        llm_base_url=base_url,
        llm_model=model,
        llm_api_key="test-key",
        llm_timeout_s=TIMEOUT_S,
    )
    service = AnswerService(settings, retriever=rel_service.retriever)
    return LiveServer(create_app(settings, service=service, with_ui=False), free_port()).start(timeout=30)


def _assert_fallback(body: dict) -> None:
    assert body["mode"] == "extractive" and not body["refused"], body["mode"]
    assert body["citations"] and body["citations"][0]["unit"] == "第十二条"
    assert any("大模型接口出错或超时" in n for n in body["notices"]), body["notices"]
    assert body["text"].startswith("> ⚠ 大模型接口出错或超时")


@pytest.fixture(scope="module")
def fake_llm():
    with FakeOpenAI() as server:
        yield server


@pytest.mark.parametrize("endpoint", ["closed-port", "slow-reply", "stalls-mid-stream"])
def test_llm_down_or_slow_falls_back_to_the_extractive_answer_within_the_timeout(rel_service, fake_llm, endpoint):
    fake_llm.reset()
    if endpoint == "closed-port":
        base_url = f"http://127.0.0.1:{_closed_port()}/v1"
    else:
        fake_llm.default = (
            Reply.slow(30.0) if endpoint == "slow-reply" else Reply.stall(30.0, ["提供者应当", "对生成内容"])
        )
        base_url = fake_llm.base_url
    server = _server(rel_service, base_url)
    try:
        # one question at a time: the answer arrives within about the timeout
        t = time.perf_counter()
        r = httpx.post(server.url + "/v1/ask", json={"question": QUESTION}, timeout=60)
        elapsed = time.perf_counter() - t
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        _assert_fallback(body)
        assert elapsed < TIMEOUT_S + SLACK_S, f"{elapsed:.1f} s with a {TIMEOUT_S} s timeout"
        if endpoint != "closed-port":
            assert body["timings"]["llm_ms"] >= TIMEOUT_S * 1000 * 0.9  # it did wait for the LLM, then gave up
            assert any("Timeout" in n for n in body["notices"]), body["notices"]

        # eight at once: all fall back, none fails; they overlap instead of queueing behind each other
        def ask(_):
            t = time.perf_counter()
            r = httpx.post(server.url + "/v1/ask", json={"question": QUESTION}, timeout=60)
            return r, time.perf_counter() - t

        t = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(ask, range(8)))
        batch = time.perf_counter() - t
        for r, _ in results:
            assert r.status_code == 200, r.text[:300]
            _assert_fallback(r.json())
        assert batch < 2 * TIMEOUT_S + 2 * SLACK_S, f"8 concurrent fallbacks took {batch:.1f} s"

        # the OpenAI-compatible stream ends properly too, with the extractive text and its citations
        with httpx.stream(
            "POST",
            server.url + "/v1/chat/completions",
            timeout=60,
            json={"model": "generative", "stream": True, "messages": [{"role": "user", "content": QUESTION}]},
        ) as s:
            assert s.status_code == 200
            events = [line[6:] for line in s.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        chunks = [json.loads(e) for e in events[:-1]]
        content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        assert "大模型接口出错或超时" in content and "[1]" in content
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["citations"]
        print(f"\n[llm {endpoint}] fallback in {elapsed:.2f} s (timeout {TIMEOUT_S} s); 8 concurrent in {batch:.2f} s")
    finally:
        server.stop()


def test_llm_slow_but_within_the_timeout_still_gives_the_generative_answer(rel_service, fake_llm):
    fake_llm.reset()
    fake_llm.default = Reply.slow(0.5, "提供者应当对图片、视频等生成内容进行标识[1]。")
    server = _server(rel_service, fake_llm.base_url)
    try:
        r = httpx.post(server.url + "/v1/ask", json={"question": QUESTION}, timeout=60)
        body = r.json()
        assert r.status_code == 200 and body["mode"] == "generative:fake-model", body
        assert body["citations"][0]["unit"] == "第十二条" and not body["notices"]
    finally:
        server.stop()
