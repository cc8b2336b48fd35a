"""The as-of date over real HTTP, in the CLI and in the UI (issue 14 part 2), on a real index of the EU AI Act and
the GenAI Interim Measures: each citation says from when it applies and whether it is in effect on that date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from chat_page import ask as ask_in_chat
from chat_page import open_source
from support.live_server import LiveServer


@pytest.fixture(scope="module")
def dated_server(dated_index):
    from assistant.web import create_app

    server = LiveServer(create_app(dated_index.settings)).start()
    yield server
    server.stop()


def ask(server, question: str, **extra) -> httpx.Response:
    return httpx.post(server.url + "/v1/ask", json={"question": question, **extra}, timeout=120)


def by_unit(body: dict) -> dict[str, dict]:
    return {c["unit"]: c for c in body["citations"]}


def test_done_when_article_53_not_in_effect_and_article_5_in_effect_on_2025_06_01(dated_server):
    r53 = ask(dated_server, "What does Article 53 of the EU AI Act require?", as_of="2025-06-01")
    r5 = ask(dated_server, "What does Article 5 of the EU AI Act prohibit?", as_of="2025-06-01")
    assert r53.status_code == 200 and r5.status_code == 200, (r53.text, r5.text)
    art53, art5 = by_unit(r53.json())["Article 53"], by_unit(r5.json())["Article 5"]
    assert (art53["applies_from"], art53["in_effect"]) == ("2025-08-02", False)
    assert (art5["applies_from"], art5["in_effect"]) == ("2025-02-02", True)
    assert "not yet applicable on 2025-06-01: applies from 2 August 2025" in r53.json()["text"]
    assert "not yet applicable" not in r5.json()["text"]
    # a day the obligations apply: in effect, no notice
    later = ask(dated_server, "What does Article 53 of the EU AI Act require?", as_of="2025-08-02").json()
    assert by_unit(later)["Article 53"]["in_effect"] is True and "not yet applicable" not in later["text"]


def test_when_question_puts_the_date_first_in_english_and_chinese(dated_server):
    en = ask(dated_server, "When do the prohibited AI practices of the EU AI Act apply?", as_of="2025-01-01").json()
    assert en["text"].startswith("**When it applies:**"), en["text"][:200]
    assert "Article 5: applies from 2 February 2025" in en["text"].split("\n")[0]
    zh = ask(dated_server, "生成式人工智能服务管理暂行办法何时施行？", as_of="2023-08-01").json()
    first = zh["text"].split("\n")[0]
    assert first.startswith("**适用日期**") and "自2023年8月15日起适用" in first, first
    assert "尚未适用：自2023年8月15日起适用" in zh["text"]


def test_malformed_as_of_is_a_400_in_both_endpoints(dated_server):
    bad = ask(dated_server, "What does Article 5 of the EU AI Act prohibit?", as_of="2025-13-01")
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_as_of"
    chat = httpx.post(
        dated_server.url + "/v1/chat/completions",
        timeout=60,
        json={"messages": [{"role": "user", "content": "Article 5 EU AI Act"}], "as_of": "June 2025"},
    )
    assert chat.status_code == 400 and "YYYY-MM-DD" in chat.json()["error"]["message"]


def test_chat_completions_take_as_of_as_an_extra_field(dated_server):
    body = httpx.post(
        dated_server.url + "/v1/chat/completions",
        timeout=120,
        json={
            "messages": [{"role": "user", "content": "What does Article 53 of the EU AI Act require?"}],
            "as_of": "2025-06-01",
        },
    ).json()
    cit = next(c for c in body["citations"] if c["unit"] == "Article 53")
    assert cit["in_effect"] is False and cit["applies_from"] == "2025-08-02"
    assert "not yet applicable on 2025-06-01" in body["choices"][0]["message"]["content"]


def regqa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("regqa")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=300)


def test_cli_as_of_timeline_and_a_malformed_date(dated_index, cli_env):
    env = cli_env(dated_index.settings)
    answer = regqa("ask", "What does Article 53 of the EU AI Act require?", "--as-of", "2025-06-01", env=env)
    assert answer.returncode == 0, answer.stderr
    out = " ".join(answer.stdout.split())
    assert "not yet applicable on 2025-06-01: applies from 2 August 2025" in out
    assert "applies from 2025-08-02 · NOT in effect on 2025-06-01" in out
    bad = regqa("ask", "Article 5", "--as-of", "01/06/2025", env=env)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr
    timeline = regqa("timeline", "--doc", "eu-ai-act-2024", env=env)
    assert timeline.returncode == 0, timeline.stderr
    lines = timeline.stdout.splitlines()
    days = [d for d in ("2024-08-01", "2025-02-02", "2025-08-02", "2026-08-02", "2027-08-02")]
    positions = [next(i for i, line in enumerate(lines) if d in line) for d in days]
    assert positions == sorted(positions) and "2023-08-15" not in timeline.stdout
    cn = regqa("timeline", "--jurisdiction", "CN", env=env)
    assert "2023-08-15" in cn.stdout and "eu-ai-act" not in cn.stdout


def test_ui_date_field_marks_a_citation_not_in_effect_and_shows_the_timeline(dated_server, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(dated_server.url + "/")
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.fill("#as-of input, #as-of textarea", "2025-06-01")
        n = ask_in_chat(page, "What does Article 53 of the EU AI Act require?")
        assert "not yet applicable on 2025-06-01: applies from 2 August 2025" in page.inner_text("#chatbot")
        open_source(page, n, "Article 53")
        panel = page.locator("#clause-panel .applicability")
        assert panel.get_attribute("data-in-effect") == "false"
        assert "2025-08-02" in panel.inner_text()
        page.get_by_role("tab", name="Documents / 文件库").click()
        page.wait_for_selector("#timeline-table", timeout=20_000)
        table = page.inner_text("#timeline-table")
        assert "2027-08-02" in table and "Article 6(1)" in table and "2023-08-15" in table
        page.screenshot(path=str(tmp_path / "as-of.png"), full_page=True)
    finally:
        context.close()
