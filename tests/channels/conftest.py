"""Fixtures for the Slack and WeCom bot tests.

Real everything except the platforms: the app is ``create_app`` over the small-corpus index (real Chroma, real
embedder, the real ``AnswerService``) served by uvicorn on a free port, and the requests the tests send are
signed exactly as Slack signs them and encrypted exactly as WeCom encrypts them (``channel_support.py``).
Slack's Web API and WeCom's API are a local HTTP server (``fake_platforms.py``) that records the calls.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if str(Path(__file__).resolve().parent) not in sys.path:  # independent of pytest's import mode
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from channel_support import (  # noqa: E402
    RATE_LIMIT,
    SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET,
    WECOM_AES_KEY,
    WECOM_AGENT_ID,
    WECOM_CORP_ID,
    WECOM_SECRET,
    WECOM_TOKEN,
    LiveServer,
)
from fake_platforms import FakePlatforms  # noqa: E402


@pytest.fixture(scope="session")
def fake():
    platforms = FakePlatforms(
        {WECOM_SECRET: WECOM_CORP_ID, "second-app-secret": WECOM_CORP_ID, "idle-app-secret": WECOM_CORP_ID}
    ).start()
    yield platforms
    platforms.stop()


@pytest.fixture(scope="session")
def answer_service(clean_index):
    """The real answer service over the small corpus, shared by the test apps (and used to compute expectations)."""
    from assistant.answering.service import AnswerService

    service = AnswerService(clean_index.settings)
    service.warm_up()
    return service


@pytest.fixture(scope="session")
def channel_settings(clean_index, fake):
    return clean_index.settings.with_overrides(
        slack_bot_token=SLACK_BOT_TOKEN,
        slack_signing_secret=SLACK_SIGNING_SECRET,
        slack_api_url=fake.slack_api_url,
        wecom_corp_id=WECOM_CORP_ID,
        wecom_agent_id=WECOM_AGENT_ID,
        wecom_secret=WECOM_SECRET,
        wecom_token=WECOM_TOKEN,
        wecom_aes_key=WECOM_AES_KEY,
        wecom_api_url=fake.wecom_api_url,
        wecom_webhook_url=fake.url + "/wecom/cgi-bin/webhook/send?key=robot-key",
        bot_rate_limit_per_minute=RATE_LIMIT,
    )


@pytest.fixture(scope="session")
def bot_server(channel_settings, answer_service):
    """The web app with both channels on (API only; the UI is tested elsewhere)."""
    from assistant.web import create_app

    server = LiveServer(create_app(channel_settings, service=answer_service, with_ui=False)).start()
    yield server
    server.stop()
