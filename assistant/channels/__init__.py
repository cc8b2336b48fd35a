"""Chat channels on the one answer service: the Slack bot (``slack.py``) and the WeCom bot (``wecom.py``).

``mount_channels(app, holder, settings)`` adds ``POST /slack/events`` and ``GET/POST /wecom/callback`` to the
web app. A channel whose settings are absent is off: its endpoint answers 404 and the rest of the app runs.
The adapters hold no answer logic: they call ``holder.get().answer(question, history=...)`` with the
conversation's earlier turns and format the ``Answer`` (``base.py``: rendering, splitting, dedupe, replay and
rate-limit bookkeeping; ``conversations.py``: memory per Slack thread / WeCom user and the chat commands).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from common.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("assistant.channels")


@dataclass
class Channels:
    """What ``mount_channels`` turned on (``None``: off); kept on ``app.state.channels``."""

    slack: Any = None  # assistant.channels.slack.SlackChannel
    wecom: Any = None  # assistant.channels.wecom.WeComChannel


def _off(app: "FastAPI", path: str) -> None:
    """A switched-off channel's endpoint: a generic 404 that names no setting."""
    from fastapi.responses import JSONResponse

    async def channel_off():
        return JSONResponse(status_code=404, content={"error": {"message": "not found", "type": "not_found"}})

    app.add_api_route(path, channel_off, methods=["GET", "POST"], include_in_schema=False)


def mount_channels(app: "FastAPI", holder, settings: Settings) -> Channels:
    channels = Channels()
    from assistant.channels import slack as slack_mod

    missing = slack_mod.missing_settings(settings)
    if not missing:
        try:
            channels.slack = slack_mod.SlackChannel(holder, settings)
            slack_mod.mount(app, channels.slack)
        except Exception as exc:  # a broken channel must not take the web app down
            log.error("Slack channel off: %s", type(exc).__name__)
            channels.slack = None
    elif len(missing) < 2:
        log.warning("Slack channel off (HTTP mode): %s not set", ", ".join(missing))
    if channels.slack is None:
        _off(app, slack_mod.PATH)

    from assistant.channels import wecom as wecom_mod

    missing = wecom_mod.missing_settings(settings)
    if not missing:
        try:
            channels.wecom = wecom_mod.WeComChannel(holder, settings)
            wecom_mod.mount(app, channels.wecom)
        except Exception as exc:  # e.g. an EncodingAESKey that is not 43 characters of base64
            log.error("WeCom channel off: the settings are invalid (%s)", type(exc).__name__)
            channels.wecom = None
    elif len(missing) < len(wecom_mod.SETTING_NAMES):
        log.warning("WeCom channel off: %s not set", ", ".join(missing))
    if channels.wecom is None:
        _off(app, wecom_mod.PATH)

    app.state.channels = channels
    return channels
