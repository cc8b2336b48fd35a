"""The chat UI in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright for Python):
ask a Chinese question, watch the answer stream in with citations, open a citation, switch a filter."""

from __future__ import annotations

from chat_page import ask, expand_full_text, open_source, source_labels


def test_chinese_question_streams_a_cited_answer_and_opens_the_clause(page, tmp_path):
    n = ask(page, "生成式人工智能服务提供者对生成的图片、视频要做什么标识？")
    chat = expand_full_text(page, n)
    assert "以下为" in chat and "的原文：" in chat and "[1]" in chat
    assert "对图片、视频等生成内容进行标识" in chat
    panel = open_source(page, n, "第十二条")
    assert "第十二条" in panel and "对图片、视频等生成内容进行标识" in panel
    assert "https://www.cac.gov.cn/" in panel and "2023-07-10" in panel
    page.screenshot(path=str(tmp_path / "answer-and-clause.png"), full_page=True)
    assert (tmp_path / "answer-and-clause.png").stat().st_size > 10_000


def test_english_question_and_document_filter(page, tmp_path):
    # Restrict to the UN resolution with the document filter, then ask in English.
    page.click("#documents input")
    page.keyboard.type("78/311")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    n = ask(page, "What does the resolution encourage countries to do about capacity-building?")
    labels = source_labels(page, n)
    assert labels and all("78/311" in label for label in labels), labels
    chat = page.inner_text("#chatbot")
    assert "capacity" in chat.lower() and "[1]" in chat  # the lead answers first, with its citation
    page.screenshot(path=str(tmp_path / "filtered.png"), full_page=True)


def test_refusal_shows_possibly_related_clauses(page):
    n = ask(page, "What does Colorado's AI law require from developers?")
    assert "does not cover" in page.inner_text("#chatbot")
    assert "Possibly related" in page.inner_text(f'#chatbot .turn[data-turn="{n}"] .sources')
    assert source_labels(page, n)


def test_the_part_of_a_question_the_corpus_does_not_cover_is_named(page, tmp_path):
    n = ask(page, "生成式人工智能服务提供者发现违法内容后应当怎么处置？另外，深圳有没有自己的地方细则？")
    turn = f'#chatbot .turn[data-turn="{n}"]'
    assert "深圳有没有自己的地方细则" in page.inner_text(f"{turn} .notices")
    assert "语料库未涵盖" in page.inner_text(turn) and source_labels(page, n)
    page.screenshot(path=str(tmp_path / "partial-coverage.png"), full_page=True)


def test_empty_question_gets_a_message_not_an_error(page):
    page.fill("#question textarea", "   ")
    page.click("#send")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('empty')", timeout=30_000)


def test_clear_chat(page):
    ask(page, "深度合成服务提供者的义务有哪些？")
    page.click("#clear")
    page.wait_for_function("document.querySelectorAll('#chatbot .turn').length === 0", timeout=20_000)
    assert "深度合成服务提供者的义务" not in page.inner_text("#chatbot")


NOVEL_DOC = """# 无人机快递管理办法（测试文件）

第一条 无人机快递在居民区上空飞行高度不得低于一百二十米。

第二条 无人机快递运营者应当为每架无人机购买第三者责任保险。
"""


def test_upload_a_document_and_find_it_answerable(browser, tmp_path_factory, clean_index, settings_factory):
    from support.live_server import private_server

    server = private_server(tmp_path_factory.mktemp("upload"), clean_index, settings_factory, open_uploads=True)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(server.url + "/")
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.get_by_role("tab", name="Documents / 文件库").click()
        source = tmp_path_factory.mktemp("files") / "drone-delivery.md"
        source.write_text(NOVEL_DOC, encoding="utf-8")
        page.locator("#upload input[type=file]").set_input_files(str(source))
        page.wait_for_timeout(1500)
        page.click("#add-documents")
        page.wait_for_function(
            "document.querySelector('#manage-status').innerText.includes('drone-delivery')", timeout=120_000
        )
        # the table re-renders just after the status line (Gradio shows its progress overlay meanwhile)
        page.wait_for_function(
            "document.querySelector('#documents-table').innerText.includes('drone-delivery')", timeout=30_000
        )
        page.get_by_role("tab", name="Chat / 问答").click()
        n = ask(page, "无人机快递在居民区上空最低飞多高？")
        assert any("无人机快递管理办法" in label for label in source_labels(page, n))
        assert "一百二十米" in expand_full_text(page, n)
        page.screenshot(path=str(source.parent / "uploaded-answer.png"), full_page=True)
        context.close()
    finally:
        server.stop()


HTML_PROBE_DOC = """---
id: test-html-probe
title: 无人机保险规定（测试文件）
jurisdiction: CN
language: zh
status: in-force
official_url: "javascript:alert(document.cookie)"
---

# 无人机保险规定（测试文件）

第一条 无人机运营者应当购买第三者责任保险。<img src="{beacon}/beacon.png" id="probe-img">
"""


def test_sign_in_then_document_html_shows_as_text_and_loads_nothing(
    browser, tmp_path_factory, clean_index, settings_factory
):
    """With auth on, the UI sends a browser to the login page; after signing in, a clause holding an <img> tag
    (and a javascript: official link) is shown as text: the browser never requests the image."""
    import http.server
    import threading

    import httpx
    from support.live_server import free_port, private_server

    hits = []

    class Beacon(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    beacon = http.server.HTTPServer(("127.0.0.1", free_port()), Beacon)
    threading.Thread(target=beacon.serve_forever, daemon=True).start()
    from assistant.security import hash_password

    server = private_server(
        tmp_path_factory.mktemp("signin"),
        clean_index,
        settings_factory,
        auth_users=f"ada:{hash_password('lovelace-1815', rounds=4)}",
        admin_users="ada",
    )
    try:
        doc = HTML_PROBE_DOC.format(beacon=f"http://127.0.0.1:{beacon.server_port}")
        r = httpx.post(
            server.url + "/v1/documents?wait=120",
            files={"file": ("probe.md", doc.encode())},
            auth=("ada", "lovelace-1815"),
            timeout=130,
        )
        assert r.status_code == 200, r.text
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(server.url + "/")
        page.wait_for_selector("#login", timeout=30_000)  # redirected to the sign-in page
        page.fill("#username", "ada")
        page.fill("#password", "wrong")
        page.click("#login")
        page.wait_for_selector("#login-error", timeout=10_000)
        assert "Wrong user name or password" in page.inner_text("#login-error")
        page.fill("#username", "ada")
        page.fill("#password", "lovelace-1815")
        page.click("#login")
        page.wait_for_selector("#question textarea", timeout=60_000)
        n = ask(page, "无人机运营者要买什么保险？")
        chat = expand_full_text(page, n)
        assert "第三者责任保险" in chat and "<img" in chat  # the tag is text
        assert page.locator("#chatbot img#probe-img").count() == 0
        panel = open_source(page, n)
        assert "<img" in panel and page.locator("#clause-panel img").count() == 0
        assert page.locator("#clause-panel a[href^='javascript']").count() == 0
        page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "signed-in.png"), full_page=True)
        page.wait_for_timeout(500)
        assert hits == []
        context.close()
    finally:
        server.stop()
        beacon.shutdown()
