"""Faults: the Chroma server goes away in the middle of traffic, and comes back.

The web app (real uvicorn, API only) runs in server mode against a real `chroma run`. Clients keep asking while
the Chroma process is killed: every answer is either a normal 200 or a 503 with a JSON error (never a 500, never
a stack trace); once it is down, questions get 503 ``index_unavailable``. Chroma is then started again on the
same port and data path, and the same running web app answers normally again (same citations as before),
without a restart.
"""
from __future__ import annotations

import threading
import time

import httpx

from rel_support import ChromaServer, assert_json_error, free_port
from support.live_server import LiveServer

QUESTIONS = [
    "深度合成服务提供者应当在哪些情况下进行显著标识？",
    "《生成式人工智能服务管理暂行办法》第十二条规定了什么？",
    "What does operative paragraph 7 of resolution 78/311 encourage?",
]
CLIENTS = 6
MAX_REQUESTS = 2000  # per phase, across all clients: a bound, the phases end on time long before


class Traffic:
    """CLIENTS threads asking in a loop until stopped (bounded in count); every response is recorded."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.records: list[tuple[float, int, str, dict | None]] = []  # (time, status, text, json)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(CLIENTS)]

    def _run(self, i: int) -> None:
        with httpx.Client(timeout=60) as client:
            n = i
            while not self._stop.is_set() and len(self.records) < MAX_REQUESTS:
                q = QUESTIONS[n % len(QUESTIONS)]
                n += 1
                try:
                    r = client.post(self.url + "/v1/ask", json={"question": q})
                    try:
                        body = r.json()
                    except ValueError:
                        body = None
                    rec = (time.monotonic(), r.status_code, r.text[:2000], body)
                except httpx.HTTPError as exc:
                    rec = (time.monotonic(), -1, f"{type(exc).__name__}: {exc}", None)
                with self._lock:
                    self.records.append(rec)

    def __enter__(self) -> "Traffic":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(90)


def _citations(url: str) -> list[list[tuple[str, str]]]:
    out = []
    for q in QUESTIONS:
        r = httpx.post(url + "/v1/ask", json={"question": q}, timeout=60)
        assert r.status_code == 200, r.text[:500]
        out.append([(c["doc_id"], c["locator"]) for c in r.json()["citations"]])
    return out


def test_chroma_server_down_mid_traffic_gives_503_and_recovers_without_restart(tmp_path, small_corpus,
                                                                               settings_factory, embedder):
    from assistant.web import create_app
    from ingest.pipeline import run_ingest

    chroma = ChromaServer(tmp_path / "chroma").start()
    server = None
    try:
        settings = settings_factory(tmp_path / "app", small_corpus, chroma_host="127.0.0.1",
                                    chroma_port=chroma.port, index_refresh_s=1.0)
        assert run_ingest(settings).ok
        server = LiveServer(create_app(settings, with_ui=False), free_port()).start()
        before = _citations(server.url)
        assert all(before)

        with Traffic(server.url) as traffic:
            time.sleep(1.5)
            killed_at = time.monotonic()
            chroma.stop(kill=True)  # the server process dies (SIGKILL): no goodbye to its clients
            time.sleep(3.0)
        records = traffic.records

        statuses = {s for _, s, _, _ in records}
        assert statuses <= {200, 503}, [(s, t[:300]) for _, s, t, _ in records if s not in (200, 503)][:3]
        assert any(s == 200 for t, s, _, _ in records if t < killed_at), "no successful answer before the outage"
        late = [r for r in records if r[0] > killed_at + 1.0]  # answered a second or more after the kill
        assert late and all(s == 503 for _, s, _, _ in late), [(s, t[:200]) for _, s, t, _ in late if s != 503][:3]
        for _, status, text, body in records:
            if status == 503:
                assert body and body["error"]["type"] == "index_unavailable", text[:300]
                message = body["error"]["message"]
                assert message.startswith(("the clause index is unavailable", "cannot read the index")), message
                assert "Traceback" not in text
        down = httpx.post(server.url + "/v1/ask", json={"question": QUESTIONS[0]}, timeout=60)
        assert_json_error(down, 503)
        chat = httpx.post(server.url + "/v1/chat/completions", timeout=60,
                          json={"messages": [{"role": "user", "content": QUESTIONS[0]}]})
        assert_json_error(chat, 503)
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200  # the app itself is alive

        # Chroma comes back on the same port and data path: the same app answers again, no restart
        chroma = ChromaServer(tmp_path / "chroma", port=chroma.port).start()
        back = time.monotonic()
        while time.monotonic() < back + 30:
            r = httpx.post(server.url + "/v1/ask", json={"question": QUESTIONS[0]}, timeout=60)
            if r.status_code == 200:
                break
            assert_json_error(r, 503)
            time.sleep(0.5)
        recovered_after = time.monotonic() - back
        assert r.status_code == 200, "the app did not recover within 30 s of Chroma coming back"
        assert _citations(server.url) == before
        print(f"\n[chroma outage] {len(records)} requests: {sum(s == 200 for _, s, _, _ in records)} x 200, "
              f"{sum(s == 503 for _, s, _, _ in records)} x 503; answering again {recovered_after:.1f} s after "
              f"Chroma was back")
    finally:
        if server is not None:
            server.stop()
        chroma.stop()
