"""The obligation register end to end: a real ingest, the CLI as users run it (json / csv / docx), the API over
real HTTP, and the issue's done-when checks."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
from conftest import AI_ACT, LABELLING  # noqa: F401  (tests/obligations/conftest.py)

FIELDS = {"doc_id", "unit", "locator", "actor", "actor_norm", "modality", "condition", "text", "applies_from"}


def regqa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("regqa")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=300)


def check_labelling_items(items: list[dict]) -> None:
    assert items and all(set(i) >= FIELDS for i in items)
    assert {i["doc_id"] for i in items} == {LABELLING}
    units = {i["unit"] for i in items}
    assert not units & {"preamble", "第一条", "第二条", "第三条", "第十三条", "第十四条"}  # notice, purpose, scope,
    # definitions, penalties, entry into force
    assert {"第四条", "第五条", "第六条", "第七条", "第八条", "第九条", "第十条", "第十一条", "第十二条"} <= units
    tampering = [i for i in items if "恶意删除、篡改、伪造、隐匿" in i["text"]]
    assert [(t["locator"], t["actor_norm"], t["modality"]) for t in tampering] == [
        ("第十条第二款", "anyone", "prohibition")
    ]
    app_store = next(i for i in items if i["unit"] == "第七条")
    assert (app_store["actor"], app_store["actor_norm"]) == ("互联网应用程序分发平台", "app_store")
    assert all(i["applies_from"] == "2025-09-01" for i in items)
    assert not any("鼓励" in i["text"] for i in items)


def test_cli_json_for_the_labelling_measures(register_index, cli_env):
    result = regqa("obligations", "--doc", LABELLING, "--json", env=cli_env(register_index.settings))
    assert result.returncode == 0, result.stderr
    check_labelling_items(json.loads(result.stdout)["items"])


def test_cli_deployer_role_on_the_ai_act(register_index, cli_env):
    result = regqa("obligations", "--role", "deployer", "--doc", AI_ACT, "--json", env=cli_env(register_index.settings))
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)["items"]
    units = {i["unit"] for i in items}
    assert "Article 26" in units and "Article 16" not in units
    assert not units & {
        "Article 17",
        "Article 18",
        "Article 19",
        "Article 21",
        "Article 22",
        "Article 23",
        "Article 24",
    }
    article_50 = {i["locator"] for i in items if i["unit"] == "Article 50"}
    assert {"Article 50(3)", "Article 50(4)"} <= article_50
    assert not article_50 & {"Article 50(1)", "Article 50(2)"}  # the providers' paragraphs
    assert {i["actor_norm"] for i in items} <= {"deployer", "anyone"}
    paragraph_26_8 = {i["modality"] for i in items if i["locator"] == "Article 26(8)"}
    assert paragraph_26_8 == {"obligation", "prohibition"}  # "they shall not use that system"


def test_cli_csv_docx_and_filters(register_index, cli_env, tmp_path):
    env = cli_env(register_index.settings)
    result = regqa("obligations", "--jurisdiction", "CN", "--as-of", "2025-09-01", "--csv", env=env)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and {r["doc_id"] for r in rows} == {LABELLING} and set(rows[0]) >= FIELDS
    before = regqa("obligations", "--jurisdiction", "CN", "--as-of", "2025-08-31", "--json", env=env)
    assert json.loads(before.stdout)["items"] == []  # not yet in force the day before

    out = tmp_path / "deployer.docx"
    result = regqa("obligations", "--role", "user", "--docx", str(out), env=env)
    assert result.returncode == 0, result.stderr
    from docx import Document

    document = Document(str(out))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Article 26" in text and "第十条" in text  # deployers (EU) and users (CN) alike
    assert "恶意删除、篡改、伪造、隐匿" in text  # binds anyone, so shown for every role
    assert "Article 16" not in text


def test_cli_refuses_bad_filters_clearly(register_index, cli_env):
    env = cli_env(register_index.settings)
    bad_role = regqa("obligations", "--role", "astronaut", env=env)
    assert bad_role.returncode == 2 and "unknown role 'astronaut'" in bad_role.stderr
    bad_date = regqa("obligations", "--as-of", "1 Sept", env=env)
    assert bad_date.returncode == 2 and "as_of must be a date" in bad_date.stderr
    bad_doc = regqa("obligations", "--doc", "no-such-doc", env=env)
    assert bad_doc.returncode == 2 and "no document no-such-doc" in bad_doc.stderr


def test_api_returns_the_same_register(register_server):
    url = register_server.url + "/v1/obligations"
    response = httpx.get(url, params={"doc": LABELLING}, timeout=60)
    assert response.status_code == 200
    check_labelling_items(response.json()["items"])

    deployer = httpx.get(
        url, params=[("doc", AI_ACT), ("role", "deployer"), ("jurisdiction", "EU"), ("as_of", "2026-09-01")], timeout=60
    ).json()["items"]
    assert "Article 26" in {i["unit"] for i in deployer} and "Article 16" not in {i["unit"] for i in deployer}
    # Article 26 applies from 2 August 2026 (Article 113): on 1 January 2026 it is not yet on the checklist
    before = httpx.get(url, params=[("doc", AI_ACT), ("role", "deployer"), ("as_of", "2026-01-01")], timeout=60).json()[
        "items"
    ]
    assert "Article 26" not in {i["unit"] for i in before}
    both = httpx.get(url, params=[("doc", AI_ACT), ("doc", LABELLING)], timeout=60).json()["items"]
    assert {i["doc_id"] for i in both} == {AI_ACT, LABELLING}


def test_api_rejects_bad_filters_with_400(register_server):
    url = register_server.url + "/v1/obligations"
    for params, message in (
        ({"role": "astronaut"}, "unknown role"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"doc": "no-such-doc"}, "no document"),
    ):
        response = httpx.get(url, params=params, timeout=60)
        assert response.status_code == 400 and message in response.json()["error"]["message"], params


def test_register_is_stored_and_rebuilt_when_the_collection_changes(register_index, tmp_path, settings_factory):
    import shutil

    from assistant.obligations import ObligationQuery, ObligationRegister
    from ingest.pipeline import register_dir, run_ingest

    corpus = tmp_path / "corpus"
    shutil.copytree(register_index.corpus_dir, corpus)
    shutil.copytree(register_index.settings.index_dir, tmp_path / "index")
    settings = settings_factory(tmp_path, corpus)
    stored = json.loads((register_dir(settings) / "register.json").read_text(encoding="utf-8"))
    assert any(i["doc_id"] == LABELLING for i in stored["items"])  # written by the ingest

    path = corpus / f"{LABELLING}.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "第十四条 本办法自2025年9月1日起施行。", "第十四条 服务提供者应当每年报告标识情况。"
        ),
        encoding="utf-8",
    )
    assert run_ingest(settings).replaced == [LABELLING]
    items = ObligationRegister(settings).find(ObligationQuery(docs=(LABELLING,)))
    assert any(i["unit"] == "第十四条" and i["actor_norm"] == "provider" for i in items)
