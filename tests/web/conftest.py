"""Fixtures for the web tests: a real server (uvicorn in a thread, free port) over the small-corpus index."""

from __future__ import annotations

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


@pytest.fixture
def page(browser, live_server):
    context, pg = open_page(browser, live_server.url)
    yield pg
    context.close()
