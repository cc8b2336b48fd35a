"""STAND-IN (branch ui13): a minimal FeedbackStore with the signature branch backend13 provides; replaced at merge."""
from __future__ import annotations

import json
import sqlite3


class FeedbackStore:
    def __init__(self, settings) -> None:
        self.path = settings.index_dir.parent / "feedback.sqlite3"

    def add_rating(self, answer_id, rating, comment, question, answer_text, citations, refused, language) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS ratings (answer_id TEXT PRIMARY KEY, rating TEXT, comment TEXT, "
                       "question TEXT, answer_text TEXT, citations TEXT, refused INTEGER, language TEXT)")
            db.execute("INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (answer_id, rating, comment, question, answer_text, json.dumps(citations, ensure_ascii=False),
                        int(refused), language))
