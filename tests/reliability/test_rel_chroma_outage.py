"""Faults: the Chroma server goes away in the middle of traffic, and comes back.

The web app (real uvicorn, API only) runs in server mode against a real `chroma run`. Clients keep asking while
the Chroma process is killed: the app answers from the index it loaded (clause texts, embeddings and keyword index
are held in memory; search is exact and local), so every answer is a normal 200 with the same citations as before,
and the document list still answers. Writing needs Chroma: an ingest during the outage fails with a clear error.
Chroma is then started again on the same port and data path, a re-ingest of a changed document succeeds, and the
same running web app picks the change up without a restart.
"""

from __future__ import annotations

import threading
import time

import httpx
from rel_support import ChromaServer, free_port
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

    def __enter__(self) -> Traffic:
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


def test_chroma_server_down_mid_traffic_keeps_answering_and_picks_up_a_reindex_after(
    tmp_path, small_corpus, settings_factory, embedder
):
    import pytest

    from assistant.web import create_app
    from ingest.pipeline import run_ingest
    from ingest.store import IndexError_

    chroma = ChromaServer(tmp_path / "chroma").start()
    server = None
    try:
        settings = settings_factory(
            tmp_path / "app", small_corpus, chroma_host="127.0.0.1", chroma_port=chroma.port, index_refresh_s=1.0
        )
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

        assert {s for _, s, _, _ in records} == {200}, [(s, t[:300]) for _, s, t, _ in records if s != 200][:3]
        late = [r for r in records if r[0] > killed_at + 1.0]  # answered a second or more after the kill
        assert late, "no request was answered during the outage"
        for _, _, _, body in late:
            assert body and body["citations"], body
        assert _citations(server.url) == before  # the same answers while Chroma is down
        listed = httpx.get(server.url + "/v1/documents", timeout=30)
        assert listed.status_code == 200 and len(listed.json()["documents"]) == 3
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
        with pytest.raises(IndexError_, match="unreachable"):  # writing needs the server: a clear error
            run_ingest(settings)

        # Chroma comes back on the same port and data path; a changed document is re-indexed and the running
        # app serves the new text without a restart
        chroma = ChromaServer(tmp_path / "chroma", port=chroma.port).start()
        genai = small_corpus / "cn-genai-interim-measures-2023.md"
        marker = "本办法所称试点沙盒登记簿由提供者按季度报送。"
        genai.write_text(
            genai.read_text(encoding="utf-8").replace(
                "第二十四条 本办法自2023年8月15日起施行。", "第二十四条 本办法自2023年8月15日起施行。" + marker
            ),
            encoding="utf-8",
        )
        assert run_ingest(settings).ok
        back = time.monotonic()
        found = False
        while time.monotonic() < back + 30 and not found:
            r = httpx.post(server.url + "/v1/ask", json={"question": "试点沙盒登记簿多久报送一次？"}, timeout=60)
            assert r.status_code == 200, r.text[:300]
            found = "试点沙盒登记簿" in r.text
            time.sleep(0.5)
        assert found, "the running app did not pick up the re-index within 30 s"
        print(
            f"\n[chroma outage] {len(records)} requests, all 200 ({len(late)} during the outage); the re-index "
            f"was served {time.monotonic() - back:.1f} s after it finished"
        )
    finally:
        if server is not None:
            server.stop()
        chroma.stop()
