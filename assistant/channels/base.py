"""What the chat channels (Slack, WeCom) share: dedupe, replay and rate-limit bookkeeping, splitting long
texts to a platform's limit, rendering an ``Answer`` into platform text, and the polite fixed messages.

No answer logic lives here or in the adapters: they call ``AnswerService.answer`` and format the ``Answer``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from assistant.answering.models import Answer, InvalidQuestion
from assistant.answering.service import AnswerService
from assistant.retrieval import question_language
from assistant.security import safe_link

log = logging.getLogger("assistant.channels")

MAX_CLOCK_SKEW_S = 300  # signed requests older (or newer) than five minutes are rejected as possible replays


# ---- bookkeeping ---------------------------------------------------------------------------------------------
class SeenSet:
    """Keys seen within the last ``ttl_s`` seconds (bounded): ``check_and_add(key)`` is True for a repeat."""

    def __init__(self, ttl_s: float = 3600.0, max_items: int = 50_000) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._items: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def check_and_add(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._items:
                oldest, seen_at = next(iter(self._items.items()))
                if now - seen_at <= self.ttl_s and len(self._items) < self.max_items:
                    break
                self._items.popitem(last=False)
            if key in self._items:
                return True
            self._items[key] = now
            return False


class RateLimiter:
    """Per-user sliding window: at most ``per_minute`` questions in any 60 s (0 or less: no limit)."""

    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, user: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(user, deque())
            while hits and now - hits[0] > self.window_s:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle users
                for key in [k for k, v in self._hits.items() if not v or now - v[-1] > self.window_s]:
                    del self._hits[key]
            return True


class JobTracker:
    """Counts questions accepted but not yet answered; ``wait_idle`` blocks until none are in flight."""

    def __init__(self) -> None:
        self._pending = 0
        self._cond = threading.Condition()

    def start(self) -> None:
        with self._cond:
            self._pending += 1

    def done(self) -> None:
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        return self._pending

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout=timeout)


def is_stale(timestamp: str | None, now: float | None = None) -> bool:
    try:
        ts = int(timestamp or "")
    except ValueError:
        return True
    return abs((now or time.time()) - ts) > MAX_CLOCK_SKEW_S


# ---- splitting -----------------------------------------------------------------------------------------------
def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


# Pieces never split: an HTML link (WeCom), a Slack <url|label> link or mention, an HTML/Slack entity.
_ATOM = re.compile(r'<a href="[^"]*">[^<]*</a>|<[^<>\n]*>|&[#\w]+;|\s+|[^\s<&]+|.', re.S)


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` (as counted by ``measure``: characters, UTF-8 bytes).

    Keeps paragraphs (blank-line separated: one quoted clause) whole when that does not leave a piece less
    than half full; else breaks between lines, else between words, links and entities, else between
    characters (never inside one). Pieces are stripped of surrounding whitespace; nothing else is lost.
    """
    pieces: list[str] = []
    current, size = "", 0

    def flush() -> None:
        nonlocal current, size
        if current.strip():
            pieces.append(current.strip())
        current, size = "", 0

    def put(part: str, n: int) -> None:
        nonlocal current, size
        current += part
        size += n

    def add_atom(atom: str) -> None:
        n = measure(atom)
        if size + n > limit:
            flush()
        if n <= limit:
            put(atom, n)
            return
        for ch in atom:  # one word or link longer than the limit: by characters
            if size + measure(ch) > limit:
                flush()
            put(ch, measure(ch))

    def add_line(line: str) -> None:
        n = measure(line)
        if size + n <= limit:
            put(line, n)
        elif n <= limit:
            flush()
            put(line, n)
        else:
            for atom in _ATOM.findall(line):
                add_atom(atom)

    for paragraph in re.split(r"(?<=\n)(?=[ \t]*\n)", text):
        n = measure(paragraph)
        if size + n <= limit:
            put(paragraph, n)
        elif n <= limit and size >= limit / 2:
            flush()
            put(paragraph, n)
        else:
            for line in paragraph.splitlines(keepends=True):
                add_line(line)
    flush()
    return pieces


# ---- rendering -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Style:
    """How a platform writes the few Markdown constructs an ``Answer.text`` uses."""

    escape: Callable[[str], str]
    bold: Callable[[str], str]  # a whole line in bold (document headings)
    inline_bold: Callable[[str], str]  # **x** inside a line
    quote: str  # prefix for quoted clause lines
    link: Callable[[str, str], str]  # (url, label)
    sources_heading: Callable[[str], str]  # language -> heading line


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_WHOLE_BOLD = re.compile(r"^\*\*(.+)\*\*$")


def render_citations(answer: Answer, style: Style) -> str:
    """The citations as numbered clause links under a heading ("" when there are none); only http(s) links."""
    if not answer.citations:
        return ""
    lines = [style.sources_heading(answer.language)]
    for c in answer.citations:
        url = safe_link(c.source_url)
        lines.append(f"[{c.n}] " + (style.link(url, c.label) if url else style.escape(c.label)))
    return "\n".join(lines)


def render_answer(answer: Answer, style: Style, citations: bool = True) -> str:
    """The answer text in the platform's markup, then (unless ``citations`` is False) the citations as numbered
    clause links."""
    out: list[str] = []
    related = {c.label: c for c in answer.related if safe_link(c.source_url)}  # "possibly related" (a refusal)
    for raw in answer.text.splitlines():
        line = raw.rstrip()
        if line.startswith("- ") and line[2:] in related:
            out.append("- " + style.link(safe_link(related[line[2:]].source_url), line[2:]))
            continue
        quoted = line.startswith(">")
        if quoted:
            line = line[1:].lstrip()
            if not line:  # an empty quote line between paragraphs of one clause
                continue
        heading = _HEADING.match(line) or _WHOLE_BOLD.match(line)
        if heading:
            text = style.bold(style.escape(heading.group(1).replace("**", "")))
        else:
            text = _BOLD.sub(lambda m: style.inline_bold(m.group(1)), style.escape(line))
        if quoted:
            text = style.quote + text
        if not text and out and not out[-1]:
            continue
        out.append(text)
    while out and not out[-1]:
        out.pop()
    if citations and answer.citations:
        out += ["", render_citations(answer, style)]
    return "\n".join(out)


def text_as_answer(text: str, language: str) -> Answer:
    """A fixed or command reply (Markdown) as an ``Answer`` without citations, to render it like one."""
    return Answer(question="", text=text, citations=[], refused=False, mode="message", language=language)


# ---- fixed messages ------------------------------------------------------------------------------------------
def language_of(text: str) -> str:
    return question_language(text) if text and text.strip() else "en"


def thinking_message(language: str) -> str:
    return "正在检索相关条款…" if language == "zh" else "Thinking… looking up the clauses."


def rate_limited_message(language: str, per_minute: int) -> str:
    if language == "zh":
        return f"提问有点太快了：每人每分钟最多 {per_minute} 个问题。请稍等一分钟再问，谢谢！"
    return (
        f"You're asking faster than I can keep up: the limit is {per_minute} questions per minute per person. "
        "Please wait a minute and ask again — thank you!"
    )


def failure_message(language: str) -> str:
    if language == "zh":
        return "抱歉，暂时无法回答这个问题（服务出错），请稍后再试。"
    return "Sorry, I could not answer this right now (the service had an error). Please try again later."


def unsupported_message() -> str:
    return "目前只能回答文字问题，请用文字提问。/ I can only answer text questions: please type your question."


def answer_in_conversation(
    get_service: Callable[[], AnswerService], store, key: str, question: str
) -> tuple[Answer | None, str]:
    """``answer_or_message`` with the conversation ``key``'s memory (a ``ConversationStore``): its earlier turns
    go with the question, and the question and the answer's text are remembered for the next one."""
    answer, message = answer_or_message(get_service, question, store.history(key))
    if answer is not None:
        store.add(key, answer.question, answer.text)
    return answer, message


def answer_or_message(
    get_service: Callable[[], AnswerService], question: str, history: list[dict] | None = None
) -> tuple[Answer | None, str]:
    """Ask the answer service (with the conversation's earlier turns); on an invalid question or a service
    failure, (None, polite message)."""
    language = language_of(question)
    try:
        return get_service().answer(question, history=history or None), ""
    except InvalidQuestion as exc:
        return None, str(exc)
    except Exception:  # never leave a user without a reply; the traceback goes to the log
        log.exception("answering a bot question failed")
        return None, failure_message(language)
