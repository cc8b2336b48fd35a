"""What users think of the answers, and what the corpus could not answer: a durable store.

One SQLite file (setting ``feedback_path``, default ``<index_dir>/feedback.sqlite3``), created on first use, in
WAL mode, one short-lived connection per call (safe from any thread and from several processes; it survives
restarts). Two tables:

- ``ratings``: a thumbs-up (+1) or thumbs-down (-1) on an answer, with an optional comment, the question, the
  answer text and its citation labels (``FeedbackStore.add_rating``, ``POST /v1/feedback``, the UI);
- ``declined``: every question the answer service declined, with its refusal kind (``log_declined``, called by
  ``AnswerService.stream`` through ``record_declined``, which never raises: a broken store never breaks an answer).

``summary(limit)`` gives the most-declined topics (declined questions grouped by their salient words and refusal
kinds) and the worst-rated answers; ``regqa feedback`` prints it.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from common.settings import Settings

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 10_000
MAX_ANSWER_CHARS = 200_000
MAX_CITATIONS = 200
_ANSWER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY,
    created TEXT NOT NULL,
    answer_id TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL DEFAULT '',
    answer_text TEXT NOT NULL DEFAULT '',
    citations TEXT NOT NULL DEFAULT '[]',
    refused INTEGER NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT '',
    user TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ratings_answer ON ratings (answer_id);
CREATE TABLE IF NOT EXISTS declined (
    id INTEGER PRIMARY KEY,
    created TEXT NOT NULL,
    question TEXT NOT NULL,
    refusal_kind TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    answer_id TEXT NOT NULL DEFAULT ''
);
"""


class InvalidFeedback(ValueError):
    """Feedback that cannot be stored as given; ``str(err)`` is a message for the user."""


@dataclass(frozen=True)
class DeclinedTopic:
    topic: str  # the salient word shared by the questions ("colorado", "科罗拉多州"), or "(other)"
    count: int
    refusal_kinds: dict[str, int]
    examples: list[str]  # distinct questions, most recent first


@dataclass(frozen=True)
class RatedAnswer:
    answer_id: str
    down: int
    up: int
    question: str
    answer_text: str
    citations: list[str]
    comments: list[str]
    last_rated: str


@dataclass(frozen=True)
class FeedbackSummary:
    declined_total: int
    declined_by_kind: dict[str, int]
    declined_topics: list[DeclinedTopic] = field(default_factory=list)
    ratings_total: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    worst_rated: list[RatedAnswer] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _text(value: object, name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidFeedback(f"{name} must be text")
    value = value.encode("utf-8", "ignore").decode("utf-8").strip()  # unpaired surrogates cannot be stored
    if len(value) > limit:
        raise InvalidFeedback(f"{name} is too long ({len(value)} characters; the limit is {limit})")
    return value


def validate_rating(answer_id: object, rating: object) -> tuple[str, int]:
    if not isinstance(answer_id, str) or not _ANSWER_ID.match(answer_id):
        raise InvalidFeedback("answer_id must be the answer's id (letters, digits, '-' or '_', at most 64)")
    if type(rating) is not int or rating not in (1, -1):
        raise InvalidFeedback("rating must be 1 (thumbs up) or -1 (thumbs down)")
    return answer_id, rating


class FeedbackStore:
    """Ratings and declined questions in one SQLite file (see the module docstring)."""

    _init_lock = threading.Lock()
    _created: set[Path] = set()  # files whose schema this process has made sure of

    def __init__(self, settings: Settings, timeout_s: float = 5.0) -> None:
        self.path: Path = settings.feedback_file
        self.max_comment_chars = settings.feedback_max_comment_chars
        self.timeout_s = timeout_s

    def _connect(self) -> sqlite3.Connection:
        if self.path not in self._created or not self.path.is_file():
            with self._init_lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self.timeout_s)
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.executescript(SCHEMA)
                finally:
                    conn.close()
                self._created.add(self.path)
        conn = sqlite3.connect(self.path, timeout=self.timeout_s)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _write(self, sql: str, params: tuple) -> None:
        conn = self._connect()
        try:
            with conn:  # one transaction, committed on success
                conn.execute(sql, params)
        finally:
            conn.close()

    # ---- writing ------------------------------------------------------------------------------------------
    def add_rating(
        self,
        answer_id: object,  # checked here (validate_rating): callers pass what a client sent
        rating: object,
        comment: str = "",
        question: str = "",
        answer_text: str = "",
        citations: list[str] | None = None,
        refused: bool = False,
        language: str = "",
        user: str = "",
    ) -> None:
        """Store a thumbs-up (1) or thumbs-down (-1); raises ``InvalidFeedback`` for bad input."""
        answer_id, rating = validate_rating(answer_id, rating)
        comment = _text(comment, "comment", self.max_comment_chars)
        question = _text(question, "question", MAX_QUESTION_CHARS)
        answer_text = _text(answer_text, "answer", MAX_ANSWER_CHARS)
        labels = [_text(c, "citation", 1000) for c in (citations or [])][:MAX_CITATIONS]
        self._write(
            "INSERT INTO ratings (created, answer_id, rating, comment, question, answer_text, citations, "
            "refused, language, user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _now(),
                answer_id,
                rating,
                comment,
                question,
                answer_text,
                json.dumps(labels, ensure_ascii=False),
                int(bool(refused)),
                _text(language, "language", 16),
                _text(user, "user", 200),
            ),
        )

    def rate_answer(self, answer: dict, rating: int, comment: str = "", user: str = "") -> None:
        """``add_rating`` for an ``Answer.to_dict()`` (what the UI keeps)."""
        self.add_rating(
            answer.get("answer_id") if isinstance(answer, dict) else None,
            rating,
            comment,
            user=user,
            **answer_details(answer),
        )

    def log_declined(self, question: str, refusal_kind: str, language: str, answer_id: str = "") -> None:
        self._write(
            "INSERT INTO declined (created, question, refusal_kind, language, answer_id) VALUES (?, ?, ?, ?, ?)",
            (
                _now(),
                _text(question, "question", MAX_QUESTION_CHARS),
                refusal_kind or "",
                language or "",
                answer_id or "",
            ),
        )

    # ---- reading ------------------------------------------------------------------------------------------
    def _rows(self, sql: str) -> list[sqlite3.Row]:
        if not self.path.is_file():  # nothing recorded yet: do not create anything just to read
            return []
        conn = self._connect()
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def summary(self, limit: int = 10) -> FeedbackSummary:
        """The ``limit`` most-declined topics and the ``limit`` worst-rated answers."""
        declined = self._rows("SELECT question, refusal_kind FROM declined ORDER BY id DESC")
        ratings = self._rows("SELECT * FROM ratings ORDER BY id")
        return FeedbackSummary(
            declined_total=len(declined),
            declined_by_kind=dict(Counter(r["refusal_kind"] or "unknown" for r in declined).most_common()),
            declined_topics=declined_topics([(r["question"], r["refusal_kind"]) for r in declined], limit),
            ratings_total=len(ratings),
            thumbs_up=sum(1 for r in ratings if r["rating"] > 0),
            thumbs_down=sum(1 for r in ratings if r["rating"] < 0),
            worst_rated=worst_rated(ratings, limit),
        )


def answer_details(answer: object) -> dict:
    """``add_rating``'s question, answer_text, citations (labels), refused and language from an
    ``Answer.to_dict()``."""
    if not isinstance(answer, dict):
        raise InvalidFeedback("answer must be an answer object (or its text)")
    citations = answer.get("citations") or []
    if not isinstance(citations, list):
        raise InvalidFeedback("answer.citations must be a list")
    labels = [c.get("label") for c in citations if isinstance(c, dict) and isinstance(c.get("label"), str)]
    return {
        "question": answer.get("question") or "",
        "answer_text": answer.get("text") or "",
        "citations": labels,
        "refused": bool(answer.get("refused")),
        "language": answer.get("language") or "",
    }


def record_declined(settings: Settings, question: str, refusal_kind: str, language: str, answer_id: str = "") -> bool:
    """Log a declined question; never raises (a broken or read-only store must not break an answer)."""
    if not settings.feedback_log_declined:
        return False
    try:
        FeedbackStore(settings, timeout_s=1.0).log_declined(question, refusal_kind, language, answer_id)
        return True
    except Exception as exc:  # noqa: BLE001 - any failure of the store is logged and ignored
        log.warning("could not log a declined question to %s: %s", settings.feedback_file, exc)
        return False


def worst_rated(rows: list[sqlite3.Row], limit: int) -> list[RatedAnswer]:
    """Answers with thumbs-down, most thumbs-down first (then fewest thumbs-up, then most recently rated)."""
    by_answer: dict[str, dict] = {}
    for r in rows:
        entry = by_answer.setdefault(
            r["answer_id"],
            {"down": 0, "up": 0, "comments": [], "question": "", "answer_text": "", "citations": [], "last": ""},
        )
        entry["down" if r["rating"] < 0 else "up"] += 1
        if r["comment"]:
            entry["comments"].append(r["comment"])
        for key in ("question", "answer_text"):
            entry[key] = r[key] or entry[key]
        entry["citations"] = json.loads(r["citations"] or "[]") or entry["citations"]
        entry["last"] = r["created"]
    ranked = sorted(
        ((k, e) for k, e in by_answer.items() if e["down"]), key=lambda item: item[1]["last"], reverse=True
    )  # most recently rated first among equals (the sort below is stable)
    ranked.sort(key=lambda item: (-item[1]["down"], item[1]["up"]))
    return [
        RatedAnswer(
            answer_id=k,
            down=e["down"],
            up=e["up"],
            question=e["question"],
            answer_text=e["answer_text"],
            citations=e["citations"],
            comments=e["comments"],
            last_rated=e["last"],
        )
        for k, e in ranked[:limit]
    ]


# ---- topics of declined questions -----------------------------------------------------------------------
# Words every question about regulation shares: they say nothing about what was asked.
_GENERIC = set(
    [
        "ai",
        "act",
        "acts",
        "law",
        "laws",
        "regulation",
        "regulations",
        "rule",
        "rules",
        "provision",
        "provisions",
        "article",
        "articles",
        "require",
        "requires",
        "required",
        "requirement",
        "requirements",
        "say",
        "says",
        "said",
        "mean",
        "means",
        "apply",
        "applies",
        "applied",
        "need",
        "needs",
        "tell",
        "explain",
        "cover",
        "covers",
        "covered",
        "give",
        "list",
        "describe",
        "happen",
        "happens",
        "state",
        "states",
        "new",
        "current",
        "under",
        "what",
        "which",
        "artificial",
        "intelligence",
        "system",
        "systems",
        "model",
        "models",
        "company",
        "companies",
        "get",
        "got",
        "many",
        "much",
        "does",
        "did",
    ]
) | {
    "人工智能",
    "规定",
    "办法",
    "法律",
    "法规",
    "要求",
    "条款",
    "条例",
    "管理",
    "服务",
    "什么",
    "哪些",
    "怎么",
    "如何",
    "是否",
    "规范",
    "内容",
    "相关",
    "问题",
    "现在",
    "目前",
}
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]*(?:'s)?")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")


def salient_words(question: str, top: int = 4) -> list[str]:
    """The words that say what a question is about: jieba TF-IDF keywords for Chinese, for English the
    non-stopwords (capitalised ones, usually names, first)."""
    from ingest.keyword_index import EN_STOPWORDS, _jieba

    words: list[str] = []
    if _CJK_RUN.search(question):
        _jieba()  # the regulatory user dictionary
        import jieba.analyse

        chinese = "".join(_CJK_RUN.findall(question))
        words += [w for w in jieba.analyse.extract_tags(chinese, topK=top + 4) if w not in _GENERIC and len(w) > 1]
    english = []
    for match in _EN_WORD.findall(question):
        word = match[:-2] if match.endswith("'s") else match
        lower = word.lower()
        if lower in EN_STOPWORDS or lower in _GENERIC or len(lower) < 3:
            continue
        english.append((not word[0].isupper(), lower))
    english = sorted(dict.fromkeys(english), key=lambda item: item[0])  # names first, otherwise in order
    words += [w for _, w in english]
    return list(dict.fromkeys(words))[:top]


def declined_topics(declined: list[tuple[str, str]], limit: int) -> list[DeclinedTopic]:
    """Group declined questions (most recent first) by the salient word most of them share; the largest groups
    first, and among equals the one asked about most recently."""
    words = [salient_words(q) for q, _ in declined]
    frequency = Counter(w for ws in words for w in set(ws))
    groups: dict[str, list[tuple[str, str]]] = {}
    for (question, kind), ws in zip(declined, words):
        topic = max(ws, key=lambda w: (frequency[w], -ws.index(w))) if ws else "(other)"
        groups.setdefault(topic, []).append((question, kind))
    ranked = sorted(groups.items(), key=lambda item: -len(item[1]))
    return [
        DeclinedTopic(
            topic=topic,
            count=len(items),
            refusal_kinds=dict(Counter(k or "unknown" for _, k in items).most_common()),
            examples=list(dict.fromkeys(q for q, _ in items))[:3],
        )
        for topic, items in ranked[:limit]
    ]
