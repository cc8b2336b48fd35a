"""Conversations in chat: what the bots remember between messages, and the chat commands.

- ``ConversationStore``: the earlier turns of each conversation (a Slack thread, a Slack DM outside threads, a
  WeCom user), as the web UI keeps them: ``{"role": "user", "content": question}`` then
  ``{"role": "assistant", "content": answer text}``. Bounded like the web API's history (``max_history_turns``,
  ``max_history_chars``, trimmed with ``assistant.answering.models.recent_history``), forgotten after
  ``bot_conversation_idle_s`` without a message, at most ``bot_max_conversations`` remembered (least recently
  used first out). Thread-safe: the bots answer in worker threads.
- ``parse_command``: the command words of ``assistant/resources/chat_commands.tsv`` — "新话题" / "new topic" /
  "/reset" (forget the conversation) and "义务清单 提供者 标识办法" / "obligations deployer AI Act" (an
  obligations checklist: role words and document words).
- ``checklist_reply``: the obligations hook. It calls ``assistant.obligations.checklist_for_chat(service,
  role_text, doc_text, language) -> str`` (looked up when a command arrives; or a function passed to the
  channel) and says that the checklist is not available while that module does not exist.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.answering.models import recent_history
from common.settings import Settings

log = logging.getLogger("assistant.channels")

COMMANDS_FILE = Path(__file__).resolve().parent.parent / "resources" / "chat_commands.tsv"
CHECKLIST_MODULE, CHECKLIST_FUNCTION = "assistant.obligations", "checklist_for_chat"

Checklist = Callable[[object, str, str, str], str]  # (service, role_text, doc_text, language) -> text


# ---- memory ------------------------------------------------------------------------------------------------------
class ConversationStore:
    def __init__(
        self,
        max_turns: int,
        max_chars: int,
        idle_s: float,
        max_conversations: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_turns = max_turns
        self.max_chars = max_chars
        self.idle_s = idle_s
        self.max_conversations = max(1, max_conversations)
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, list[dict]]] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> ConversationStore:
        return cls(
            settings.max_history_turns,
            settings.max_history_chars,
            settings.bot_conversation_idle_s,
            settings.bot_max_conversations,
        )

    def _expire(self, now: float) -> None:  # with the lock held
        while self._items:
            key, (last, _) = next(iter(self._items.items()))
            if now - last <= self.idle_s and len(self._items) <= self.max_conversations:
                break
            self._items.popitem(last=False)

    def history(self, key: str) -> list[dict]:
        """The conversation's earlier turns (a copy, within the history limits); [] when new or expired."""
        with self._lock:
            self._expire(self._clock())
            entry = self._items.get(key)
            return [dict(turn) for turn in entry[1]] if entry else []

    def add(self, key: str, question: str, answer_text: str) -> None:
        now = self._clock()
        with self._lock:
            self._expire(now)
            _, turns = self._items.pop(key, (now, []))
            turns = turns + [{"role": "user", "content": question}, {"role": "assistant", "content": answer_text}]
            turns = recent_history(turns, self.max_turns, self.max_chars)
            while turns and turns[0]["role"] != "user":  # whole exchanges only: no answer without its question
                turns = turns[1:]
            self._items[key] = (now, turns)
            self._expire(now)

    def fork(self, key: str, new_key: str) -> None:
        """Start ``new_key`` with a copy of ``key``'s turns (a Slack thread opened under a DM message)."""
        with self._lock:
            self._expire(self._clock())
            entry = self._items.get(key)
            if entry:
                self._items.pop(new_key, None)
                self._items[new_key] = (entry[0], [dict(turn) for turn in entry[1]])

    def reset(self, key: str) -> bool:
        """Forget the conversation; True when there was one."""
        with self._lock:
            self._expire(self._clock())
            return self._items.pop(key, None) is not None

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._items)


# ---- commands ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    kind: str  # "reset" | "obligations" | "question"
    text: str = ""  # the question (kind "question")
    role_text: str = ""  # obligations: the role words, space separated
    doc_text: str = ""  # obligations: what is left (the document's name)


@dataclass(frozen=True)
class CommandWords:
    reset: frozenset[str]
    obligations: tuple[str, ...]  # longest first
    obligations_with_role: tuple[str, ...]
    roles: tuple[str, ...]


def load_command_words(path: Path = COMMANDS_FILE) -> CommandWords:
    words: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, _, alternatives = line.partition("\t")
        words.setdefault(kind.strip(), []).extend(w.strip().lower() for w in alternatives.split("|") if w.strip())

    def by_length(kind: str) -> tuple[str, ...]:
        return tuple(sorted(set(words.get(kind, [])), key=len, reverse=True))

    return CommandWords(
        reset=frozenset(words.get("reset", [])),
        obligations=by_length("obligations"),
        obligations_with_role=by_length("obligations-with-role"),
        roles=by_length("role"),
    )


@lru_cache(maxsize=1)
def command_words() -> CommandWords:
    return load_command_words()


_EDGE_PUNCT = " \t\r\n.。!！?？,，;；:：、·-—~～\"'“”‘’()（）[]【】"


def _word_pattern(word: str) -> str:
    """A command or role word: English words only as whole words, Chinese anywhere."""
    body = r"\s+".join(re.escape(part) for part in word.split())
    if word[:1].isascii() and word[:1].isalnum():
        body = r"(?<![A-Za-z0-9])" + body
    if word[-1:].isascii() and word[-1:].isalnum():
        body += r"(?![A-Za-z0-9])"
    return body


def _starts_with(text: str, words: tuple[str, ...]) -> str | None:
    """The rest of ``text`` after a leading command word, or None."""
    for word in words:
        m = re.match(_word_pattern(word), text, re.I)
        if m:
            return text[m.end() :]
    return None


def split_roles(rest: str, roles: tuple[str, ...]) -> tuple[str, str]:
    """(role words, document words) of an obligations command's arguments."""
    found: list[tuple[int, str]] = []
    if roles:
        pattern = re.compile("|".join(_word_pattern(r) for r in roles), re.I)  # longest alternatives first
        for m in pattern.finditer(rest):
            found.append((m.start(), m.group(0)))
        rest = pattern.sub(" ", rest)
    role_text = " ".join(dict.fromkeys(re.sub(r"\s+", " ", w) for _, w in sorted(found)))
    return role_text, re.sub(r"\s+", " ", rest).strip(_EDGE_PUNCT)


def parse_command(text: str, words: CommandWords | None = None) -> Command:
    """What a chat message asks for: a reset, an obligations checklist, or (anything else) a question."""
    words = words or command_words()
    cleaned = (text or "").strip()
    bare = re.sub(r"\s+", " ", cleaned.strip(_EDGE_PUNCT)).lower()
    if bare in words.reset:
        return Command("reset")
    rest = _starts_with(cleaned, words.obligations)
    if rest is None:
        rest = _starts_with(cleaned, words.obligations_with_role)
        if rest is not None and _starts_with(rest.lstrip(_EDGE_PUNCT), words.roles) is None:
            rest = None  # "obligations of providers under the AI Act?": an ordinary question
    if rest is not None:
        role_text, doc_text = split_roles(rest, words.roles)
        return Command("obligations", text=cleaned, role_text=role_text, doc_text=doc_text)
    return Command("question", text=cleaned)


# ---- the obligations hook ------------------------------------------------------------------------------------------
def find_checklist() -> Checklist | None:
    """``assistant.obligations.checklist_for_chat`` when that module exists (it comes with the obligation
    register), else None. An error inside the module is logged and treated as "not available"."""
    try:
        if importlib.util.find_spec(CHECKLIST_MODULE) is None:
            return None
        module = importlib.import_module(CHECKLIST_MODULE)
    except Exception:
        log.exception("the obligations module failed to load")
        return None
    function = getattr(module, CHECKLIST_FUNCTION, None)
    return function if callable(function) else None


def checklist_unavailable_message(language: str) -> str:
    if language == "zh":
        return "抱歉，义务清单功能暂不可用。可以直接提问，例如“提供者要对生成内容做什么标识？”"
    return (
        "Sorry, the obligations checklist is not available yet. You can ask a question instead, e.g. "
        '"What must deployers of high-risk AI systems do under the AI Act?"'
    )


def checklist_usage_message(language: str) -> str:
    if language == "zh":
        return "用法：义务清单 <角色> <文件>，例如“义务清单 提供者 标识办法”。"
    return 'Usage: obligations <role> <document>, e.g. "obligations deployer AI Act".'


def reset_message(language: str, had_history: bool) -> str:
    if language == "zh":
        return (
            "好的，已清空本话题的对话记录，下一个问题将作为新话题回答。"
            if had_history
            else "好的，这里还没有对话记录，下一个问题将作为新话题回答。"
        )
    return (
        "OK, I have forgotten this conversation: your next question starts a new topic."
        if had_history
        else "OK, there was nothing to forget here: your next question starts a new topic."
    )


def checklist_reply(
    get_service: Callable[[], object], command: Command, language: str, checklist: Checklist | None = None
) -> str:
    """The text answering an obligations command (Markdown, as an answer's text)."""
    if not (command.role_text or command.doc_text):
        return checklist_usage_message(language)
    function = checklist or find_checklist()
    if function is None:
        return checklist_unavailable_message(language)
    return function(get_service(), command.role_text, command.doc_text, language)
