"""The chat people use, in a real headless Chromium over a real server: Enter / Shift+Enter, inline citations
opening the clause with its span marked, earlier answers keeping their sources, one reset for screen and
history, the phone layout, copy and export, feedback, and the Documents tab."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from chat_page import ask, expand_full_text, open_page, open_source, source_labels, turn, wait_for_turns
from support.live_server import private_server

LABELLING_Q = "生成式人工智能服务提供者对生成的图片、视频要做什么标识？"
UN_Q = "What does UN resolution 78/311 encourage countries to do about capacity-building?"
FOLLOW_UP = "Who does it apply to?"


def box(page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return found


def inside(outer: dict, inner: dict, slack: float = 1.0) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def viewport(page) -> dict:
    size = page.viewport_size
    return {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}


# ---- 4. the chat ---------------------------------------------------------------------------------------------
def test_examples_by_role_fill_the_question(page):
    compliance = page.locator("#examples .example").all_inner_texts()
    page.locator("#role").get_by_text("Legal / 法务").click()
    page.wait_for_function(f"!document.querySelector('#examples').innerText.includes({compliance[0]!r})")
    legal = page.locator("#examples .example")
    assert legal.count() and set(legal.all_inner_texts()).isdisjoint(compliance)
    legal.first.click()
    assert page.locator("#question textarea").input_value() == legal.first.get_attribute("data-question")
    assert page.locator("#chatbot .turn").count() == 0  # filled, not sent


def test_enter_sends_and_shift_enter_adds_a_line(page):
    question = page.locator("#question textarea")
    assert "Shift+Enter" in question.get_attribute("placeholder")
    question.click()
    page.keyboard.type("第一行")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    page.wait_for_timeout(800)
    assert question.input_value() == "第一行\nsecond line"
    assert page.locator("#chatbot .turn").count() == 0  # nothing was sent
    question.fill("")
    page.keyboard.type("深度合成服务提供者的义务有哪些？")
    page.keyboard.press("Enter")
    wait_for_turns(page, 1)
    assert turn(page, 0).locator(".bubble.user").inner_text() == "深度合成服务提供者的义务有哪些？"
    assert source_labels(page, 0) and question.input_value() == ""


def test_inline_citation_opens_the_unit_with_the_answer_span_marked(page, live_server):
    n = ask(page, LABELLING_Q)
    answer = httpx.post(live_server.url + "/v1/ask", json={"question": LABELLING_Q}, timeout=60).json()
    marked = [c for c in answer["citations"] if c["spans"]]
    assert marked, "the answer marks no span of any citation"
    target = marked[0]
    card = turn(page, n)
    inline = card.locator(f'.answer-lead .cite[data-n="{target["n"]}"]')
    if inline.count() == 0:  # the lead does not cite it: use the full clauses
        expand_full_text(page, n)
        inline = card.locator(f'.answer-body .cite[data-n="{target["n"]}"]')
    inline.first.hover()
    page.wait_for_selector("#cite-card:not([hidden])", timeout=5_000)  # the desktop hover card
    assert target["unit"] in page.inner_text("#cite-card")
    inline.first.click()
    page.wait_for_selector(f'#clause-view .clause[data-citation="{target["n"]}"] mark', timeout=10_000)
    title = page.inner_text("#clause-view .clause-title")
    assert target["unit"] in title  # the panel's label names the unit
    assert "###" not in page.inner_text("#clause-view")
    page.wait_for_timeout(300)
    assert inside(box(page, "#clause-view"), box(page, "#clause-view mark"), slack=2)  # scrolled into view


def test_earlier_answers_keep_their_sources_and_a_new_answer_shows_from_its_top(page):
    first = ask(page, LABELLING_Q)
    expand_full_text(page, first)  # a long first answer
    second = ask(page, UN_Q)
    conversation, new_turn = box(page, "#chatbot"), box(page, f'#chatbot .turn[data-turn="{second}"]')
    assert conversation["y"] - 2 <= new_turn["y"] <= conversation["y"] + 60  # its top, not its bottom
    panel = open_source(page, first, "第十二条")
    assert "对图片、视频等生成内容进行标识" in panel
    panel = open_source(page, second, "78/311")
    assert "78/311" in panel and "对图片、视频等生成内容进行标识" not in panel
    panel = open_source(page, first, "第十二条")  # and the first again
    assert "第十二条" in page.inner_text("#clause-view .clause-title")


def test_new_chat_clears_the_screen_and_the_history(page):
    ask(page, UN_Q)
    follow_up = ask(page, FOLLOW_UP)
    assert "78/311" in source_labels(page, follow_up)[0]  # read in the thread's context
    open_source(page, follow_up, "78/311")
    page.click("#clear")
    page.wait_for_function("document.querySelectorAll('#chatbot .turn').length === 0", timeout=20_000)
    assert page.locator("#clause-view .clause").count() == 0
    assert page.locator("#export-docx").is_disabled()
    fresh = ask(page, FOLLOW_UP)
    assert fresh == 0
    assert "78/311" not in source_labels(page, fresh)[0]  # no old topic carried over: the answer leads elsewhere
    assert turn(page, fresh).locator(".interpreted").count() == 0


# ---- 5. phone layout -----------------------------------------------------------------------------------------
def test_phone_layout_input_visible_clause_sheet_filters_behind_a_button(browser, live_server, tmp_path):
    context, page = open_page(
        browser, live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        assert inside(viewport(page), box(page, "#question textarea"))
        assert inside(viewport(page), box(page, "#send"))
        assert not page.locator("#jurisdiction").is_visible()  # filters behind a button
        page.click("#filters-toggle")
        page.wait_for_selector("#jurisdiction", state="visible", timeout=5_000)
        page.click("#filters-toggle")
        n = ask(page, LABELLING_Q)
        expand_full_text(page, n)
        assert inside(viewport(page), box(page, "#question textarea"))
        page.screenshot(path=str(tmp_path / "phone-answer.png"))
        open_source(page, n, "第十二条")
        page.wait_for_timeout(400)  # the sheet slides up
        sheet = box(page, "#clause-panel")
        assert abs(sheet["y"] + sheet["height"] - 844) <= 2 and sheet["y"] > 844 * 0.2  # a bottom sheet
        assert inside(viewport(page), box(page, "#clause-view .clause-title"))
        page.screenshot(path=str(tmp_path / "phone-clause.png"))
        page.click("#clause-panel .sheet-close")
        page.wait_for_timeout(400)
        assert box(page, "#clause-panel")["y"] >= 844 - 2
        assert inside(viewport(page), box(page, "#question textarea"))
    finally:
        context.close()


# ---- 6. copy and export --------------------------------------------------------------------------------------
def test_copy_and_export_the_conversation(browser, live_server, tmp_path):
    from docx import Document

    context, page = open_page(browser, live_server.url, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    try:
        assert page.locator("#export-docx").is_disabled()
        n = ask(page, LABELLING_Q)
        label = source_labels(page, n)[0].split("] ", 1)[1]  # 《生成式人工智能服务管理暂行办法》第十二条
        title, unit = label.strip("《").split("》", 1)
        turn(page, n).locator(".copy-answer").click()
        page.wait_for_timeout(300)
        copied = page.evaluate("navigator.clipboard.readText()")
        assert title in copied and unit in copied and "对图片、视频等生成内容进行标识" in copied
        assert "References" in copied or "参考文献" in copied  # full references: title, unit, date, link
        assert "https://www.cac.gov.cn/" in copied
        with page.expect_download(timeout=30_000) as download:
            page.click("#export-docx")
        path = tmp_path / "conversation.docx"
        download.value.save_as(path)
        text = "\n".join(p.text for p in Document(str(path)).paragraphs)
        assert LABELLING_Q in text and title in text and unit in text
        with page.expect_download(timeout=30_000) as download:
            page.click("#export-md")
        assert LABELLING_Q in Path(download.value.path()).read_text(encoding="utf-8")
    finally:
        context.close()


# ---- 7. feedback and 8. documents (a private server: they write) -----------------------------------------------
@pytest.fixture(scope="module")
def writable_server(tmp_path_factory, clean_index, settings_factory):
    base = tmp_path_factory.mktemp("ui-writable")
    server = private_server(base, clean_index, settings_factory, open_uploads=True)
    yield server, base
    server.stop()


def stored_rows(base: Path, answer_id: str) -> list[tuple]:
    """Rows holding ``answer_id`` in any SQLite file under the server's folder (whatever the store's schema)."""
    rows = []
    for path in base.rglob("*"):
        if not path.is_file() or path.open("rb").read(16) != b"SQLite format 3\x00":
            continue
        with sqlite3.connect(path) as db:
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                rows += [r for r in db.execute(f'SELECT * FROM "{table}"') if any(answer_id == str(v) for v in r)]
    return rows


def test_thumbs_down_and_a_comment_are_stored(browser, writable_server):
    server, base = writable_server
    context, page = open_page(browser, server.url)
    try:
        n = ask(page, LABELLING_Q)
        answer_id = turn(page, n).get_attribute("data-answer-id")
        assert answer_id and not stored_rows(base, answer_id)
        turn(page, n).locator('.rate[data-rating="down"]').click()
        page.wait_for_function(f"""(() => {{ const t = document.querySelector('#chatbot .turn[data-turn="{n}"]');
            return t.querySelector('.rate[data-rating="down"]').getAttribute('aria-pressed') === 'true'; }})()""")
        for _ in range(40):
            if stored_rows(base, answer_id):
                break
            page.wait_for_timeout(250)
        assert any(-1 in row for row in stored_rows(base, answer_id))  # thumbs down = rating -1
        turn(page, n).locator(".comment").fill("第十二条 is right but the lead is too long")
        turn(page, n).locator(".comment-send").click()
        for _ in range(40):
            if any("the lead is too long" in " ".join(map(str, r)) for r in stored_rows(base, answer_id)):
                break
            page.wait_for_timeout(250)
        assert any("the lead is too long" in " ".join(map(str, r)) for r in stored_rows(base, answer_id))
    finally:
        context.close()


REVOKED_UPLOAD = """---
title: 无人机快递管理办法（测试文件）
jurisdiction: CN
language: zh
status: revoked
issued: 2021-03-01
---

# 无人机快递管理办法（测试文件）

第一条 无人机快递在居民区上空飞行高度不得低于一百二十米。
"""

UNKNOWN_STATUS_UPLOAD = """---
title: Guidance on Robot Baristas in International Airports (test file)
jurisdiction: INTL
language: en
---

# Guidance on Robot Baristas in International Airports (test file)

1. Robot baristas shall wear a blue hat during opening hours.
"""


def choose(page, selector: str, text: str) -> None:
    page.click(f"{selector} input")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def test_documents_tab_ids_badges_filter_and_confirmed_removal(browser, writable_server, tmp_path):
    server, _ = writable_server
    for name, text, doc_id in (
        ("Drone Delivery.md", REVOKED_UPLOAD, "drone-delivery"),
        ("robot-barista.md", UNKNOWN_STATUS_UPLOAD, "robot-barista"),
    ):
        r = httpx.post(server.url + "/v1/documents?wait=120", files={"file": (name, text.encode())}, timeout=130)
        assert r.status_code == 200, r.text
        assert r.json()["report"]["added"] == [doc_id]  # the file's name, no random suffix
    context, page = open_page(browser, server.url)
    try:
        page.get_by_role("tab", name="Documents / 文件库").click()
        page.wait_for_selector('#documents-table tr[data-doc-id="drone-delivery"]', timeout=30_000)
        drone = page.locator('#documents-table tr[data-doc-id="drone-delivery"]')
        assert "2021" in drone.inner_text()
        badge = drone.locator(".status-revoked")
        assert badge.count() == 1 and badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(198, 40, 40)"
        assert page.locator('#documents-table tr[data-doc-id="robot-barista"] .status-unknown').count() == 1
        synthesis = page.locator('#documents-table tr[data-doc-id="cn-deep-synthesis-provisions-2022"] .doc-title')
        assert synthesis.get_attribute("title") == "互联网信息服务深度合成管理规定"
        assert len(synthesis.inner_text()) < len("互联网信息服务深度合成管理规定")  # a short title, formal on hover
        page.screenshot(path=str(tmp_path / "documents.png"), full_page=True)

        choose(page, "#removable", "drone-delivery")
        page.click("#remove-document")
        page.wait_for_selector("#remove-confirm", state="visible", timeout=10_000)
        assert "drone-delivery" in page.inner_text("#remove-confirm")
        page.click("#remove-cancel")
        page.wait_for_selector("#remove-confirm", state="hidden", timeout=10_000)
        page.wait_for_timeout(500)
        assert page.locator('#documents-table tr[data-doc-id="drone-delivery"]').count() == 1  # still there
        choose(page, "#removable", "drone-delivery")
        page.click("#remove-document")
        page.click("#remove-yes")
        page.wait_for_function(
            "document.querySelector('#manage-status').innerText.includes('drone-delivery')", timeout=120_000
        )
        page.wait_for_function(
            "!document.querySelector('#documents-table tr[data-doc-id=\"drone-delivery\"]')", timeout=30_000
        )

        page.get_by_role("tab", name="Chat / 问答").click()
        choose(page, "#jurisdiction", "INTL")
        page.get_by_role("tab", name="Documents / 文件库").click()
        page.wait_for_function(
            "!document.querySelector('#documents-table tr[data-doc-id=\"cn-genai-interim-measures-2023\"]')",
            timeout=20_000,
        )
        ids = page.locator("#documents-table tr[data-doc-id]").evaluate_all("rows => rows.map(r => r.dataset.docId)")
        assert sorted(ids) == ["robot-barista", "un-ga-res-78-311-2024"]
        assert "CN" not in page.inner_text("#timeline-table")
    finally:
        context.close()
