"""What the answer service takes and gives: the checks on a question and its conversation, and the ``Answer`` with
its ``Citation``s that every surface (CLI, web, API, bots) renders."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import date

from assistant.answering.policy import policy
from assistant.retrieval import RetrievedClause
from common.documents import DocumentMeta
from ingest.applicability import InvalidDate, parse_as_of

HISTORY_ROLES = ("user", "assistant")


class InvalidQuestion(ValueError):
    """A question that cannot be answered as given; ``str(err)`` is a message for the user."""


class InvalidAsOf(InvalidQuestion):
    """An as-of date that is not YYYY-MM-DD."""


def as_of_date(value: str | date | None) -> date:
    """The as-of date of a request (default today); a malformed one raises ``InvalidAsOf``."""
    try:
        return parse_as_of(value)
    except InvalidDate as exc:
        raise InvalidAsOf(str(exc)) from exc


@dataclass
class Citation:
    """One cited clause: its document (the shared ``DocumentMeta``) and where in it the quote sits."""

    n: int
    document: DocumentMeta
    unit: str
    locator: str
    label: str  # how the answer names it: 《生成式人工智能服务管理暂行办法》第十二条, EU AI Act Article 50(2)
    quote: str  # verbatim clause text
    path: str = ""
    chunk_id: str = ""
    applies_from: str = ""  # ISO date from which the provision applies ("" = no date recorded)
    applies_until: str = ""  # ISO date from which it no longer applies
    in_effect: bool = True  # on the answer's as-of date
    applies_condition: str = ""  # applies only once this is met
    applies_note: str = ""  # a part of the provision has another date
    unit_text: str = ""  # the whole unit (all its pieces), for the clause panel; "" = the quote is the unit
    spans: list[tuple[int, int]] = field(default_factory=list)  # [start, end) in unit_text (else quote) of the
    #                                                             sentences the answer's lead quotes

    @property
    def doc_id(self) -> str:
        return self.document.doc_id

    @property
    def title(self) -> str:
        return self.document.title

    @property
    def status(self) -> str:
        return self.document.status

    @property
    def source_url(self) -> str:
        return self.document.source_url

    @property
    def issued(self) -> str:
        return self.document.issued

    @property
    def jurisdiction(self) -> str:
        return self.document.jurisdiction

    def to_dict(self) -> dict:
        """Flat, as the API gives it: the document's fields (doc_id, title, status, source_url, issued, …) beside
        the citation's own."""
        own = asdict(self)
        document = own.pop("document")
        return {"n": own.pop("n"), **document, **own}

    @classmethod
    def from_dict(cls, data: dict) -> Citation:
        """The inverse of ``to_dict``."""
        document_keys = {f.name for f in fields(DocumentMeta)}
        own_keys = {f.name for f in fields(cls)} - {"document"}
        document = DocumentMeta(**{k: v for k, v in data.items() if k in document_keys})
        return cls(document=document, **{k: v for k, v in data.items() if k in own_keys})


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    refused: bool
    mode: str  # "extractive" or "generative:<model>"
    language: str
    timings: dict = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # fallbacks, removed citations, version caveats
    related: list[Citation] = field(default_factory=list)  # "possibly related" clauses shown with a refusal
    retrieved: list[RetrievedClause] = field(default_factory=list)
    refusal_kind: str = ""
    lead: str = ""  # one to three sentences that answer the question, each with its [n]; first on every surface
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # for feedback and export
    interpreted_as: str = ""  # the standalone question searched when the history was used, else ""
    follow_ups: list[str] = field(default_factory=list)  # suggested next questions
    uncovered: list[str] = field(default_factory=list)  # parts of the question the corpus does not cover

    def to_dict(self, include_retrieved: bool = False) -> dict:
        out = {
            "answer_id": self.answer_id,
            "lead": self.lead,
            "interpreted_as": self.interpreted_as,
            "follow_ups": self.follow_ups,
            "uncovered": self.uncovered,
            "question": self.question,
            "text": self.text,
            "refused": self.refused,
            "mode": self.mode,
            "language": self.language,
            "timings": self.timings,
            "notices": self.notices,
            "citations": [c.to_dict() for c in self.citations],
            "related": [c.to_dict() for c in self.related],
            "refusal_kind": self.refusal_kind,
        }
        if include_retrieved:
            out["retrieved"] = [
                {"doc_id": c.doc_id, "unit": c.unit, "locator": c.locator, "text": c.text, "score": c.score}
                for c in self.retrieved
            ]
        return out


def validate_question(question: object) -> str:
    if not isinstance(question, str):
        raise InvalidQuestion("The question must be text.")
    # control characters go, and so do unpaired surrogates (a JSON "\ud800" escape): they cannot be encoded
    cleaned = "".join(ch for ch in question if unicodedata.category(ch) not in ("Cc", "Cs") or ch in "\n\t")
    cleaned = cleaned.strip()
    if not cleaned:
        raise InvalidQuestion("Please type a question (it was empty). / 请输入问题（内容为空）。")
    limit = policy().max_question_chars
    if len(cleaned) > limit:
        raise InvalidQuestion(
            f"The question is too long ({len(cleaned)} characters; the limit is "
            f"{limit}). / 问题过长（{len(cleaned)} 字符，上限 {limit}）。"
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise InvalidQuestion("The question has no words in it. / 问题中没有文字。")
    return cleaned


def usable_history(history: list | None) -> list[dict]:
    """The turns of a conversation that can be read: dicts with a non-empty text ``content`` and a user or
    assistant ``role`` (anything else is ignored), their unpaired surrogates dropped."""
    return [
        {**h, "content": _drop_surrogates(h["content"])}
        for h in (history or [])
        if isinstance(h, dict)
        and isinstance(h.get("content"), str)
        and h.get("content")
        and h.get("role") in HISTORY_ROLES
    ]


def validate_history(history: list[dict], max_turns: int, max_chars: int) -> None:
    """A conversation longer than the limits is refused with a clear message (it would cost analysis time
    without helping the answer: only the last turns are read)."""
    if len(history) > max_turns:
        raise InvalidQuestion(
            f"The conversation history is too long ({len(history)} turns; the limit is "
            f"{max_turns}). Start a new conversation. / 对话历史过长（{len(history)} 轮，上限 "
            f"{max_turns}），请开始新对话。"
        )
    total = sum(len(turn["content"]) for turn in history)
    if total > max_chars:
        raise InvalidQuestion(
            f"The conversation history is too long ({total} characters; the limit is "
            f"{max_chars}). Start a new conversation. / 对话历史过长（{total} 字符，上限 "
            f"{max_chars}），请开始新对话。"
        )


def recent_history(history: list[dict], max_turns: int, max_chars: int) -> list[dict]:
    """The most recent turns that fit the limits (what a chat surface sends with its next question). A turn longer
    than half the character limit is cut to that half (an answer's lead and the line naming its documents come
    first), so that the last question and its answer both fit; the kept turns start with a user's."""
    longest = max(1, max_chars // 2)
    kept: list[dict] = []
    total = 0
    for turn in reversed(history[-max_turns:] if max_turns > 0 else []):
        content = turn.get("content") or ""
        if len(content) > longest:
            content = content[:longest]
            turn = {**turn, "content": content}
        total += len(content)
        if total > max_chars:
            break
        kept.append(turn)
    while kept and kept[-1].get("role") != "user":  # (kept is newest first: its end is the oldest turn)
        kept.pop()
    return list(reversed(kept))


def _drop_surrogates(text: str) -> str:
    """Unpaired surrogates cannot be encoded as UTF-8 (the embedder, the LLM client would fail): drop them."""
    return text.encode("utf-8", "ignore").decode("utf-8")
