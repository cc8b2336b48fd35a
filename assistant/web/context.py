"""What the routes of one web app share: settings, the answer service holder, access control, the ingest jobs,
the obligation register and the feedback store. ``create_app`` builds one and keeps it on ``app.state.web``."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.documents import IngestJobs
from assistant.feedback import FeedbackStore
from assistant.obligations import ObligationQuery, ObligationRegister
from assistant.security import AccessControl
from assistant.service_holder import ServiceHolder
from common.settings import Settings


@dataclass(frozen=True)
class WebContext:
    settings: Settings
    holder: ServiceHolder
    access: AccessControl
    jobs: IngestJobs
    obligations: ObligationRegister
    feedback: FeedbackStore
    started: float  # time.time() when the app was made (``/healthz`` reports the uptime)

    def find_obligations(self, query: ObligationQuery) -> list[dict]:
        """The obligation register's items for ``query``, over the index the answer service has loaded."""
        index = self.holder.get().retriever.index
        index.refresh_if_changed()
        return self.obligations.find(query, list(zip(index.ids, index.metas, index.texts)), key=index.fingerprint)
