"""Server mode: a real `chroma run` (from the chromadb package) on a free port; ingest and ask against it,
and two services sharing it stay consistent (the keyword index follows the collection)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = Path(sys.executable).parent / "chroma"
    data = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    with open(data / "server.log", "w") as log:  # the child writes through its own copy
        proc = subprocess.Popen(
            [str(chroma), "run", "--path", str(data / "db"), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start: " + (data / "server.log").read_text()[-2000:])
    yield "127.0.0.1", port
    proc.terminate()
    proc.wait(timeout=20)


def test_ingest_and_answers_match_embedded_mode(chroma_server, tmp_path, small_corpus, settings_factory, clean_index):
    from assistant.answering.service import AnswerService
    from ingest.pipeline import run_ingest
    from ingest.store import ClauseStore

    host, port = chroma_server
    corpus = small_corpus
    server_settings = settings_factory(tmp_path / "a", corpus, chroma_host=host, chroma_port=port)
    report = run_ingest(server_settings)
    assert report.ok and len(report.added) == 3
    assert report.chunks == clean_index.report.chunks
    # the same ids and texts as the embedded index
    embedded = {
        cid: (meta["unit"], text)
        for cid, meta, text in ClauseStore(clean_index.settings).iter_rows(include=("metadatas", "documents"))
    }
    served = {
        cid: (meta["unit"], text)
        for cid, meta, text in ClauseStore(server_settings).iter_rows(include=("metadatas", "documents"))
    }
    assert served == embedded

    questions = [
        "深度合成服务提供者应当在哪些情况下进行显著标识？",
        "《生成式人工智能服务管理暂行办法》第七条",
        "What does operative paragraph 7 of resolution 78/311 encourage?",
    ]
    on_server = AnswerService(server_settings)
    on_disk = AnswerService(clean_index.settings)
    for q in questions:
        a, b = on_server.answer(q), on_disk.answer(q)
        assert [(c.doc_id, c.locator) for c in a.citations] == [(c.doc_id, c.locator) for c in b.citations]
        assert a.text == b.text

    # re-ingest against the server with no change touches nothing
    again = run_ingest(server_settings)
    assert again.embedded_chunks == 0 and len(again.skipped) == 3


def test_two_services_sharing_a_server_see_each_others_ingest(chroma_server, tmp_path, small_corpus, settings_factory):
    from assistant.answering.service import AnswerService
    from ingest.pipeline import run_ingest

    host, port = chroma_server
    corpus = small_corpus
    common = dict(chroma_host=host, chroma_port=port, collection_name="shared_test", index_refresh_s=0.0)
    writer = settings_factory(tmp_path / "writer", corpus, **common)
    reader = settings_factory(tmp_path / "reader", corpus, **common)  # its own keyword cache dir
    assert run_ingest(writer).ok
    service = AnswerService(reader)
    question = "生成式人工智能服务提供者的训练数据处理活动有什么要求？"
    before = service.answer(question)
    assert not before.refused

    # the writer removes a document; the reader's next question notices (no restart) and never cites it
    (corpus / "cn-genai-interim-measures-2023.md").unlink()
    report = run_ingest(writer)
    assert report.removed == ["cn-genai-interim-measures-2023"]
    after = service.answer(question)
    assert all(c.doc_id != "cn-genai-interim-measures-2023" for c in after.citations + after.related)
    assert service.retriever.index.keyword.ids == service.retriever.index.ids
    assert "cn-genai-interim-measures-2023" not in service.retriever.index.docs


def test_unreachable_server_is_a_clear_error(settings_factory, tmp_path):
    from ingest.pipeline import run_ingest
    from ingest.store import IndexError_

    settings = settings_factory(tmp_path, tmp_path, chroma_host="127.0.0.1", chroma_port=_free_port())
    with pytest.raises(IndexError_, match="unreachable"):
        run_ingest(settings)
