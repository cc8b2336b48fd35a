"""Document management and access control over real HTTP: uploads (checked, safely named, indexed and then
answerable), removal, and auth (users, admin, API token). Each server here works on a private index copy."""

from __future__ import annotations

import httpx
import pytest
from support.live_server import private_server

NOVEL_DOC = """---
id: test-robot-barista-rules
title: 机器人咖啡师管理规定（测试文件）
jurisdiction: CN
language: zh
status: in-force
---

# 机器人咖啡师管理规定（测试文件）

第一条 机器人咖啡师在营业期间必须佩戴蓝色帽子。

第二条 机器人咖啡师每日清洁咖啡机不少于三次。
"""


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory, clean_index, settings_factory):
    server = private_server(
        tmp_path_factory.mktemp("auth"),
        clean_index,
        settings_factory,
        auth_users="admin:adminpw,reader:readerpw",
        admin_users="admin",
        api_token="tok-123",
        upload_max_mb=0.05,
    )
    yield server
    server.stop()


ADMIN = ("admin", "adminpw")
READER = ("reader", "readerpw")


def test_api_requires_credentials(auth_server):
    assert httpx.get(auth_server.url + "/healthz").status_code == 200  # probes stay open
    r = httpx.post(auth_server.url + "/v1/ask", json={"question": "深度合成的标识义务"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "unauthorized"
    assert (
        httpx.post(
            auth_server.url + "/v1/ask", json={"question": "深度合成的标识义务"}, auth=("reader", "wrong")
        ).status_code
        == 401
    )
    assert (
        httpx.post(
            auth_server.url + "/v1/ask", json={"question": "深度合成的标识义务"}, auth=READER, timeout=60
        ).status_code
        == 200
    )
    assert httpx.get(auth_server.url + "/v1/documents", headers={"Authorization": "Bearer tok-123"}).status_code == 200


def test_only_admins_upload(auth_server):
    files = {"file": ("rules.md", NOVEL_DOC.encode(), "text/markdown")}
    r = httpx.post(auth_server.url + "/v1/documents", files=files, auth=READER)
    assert r.status_code == 403


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("tool.exe", b"MZ\x90\x00", "unsupported file type"),
        ("empty.md", b"   \n", "empty"),
        ("big.md", b"a" * 60_000, "too large"),
        ("garbage.md", bytes(range(256)) * 50, ""),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(auth_server, name, data, reason):
    r = httpx.post(auth_server.url + "/v1/documents", files={"file": (name, data)}, auth=ADMIN, timeout=60)
    assert r.status_code == 400, r.text
    assert reason in r.json()["error"]["message"]


def test_upload_makes_a_document_answerable_then_removal_forgets_it(auth_server, tmp_path):
    files = {"file": ("../../../etc/机器人 规定.md", NOVEL_DOC.encode(), "text/markdown")}
    r = httpx.post(auth_server.url + "/v1/documents?wait=120", files=files, auth=ADMIN, timeout=130)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "done" and body["report"]["added"] == ["test-robot-barista-rules"]
    assert "/" not in body["stored_as"] and ".." not in body["stored_as"] and body["stored_as"].endswith(".md")

    def ask() -> dict:
        return httpx.post(
            auth_server.url + "/v1/ask",
            json={"question": "机器人咖啡师营业时要戴什么颜色的帽子？"},
            auth=READER,
            timeout=60,
        ).json()

    answer = ask()
    assert answer["citations"][0]["doc_id"] == "test-robot-barista-rules"
    assert answer["citations"][0]["unit"] == "第一条" and "蓝色帽子" in answer["text"]

    docs = httpx.get(auth_server.url + "/v1/documents", auth=READER).json()["documents"]
    assert "test-robot-barista-rules" in {d["doc_id"] for d in docs}

    assert httpx.delete(auth_server.url + "/v1/documents/test-robot-barista-rules", auth=READER).status_code == 403
    r = httpx.delete(auth_server.url + "/v1/documents/test-robot-barista-rules?wait=120", auth=ADMIN, timeout=130)
    assert r.status_code == 200 and r.json()["report"]["removed"] == ["test-robot-barista-rules"]
    assert all(c["doc_id"] != "test-robot-barista-rules" for c in ask()["citations"])
    # corpus documents cannot be removed through the API
    assert httpx.delete(auth_server.url + "/v1/documents/cn-genai-interim-measures-2023", auth=ADMIN).status_code == 404
