"""Load: 64 concurrent clients on POST /v1/ask against the real app over HTTP (uvicorn in a thread of this process).

A warm-up round, then a measured round; every request of both must succeed (no 5xx, no transport error), the
p95 latency of the measured round is bounded, and this process's memory (server included) stays flat between
the end of the warm-up and the end of the measured round. Bounded in count and in time.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from rel_support import percentile, rss_mb

CLIENTS = 64
WARMUP_REQUESTS = 128
MEASURED_REQUESTS = 256
ROUND_DEADLINE_S = 120  # a round stops sending after this (the count normally ends it well before)
P95_BOUND_S = 20.0  # generous: 64 clients queue behind 2 cores; the figure is printed
RSS_GROWTH_BOUND_MB = 50.0

QUESTIONS = [
    {"question": "深度合成服务提供者应当在哪些情况下进行显著标识？"},
    {"question": "《生成式人工智能服务管理暂行办法》第十二条规定了什么？"},
    {"question": "What does operative paragraph 7 of resolution 78/311 encourage?"},
    {"question": "生成式人工智能服务提供者的训练数据处理活动有什么要求？"},
    {"question": "深度合成服务提供者提供人脸编辑功能时要取得谁的同意？"},
    {"question": "Which obligations do providers of generative AI services have in China?"},
    {"question": "违反深度合成管理规定会受到什么处罚？"},
    {"question": "capacity-building for developing countries in artificial intelligence"},
    {"question": "What are the GDPR fines for data breaches?"},  # a refusal: not in this corpus
    {"question": "深度合成服务提供者的标识义务", "filters": {"doc_id": ["cn-genai-interim-measures-2023"]}},
    {"question": "生成式人工智能服务提供者应当对哪些内容进行标识？", "filters": {"jurisdiction": ["CN"]}},
    {
        "question": "那违反了怎么处罚？",
        "history": [
            {"role": "user", "content": "深度合成服务提供者发现违法信息要怎么处理？"},
            {"role": "assistant", "content": "……"},
        ],
    },
    {"question": "《互联网信息服务深度合成管理规定》第十七条"},
    {"question": "What is the difference between Article 50 of the EU AI Act and this resolution?"},
    {"question": "训练数据 知识产权 个人信息 同意"},
    {"question": "human rights safe secure trustworthy artificial intelligence systems"},
]


async def _round(url: str, total: int, deadline_s: float) -> dict:
    """``total`` POST /v1/ask requests from CLIENTS concurrent clients; per-request status and latency."""
    results: list[tuple[int, float, str]] = []  # (status or -1 on a transport error, seconds, detail)
    next_i = 0
    stop_at = time.monotonic() + deadline_s
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=httpx.Timeout(120.0)) as client:

        async def worker() -> None:
            nonlocal next_i
            while next_i < total and time.monotonic() < stop_at:
                payload = QUESTIONS[next_i % len(QUESTIONS)]
                next_i += 1
                t = time.perf_counter()
                try:
                    r = await client.post("/v1/ask", json=payload)
                    detail = "" if r.status_code == 200 else r.text[:300]
                    if r.status_code == 200:
                        body = r.json()
                        if not isinstance(body.get("text"), str) or "citations" not in body:
                            detail = f"malformed answer: {r.text[:200]}"
                    results.append((r.status_code, time.perf_counter() - t, detail))
                except httpx.HTTPError as exc:
                    results.append((-1, time.perf_counter() - t, f"{type(exc).__name__}: {exc}"))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        wall = time.perf_counter() - started
    return {"results": results, "wall_s": wall}


def test_64_concurrent_clients_no_errors_bounded_latency_flat_memory(api_server):
    url = api_server.url
    warm = asyncio.run(_round(url, WARMUP_REQUESTS, ROUND_DEADLINE_S))
    rss_after_warmup = rss_mb()
    measured = asyncio.run(_round(url, MEASURED_REQUESTS, ROUND_DEADLINE_S))
    rss_after_round = rss_mb()

    for name, run, expected in (("warm-up", warm, WARMUP_REQUESTS), ("measured", measured, MEASURED_REQUESTS)):
        results = run["results"]
        assert len(results) == expected, f"{name}: only {len(results)}/{expected} requests in {ROUND_DEADLINE_S} s"
        failures = [(s, d) for s, _, d in results if s != 200 or d]
        assert not failures, f"{name}: {len(failures)} failed requests, e.g. {failures[:3]}"

    latencies = [t for _, t, _ in measured["results"]]
    p50, p95, worst = percentile(latencies, 0.50), percentile(latencies, 0.95), max(latencies)
    throughput = len(latencies) / measured["wall_s"]
    growth = rss_after_round - rss_after_warmup
    print(
        f"\n[load] {CLIENTS} clients, {len(latencies)} requests in {measured['wall_s']:.1f} s "
        f"({throughput:.1f} req/s): p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {worst * 1000:.0f} ms; "
        f"0 errors; RSS {rss_after_warmup:.0f} MB after warm-up -> {rss_after_round:.0f} MB "
        f"(+{growth:.1f} MB)"
    )
    assert p95 < P95_BOUND_S, f"p95 {p95:.2f} s"
    assert growth < RSS_GROWTH_BOUND_MB, f"RSS grew by {growth:.1f} MB over {MEASURED_REQUESTS} requests"

    # and the server is still healthy and answering normally afterwards
    assert httpx.get(url + "/readyz", timeout=10).status_code == 200
    r = httpx.post(url + "/v1/ask", json=QUESTIONS[1], timeout=60)
    assert r.status_code == 200 and r.json()["citations"][0]["unit"] == "第十二条"
