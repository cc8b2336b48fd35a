"""Security of the running app over real HTTP: each finding of the security probe (issue 10), reproduced as the
probe did it, and refused now. Every server here runs on a private copy of the small-corpus index."""

from __future__ import annotations

import base64
import concurrent.futures
import io
import subprocess
import sys
import time
import zipfile

import httpx
import pytest
from support.live_server import private_server

from assistant.security import hash_password

DOC = """---
id: test-security-probe-doc
title: 安全探测测试文件
jurisdiction: CN
language: zh
status: in-force
official_url: "javascript:alert(document.cookie)"
---

# 安全探测测试文件

第一条 无人机配送服务提供者应当为每架无人机购买第三者责任保险。<img src="http://127.0.0.1:9/beacon.png">
"""


def gradio_call(url: str, api_name: str, data: list, **kwargs) -> tuple[int, str]:
    """POST /gradio_api/call/<api_name> the way the probe did; (status, the event stream or the error body)."""
    r = httpx.post(f"{url}/gradio_api/call/{api_name}", json={"data": data}, timeout=30, **kwargs)
    if r.status_code != 200:
        return r.status_code, r.text
    event_id = r.json()["event_id"]
    stream = httpx.get(f"{url}/gradio_api/call/{api_name}/{event_id}", timeout=30, **kwargs)
    return stream.status_code, stream.text


def file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


@pytest.fixture(scope="module")
def open_server(tmp_path_factory, clean_index, settings_factory):
    server = private_server(tmp_path_factory.mktemp("open"), clean_index, settings_factory)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def uploads_server(tmp_path_factory, clean_index, settings_factory):
    """Open mode with uploads explicitly enabled: every visitor is an admin."""
    server = private_server(
        tmp_path_factory.mktemp("open-uploads"),
        clean_index,
        settings_factory,
        open_uploads=True,
        upload_max_mb=0.5,
        upload_max_unpacked_mb=2,
    )
    yield server
    server.stop()


ADMIN_HASH = hash_password("adminpw", rounds=4)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory, clean_index, settings_factory):
    server = private_server(
        tmp_path_factory.mktemp("secure"),
        clean_index,
        settings_factory,
        auth_users=f"admin:{ADMIN_HASH},reader:readerpw,zh:密码ümlaut",
        admin_users="admin",
        auth_max_failures_per_client=1000,
        auth_max_failures_per_user=5,
        auth_lockout_s=60,
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def token_server(tmp_path_factory, clean_index, settings_factory):
    server = private_server(tmp_path_factory.mktemp("token"), clean_index, settings_factory, api_token="tok-xyz")
    yield server
    server.stop()


def indexed_ids(server, **kwargs) -> set[str]:
    return {d["doc_id"] for d in httpx.get(server.url + "/v1/documents", timeout=30, **kwargs).json()["documents"]}


# --- 1. server files through Gradio's FileData --------------------------------------------------------------
def test_open_mode_cannot_name_server_files_in_gradio_events(open_server, tmp_path):
    secret = tmp_path / "server-secret.md"
    secret.write_text("# 机密\n\n第一条 服务器上的秘密：紫色长颈鹿。\n", encoding="utf-8")
    status, body = gradio_call(open_server.url, "add_documents", [[file_data(str(secret))]])
    assert status == 403, body  # uploads are off in open mode: refused before Gradio reads anything
    assert "server-secret" not in str(indexed_ids(open_server))


def test_uploads_enabled_still_cannot_name_files_outside_gradios_upload_folder(uploads_server, tmp_path):
    secret = tmp_path / "server-secret.md"
    secret.write_text("# 机密\n\n第一条 服务器上的秘密：紫色长颈鹿。\n", encoding="utf-8")
    status, body = gradio_call(uploads_server.url, "add_documents", [[file_data(str(secret))]])
    assert "event: error" in body, body
    assert not any("secret" in d for d in indexed_ids(uploads_server))
    started = time.time()
    status, body = gradio_call(uploads_server.url, "add_documents", [[file_data("/dev/zero")]])
    assert "event: error" in body and time.time() - started < 10
    assert httpx.get(uploads_server.url + "/healthz", timeout=5).status_code == 200
    status, body = gradio_call(uploads_server.url, "add_documents", [[file_data("/proc/self/environ")]])
    assert "event: error" in body and "PATH=" not in body


def test_gradio_upload_route_is_gated_and_size_limited(open_server, uploads_server, auth_server):
    files = {"files": ("a.md", b"# x\n\nhello", "text/markdown")}
    assert httpx.post(open_server.url + "/gradio_api/upload", files=files).status_code == 403
    assert (
        httpx.post(auth_server.url + "/gradio_api/upload", files=files, auth=("reader", "readerpw")).status_code == 403
    )
    big = {"files": ("big.md", b"a" * 600_000, "text/markdown")}
    assert httpx.post(uploads_server.url + "/gradio_api/upload", files=big).status_code == 413
    r = httpx.post(uploads_server.url + "/gradio_api/upload", files=files)
    assert r.status_code == 200, r.text


def test_non_admin_cannot_trigger_document_events(auth_server):
    status, body = gradio_call(
        auth_server.url, "add_documents", [[file_data("/etc/hostname")]], auth=("reader", "readerpw")
    )
    assert status == 403, body
    status, body = gradio_call(
        auth_server.url, "remove_document", ["cn-genai-interim-measures-2023"], auth=("reader", "readerpw")
    )
    assert status == 403, body


# --- 2. cross-site uploads ------------------------------------------------------------------------------------
def test_cross_site_multipart_upload_is_refused(uploads_server, auth_server):
    files = {"file": ("x.md", DOC.encode(), "text/markdown")}
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Referer": "http://evil.example/page.html"},
    ):
        r = httpx.post(uploads_server.url + "/v1/documents", files=files, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        r = httpx.post(auth_server.url + "/v1/documents", files=files, headers=headers, auth=("admin", "adminpw"))
        assert r.status_code == 403
    assert "test-security-probe-doc" not in indexed_ids(uploads_server)
    same_site = {"Origin": uploads_server.url}
    r = httpx.post(uploads_server.url + "/v1/ask", json={"question": "深度合成标识"}, headers=same_site, timeout=60)
    assert r.status_code == 200


def test_open_mode_refuses_uploads_unless_enabled(open_server):
    r = httpx.post(open_server.url + "/v1/documents", files={"file": ("x.md", DOC.encode())})
    assert r.status_code == 403 and "REGQA_OPEN_UPLOADS" in r.json()["error"]["message"]
    assert httpx.delete(open_server.url + "/v1/documents/anything").status_code == 403


# --- 3. token-only auth covers the UI -------------------------------------------------------------------------
def test_token_only_auth_protects_the_ui_and_its_api(token_server):
    url = token_server.url
    for path in ("/config", "/gradio_api/info", "/v1/documents", "/docs", "/openapi.json"):
        assert httpx.get(url + path).status_code == 401, path
    assert httpx.get(url + "/readyz").json() == {"status": "ready"}  # probes: status only, no details
    assert "documents" in httpx.get(url + "/readyz", headers={"Authorization": "Bearer tok-xyz"}).json()
    r = httpx.get(url + "/", headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert httpx.get(url + "/healthz").status_code == 200
    # the token signs a browser in on the login page (as admin), and the session then opens the UI
    with httpx.Client(base_url=url) as client:
        r = client.post("/login", data={"username": "", "password": "tok-xyz", "next": "/"}, headers={"Origin": url})
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert client.get("/config").status_code == 200
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    assert httpx.get(url + "/v1/documents", headers={"Authorization": "Bearer tok-xyz"}).status_code == 200
    assert httpx.get(url + "/v1/documents", headers={"Authorization": "Bearer wrong"}).status_code == 401


# --- 4. unbounded history --------------------------------------------------------------------------------------
def test_huge_history_is_refused_quickly(open_server):
    history = [{"role": "user", "content": "监管" * 1_000_000}, {"role": "assistant", "content": "好的"}]
    started = time.time()
    r = httpx.post(open_server.url + "/v1/ask", json={"question": "那罚款呢？", "history": history}, timeout=60)
    assert r.status_code == 413  # 6 MB of JSON: refused from its Content-Length, before it is read
    history = [{"role": "user", "content": "监管" * 15_000}, {"role": "assistant", "content": "好的"}]
    r = httpx.post(open_server.url + "/v1/ask", json={"question": "那罚款呢？", "history": history}, timeout=60)
    assert r.status_code == 400 and "history" in r.json()["error"]["message"]
    many = [{"role": "user" if i % 2 == 0 else "assistant", "content": "第十二条"} for i in range(60)]
    r = httpx.post(open_server.url + "/v1/ask", json={"question": "那罚款呢？", "history": many}, timeout=60)
    assert r.status_code == 400 and "60 turns" in r.json()["error"]["message"]
    assert time.time() - started < 10


def test_a_chat_client_s_long_conversation_is_answered_from_its_recent_turns(open_server):
    """An OpenAI-compatible chat client sends the whole conversation each time: past the history limits its oldest
    turns are dropped (a 400 would end the chat), and the question is still answered."""
    messages = [
        {"role": "user", "content": "x" * 30_000},
        {"role": "assistant", "content": "y"},
        *({"role": "user" if i % 2 == 0 else "assistant", "content": "第十二条"} for i in range(40)),
        {"role": "user", "content": "深度合成服务提供者对生成的内容要做什么标识？"},
    ]
    r = httpx.post(open_server.url + "/v1/chat/completions", json={"messages": messages}, timeout=60)
    assert r.status_code == 200
    assert any(c["doc_id"] == "cn-deep-synthesis-provisions-2022" for c in r.json()["citations"])
    # a normal question is not starved meanwhile
    r = httpx.post(open_server.url + "/v1/ask", json={"question": "深度合成服务提供者的标识义务"}, timeout=30)
    assert r.status_code == 200


# --- 5. authentication edge cases ------------------------------------------------------------------------------
def test_non_ascii_passwords_and_uniform_failures(auth_server):
    url = auth_server.url + "/v1/documents"
    assert httpx.get(url, auth=("zh", "密码ümlaut")).status_code == 200
    assert httpx.get(url, auth=("zh", "密码")).status_code == 401
    assert httpx.get(url, auth=("admin", "adminpw")).status_code == 200  # bcrypt-hashed entry
    raw = base64.b64encode("reader:pässwörd".encode("latin-1")).decode()
    assert httpx.get(url, headers={"Authorization": f"Basic {raw}"}).status_code == 401  # not UTF-8: 401, not 500
    unknown = httpx.get(url, auth=("nobody-here", "x"))
    wrong = httpx.get(url, auth=("reader", "x"))
    assert unknown.status_code == wrong.status_code == 401 and unknown.json() == wrong.json()
    login_unknown = httpx.post(auth_server.url + "/login", data={"username": "nobody-here", "password": "x"})
    login_wrong = httpx.post(auth_server.url + "/login", data={"username": "reader", "password": "x"})
    assert login_unknown.status_code == login_wrong.status_code == 401
    assert login_unknown.text == login_wrong.text


def test_failed_logins_are_throttled_even_for_the_right_password(auth_server):
    for _ in range(5):
        assert (
            httpx.post(auth_server.url + "/login", data={"username": "admin", "password": "guess"}).status_code == 401
        )
    r = httpx.post(auth_server.url + "/login", data={"username": "admin", "password": "adminpw"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert httpx.get(auth_server.url + "/v1/documents", auth=("admin", "adminpw")).status_code == 429
    assert httpx.get(auth_server.url + "/v1/documents", auth=("reader", "readerpw")).status_code == 200


def test_regqa_passwd_prints_a_hash_that_signs_in(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "passwd", "carol", "--stdin"],
        input="s3cret-é\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    user, _, hashed = out.stdout.strip().partition(":")
    assert user == "carol" and hashed.startswith("$2") and "s3cret" not in out.stdout
    from assistant.security import PasswordBook

    book = PasswordBook(out.stdout.strip())
    assert book.verify("carol", "s3cret-é") and not book.verify("carol", "s3cret")


# --- 6. rendering, request bodies, upload edge cases -----------------------------------------------------------
def test_javascript_links_and_html_in_documents_are_inert(uploads_server):
    r = httpx.post(
        uploads_server.url + "/v1/documents?wait=120", files={"file": ("probe.md", DOC.encode())}, timeout=130
    )
    assert r.status_code == 200 and r.json()["report"]["added"] == ["test-security-probe-doc"], r.text
    answer = httpx.post(
        uploads_server.url + "/v1/ask", json={"question": "无人机配送要买什么保险？"}, timeout=60
    ).json()
    cite = next(c for c in answer["citations"] if c["doc_id"] == "test-security-probe-doc")
    assert cite["source_url"] == ""
    chat = httpx.post(
        uploads_server.url + "/v1/chat/completions",
        timeout=60,
        json={"messages": [{"role": "user", "content": "无人机配送要买什么保险？"}]},
    ).json()
    assert "javascript:" not in chat["choices"][0]["message"]["content"]
    from assistant.answering.models import Citation
    from assistant.web.ui import as_text, clause_panel

    shown = as_text(answer["text"])
    assert "<img" not in shown and "&lt;img" in shown
    panel = clause_panel(Citation.from_dict({**cite, "source_url": "javascript:alert(1)"}))
    assert "javascript:" not in panel and "<img" not in panel


def test_non_string_content_part_is_a_422(open_server):
    r = httpx.post(
        open_server.url + "/v1/chat/completions",
        timeout=30,
        json={"messages": [{"role": "user", "content": [{"type": "text", "text": {"nested": 1}}]}]},
    )
    assert r.status_code == 422


def _docx_bomb() -> bytes:
    from docx import Document

    buffer = io.BytesIO()
    Document().save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + b"<!--" + b"A" * 5_000_000 + b"-->")
            bomb.writestr(item, data)
    return out.getvalue()


def test_docx_that_inflates_past_the_limit_is_refused_before_parsing(uploads_server):
    bomb = _docx_bomb()
    assert len(bomb) < 100_000
    started = time.time()
    r = httpx.post(uploads_server.url + "/v1/documents", files={"file": ("bomb.docx", bomb)}, timeout=60)
    assert r.status_code == 400 and "unpacks to" in r.json()["error"]["message"]
    assert time.time() - started < 5


def test_duplicate_ids_are_refused_and_removal_takes_every_copy(uploads_server):
    doc = DOC.replace("test-security-probe-doc", "test-duplicate-doc")
    first = httpx.post(
        uploads_server.url + "/v1/documents?wait=120", files={"file": ("one.md", doc.encode())}, timeout=130
    )
    assert first.status_code == 200, first.text
    second = httpx.post(uploads_server.url + "/v1/documents", files={"file": ("two.md", doc.encode())}, timeout=60)
    assert second.status_code == 409 and "already uploaded" in second.json()["error"]["message"]
    r = httpx.delete(uploads_server.url + "/v1/documents/test-duplicate-doc?wait=120", timeout=130)
    assert r.status_code == 200 and r.json()["report"]["removed"] == ["test-duplicate-doc"]
    assert "test-duplicate-doc" not in indexed_ids(uploads_server)


def test_concurrent_uploads_share_one_reindex_at_a_time(uploads_server):
    docs = [DOC.replace("test-security-probe-doc", f"test-concurrent-{i}") for i in range(3)]

    def upload(i):
        return httpx.post(
            uploads_server.url + "/v1/documents", files={"file": (f"c{i}.md", docs[i].encode())}, timeout=60
        )

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(upload, range(3)))
    assert all(r.status_code in (200, 202) for r in responses), [r.text for r in responses]
    jobs = {r.json()["job_id"] for r in responses}
    assert len(jobs) <= 3
    deadline = time.time() + 180
    while time.time() < deadline:
        states = [httpx.get(f"{uploads_server.url}/v1/jobs/{j}").json()["state"] for j in jobs]
        if all(s == "done" for s in states):
            break
        failed = [
            job for j in jobs if (job := httpx.get(f"{uploads_server.url}/v1/jobs/{j}").json())["state"] == "failed"
        ]
        assert not failed, [(job["reason"], job.get("error"), job.get("report")) for job in failed]
        time.sleep(0.5)
    assert {f"test-concurrent-{i}" for i in range(3)} <= indexed_ids(uploads_server)


# --- 7. headers, docs, generic 404s ----------------------------------------------------------------------------
def test_security_headers_and_generic_404s(open_server):
    r = httpx.get(open_server.url + "/healthz")
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "img-src 'self' data: blob:" in r.headers["content-security-policy"]
    for path in ("/slack/events", "/wecom/callback"):
        r = httpx.post(open_server.url + path, json={})
        assert r.status_code == 404 and "REGQA_" not in r.text


# --- second review round: body limits, host check, sessions, Gradio routes, timing ------------------------------
def test_bodies_are_bounded_even_without_a_content_length(open_server, auth_server):
    huge = b'{"question": "' + b"a" * 3_000_000 + b'"}'
    r = httpx.post(open_server.url + "/v1/ask", content=huge, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    r = httpx.post(
        auth_server.url + "/login",
        content=b"username=x&password=" + b"a" * 3_000_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413

    def chunks():  # chunked transfer: no Content-Length to refuse up front
        for _ in range(40):
            yield b"a" * 100_000

    started = time.time()
    try:
        r = httpx.post(open_server.url + "/v1/ask", content=chunks(), timeout=30)
        assert r.status_code >= 400
    except httpx.HTTPError:
        pass  # dropped mid-body: also refused
    assert time.time() - started < 20
    assert httpx.get(open_server.url + "/healthz", timeout=5).status_code == 200


def test_foreign_host_headers_are_refused(open_server, uploads_server):
    r = httpx.post(
        uploads_server.url + "/v1/documents",
        files={"file": ("x.md", DOC.encode())},
        headers={"Host": "attacker.example:7913", "Origin": "http://attacker.example:7913"},
    )
    assert r.status_code == 400
    assert httpx.get(open_server.url + "/v1/documents", headers={"Host": "attacker.example"}).status_code == 400


def test_sessions_end_at_logout_and_when_the_credential_changes(auth_server, tmp_path, clean_index, settings_factory):
    url = auth_server.url
    with httpx.Client(base_url=url) as client:
        assert client.post("/login", data={"username": "reader", "password": "readerpw"}).status_code == 303
        cookie = client.cookies.get("regqa_session")
        assert client.get("/v1/documents").status_code == 200
        assert client.get("/logout").status_code == 200  # a page with a button: a GET signs nobody out
        assert client.get("/v1/documents").status_code == 200
        client.post("/logout", headers={"Origin": url})
    assert httpx.get(url + "/v1/documents", cookies={"regqa_session": cookie}).status_code == 401
    # the same secret, another token: sessions made with the old token no longer count
    from assistant.security import AccessControl, Credentials

    old = AccessControl(settings_factory(tmp_path, clean_index.corpus_dir, api_token="old", session_secret="s"))
    new = AccessControl(settings_factory(tmp_path, clean_index.corpus_dir, api_token="new", session_secret="s"))
    token_cookie = old.sessions.issue("__token__", "old")
    assert old.identify("c", Credentials(cookie=token_cookie)) is not None
    assert new.identify("c", Credentials(cookie=token_cookie)) is None


def test_every_gradio_route_to_document_events_is_refused(open_server, auth_server):
    for path in (
        "/gradio_api/run/remove_document",
        "/gradio_api/api/add_documents",
        "/gradio_api/call/v2/add_documents",
    ):
        r = httpx.post(open_server.url + path, json={"data": ["x"]})
        assert r.status_code == 403, (path, r.status_code)
    config = httpx.get(open_server.url + "/config").json()
    index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "remove_document")
    for fn_index in (index, str(index), float(index)):
        r = httpx.post(
            open_server.url + "/gradio_api/queue/join",
            json={"fn_index": fn_index, "data": ["x"], "session_hash": "abc"},
        )
        assert r.status_code == 403, fn_index


def test_long_passwords_take_as_long_for_known_and_unknown_users():
    from assistant.security import PasswordBook

    book = PasswordBook(f"alice:{hash_password('pw', rounds=10)},empty:")
    assert "empty" not in book.hashes  # an empty password is no account
    long = "x" * 73

    def timed(user):
        started = time.perf_counter()
        assert not book.verify(user, long)
        return time.perf_counter() - started

    known = min(timed("alice") for _ in range(3))
    unknown = min(timed("nobody") for _ in range(3))
    assert known > unknown / 16  # both pay for a bcrypt check (the unknown one at cost 12, alice at cost 10)
