"""Chat channels on the one answer service: the Slack bot (``slack.py``) and the WeCom bot (``wecom.py``).

``open_channels(holder, settings)`` turns on the channels whose settings are present; their ``router()`` holds
``POST /slack/events`` and ``GET/POST /wecom/callback``, which the web app includes. A channel whose settings are
absent is off: its endpoint answers 404 and the rest of the app runs.
The adapters hold no answer logic: they call ``holder.get().answer(question, history=...)`` with the
conversation's earlier turns and format the ``Answer`` (``base.py``: rendering, splitting, dedupe, replay and
rate-limit bookkeeping; ``conversations.py``: memory per Slack thread / WeCom user and the chat commands).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from assistant.channels import slack as slack_bot
from assistant.channels import wecom as wecom_bot
from assistant.service_holder import ServiceHolder
from common.settings import Settings

log = logging.getLogger("assistant.channels")


@dataclass
class Channels:
    """What ``open_channels`` turned on (``None``: off); the web app keeps it on ``app.state.channels``."""

    slack: slack_bot.SlackChannel | None = None
    wecom: wecom_bot.WeComChannel | None = None

    def router(self) -> APIRouter:
        """The channels' HTTP endpoints: each channel's own, or a generic 404 for one that is off."""
        routes = APIRouter()
        routes.include_router(slack_bot.router(self.slack) if self.slack is not None else off_router(slack_bot.PATH))
        routes.include_router(wecom_bot.router(self.wecom) if self.wecom is not None else off_router(wecom_bot.PATH))
        return routes


async def channel_off():
    return JSONResponse(status_code=404, content={"error": {"message": "not found", "type": "not_found"}})


def off_router(path: str) -> APIRouter:
    """A switched-off channel's endpoint: a generic 404 that names no setting."""
    routes = APIRouter()
    routes.add_api_route(path, channel_off, methods=["GET", "POST"], include_in_schema=False)
    return routes


def _open_slack(holder: ServiceHolder, settings: Settings) -> slack_bot.SlackChannel | None:
    missing = slack_bot.missing_settings(settings)
    if missing:
        if len(missing) < 2:
            log.warning("Slack channel off (HTTP mode): %s not set", ", ".join(missing))
        return None
    try:
        return slack_bot.SlackChannel(holder, settings)
    except Exception as exc:  # a broken channel must not take the web app down
        log.error("Slack channel off: %s", type(exc).__name__)
        return None


def _open_wecom(holder: ServiceHolder, settings: Settings) -> wecom_bot.WeComChannel | None:
    missing = wecom_bot.missing_settings(settings)
    if missing:
        if len(missing) < len(wecom_bot.SETTING_NAMES):
            log.warning("WeCom channel off: %s not set", ", ".join(missing))
        return None
    try:
        return wecom_bot.WeComChannel(holder, settings)
    except Exception as exc:  # e.g. an EncodingAESKey that is not 43 characters of base64
        log.error("WeCom channel off: the settings are invalid (%s)", type(exc).__name__)
        return None


def open_channels(holder: ServiceHolder, settings: Settings) -> Channels:
    """The channels whose settings are all present (a half-configured one stays off, with a warning)."""
    return Channels(slack=_open_slack(holder, settings), wecom=_open_wecom(holder, settings))
