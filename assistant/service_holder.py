"""The answer service, loaded once in the background: what the web app, its UI and the chat bots share.

``ServiceHolder.start()`` loads the index and warms the model in a thread, so that the web server answers
``/healthz`` at once; ``get()`` waits for the load and returns the ``AnswerService`` (or raises ``RuntimeError``
with the reason it could not load). It lives apart from the HTTP code so that the bots (Slack Socket Mode runs
without the web server) can use it without importing the web app.
"""

from __future__ import annotations

import logging
import threading

from assistant.answering.service import AnswerService
from common.settings import Settings

log = logging.getLogger(__name__)


class ServiceHolder:
    """Loads the answer service once (in the background), so that /healthz answers at once."""

    def __init__(self, settings: Settings, service: AnswerService | None = None) -> None:
        self.settings = settings
        self.service = service
        self.error: str | None = None
        self.ready = threading.Event()
        if service is not None:
            self.ready.set()

    def start(self) -> None:
        if self.ready.is_set():
            return
        threading.Thread(target=self._load, name="regqa-load", daemon=True).start()

    def _load(self) -> None:
        try:
            service = AnswerService(self.settings)
            service.warm_up()
            self.service = service
        except Exception as exc:  # reported by /readyz and every API call
            log.exception("answer service failed to load")
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()

    def get(self) -> AnswerService:
        self.ready.wait(timeout=600)
        if self.service is None:
            raise RuntimeError(self.error or "the answer service is not loaded")
        return self.service
