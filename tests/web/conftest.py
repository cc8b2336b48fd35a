"""Fixtures for the web tests: a real server (uvicorn in a thread, free port) over the small-corpus index."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tests_web_support import LiveServer, free_port  # noqa: E402


@pytest.fixture(scope="session")
def live_server(clean_index):
    from assistant.web import create_app

    server = LiveServer(create_app(clean_index.settings), free_port()).start()
    yield server
    server.stop()
