"""Fixtures for the web tests: a real server (uvicorn in a thread, free port) over the small-corpus index."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from support.live_server import LiveServer

sys.path.insert(0, str(Path(__file__).parent))  # chat_page, tests_web_support
from chat_page import open_page  # noqa: E402


@pytest.fixture(scope="session")
def live_server(clean_index):
    from assistant.web import create_app

    server = LiveServer(create_app(clean_index.settings)).start()
    yield server
    server.stop()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, driven by Playwright for Python."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: `apt-get install chromium fonts-noto-cjk` (.ci/run does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    context, pg = open_page(browser, live_server.url)
    yield pg
    context.close()
