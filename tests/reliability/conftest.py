"""Fixtures for the reliability tests (load, faults, bad input) over the small-corpus index of tests/conftest.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent.parent
for _dir in (Path(__file__).resolve().parent, _TESTS, _TESTS / "web"):
    if str(_dir) not in sys.path:
        sys.path.insert(0, str(_dir))

from rel_support import free_port  # noqa: E402
from support.live_server import LiveServer  # noqa: E402


@pytest.fixture(scope="session")
def rel_service(clean_index):
    """One warm extractive ``AnswerService`` over the clean small-corpus index (read it, never write it)."""
    from assistant.answering.service import AnswerService

    service = AnswerService(clean_index.settings)
    service.warm_up()
    return service


@pytest.fixture(scope="session")
def api_server(clean_index):
    """The real app (API, no Gradio UI) over the clean small-corpus index, uvicorn in a thread."""
    from assistant.web import create_app

    server = LiveServer(create_app(clean_index.settings, with_ui=False), free_port()).start()
    yield server
    server.stop()
