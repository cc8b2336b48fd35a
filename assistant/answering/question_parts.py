"""The parts a question asks: "Do we need to register X, and how much does registration cost?" has two.

``split_parts(question) -> list[str]`` cuts after question marks and before connectors that open a new question
(``resources/question_parts.toml``); context sentences stay with the question that follows them, and a piece too
short to be a question on its own is joined to its neighbour. A question of one part (most) returns ``[question]``.
The answer service checks each part of a longer question with the answerability guard and names, in a notice, the
parts the corpus does not cover (``AnswerService._check_parts``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

POLICY_FILE = Path(__file__).resolve().parent.parent / "resources" / "question_parts.toml"

_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z0-9][\w'-]*")


@dataclass(frozen=True)
class PartsPolicy:
    part_ends: tuple[str, ...]
    part_starts: tuple[re.Pattern, ...]
    min_han_chars: int
    min_english_words: int
    max_parts: int
    connector: re.Pattern
    answer_covered_parts: bool


@lru_cache(maxsize=1)
def parts_policy() -> PartsPolicy:
    data = tomllib.loads(POLICY_FILE.read_text(encoding="utf-8"))
    return PartsPolicy(
        part_ends=tuple(data["part_ends"]),
        part_starts=tuple(re.compile(p, re.IGNORECASE) for p in data["part_starts"]),
        min_han_chars=int(data["min_han_chars"]),
        min_english_words=int(data["min_english_words"]),
        max_parts=int(data["max_parts"]),
        connector=re.compile(data["connector"], re.IGNORECASE),
        answer_covered_parts=bool(data["answer_covered_parts"]),
    )


def _cuts(text: str, rules: PartsPolicy) -> list[int]:
    ends = [i + 1 for i, ch in enumerate(text) if ch in rules.part_ends]
    starts = [m.start() for pattern in rules.part_starts for m in pattern.finditer(text)]
    return sorted({c for c in ends + starts if 0 < c < len(text)})


def _long_enough(piece: str, rules: PartsPolicy) -> bool:
    return len(_HAN.findall(piece)) >= rules.min_han_chars or len(_WORD.findall(piece)) >= rules.min_english_words


def split_parts(question: str, rules: PartsPolicy | None = None) -> list[str]:
    """The question's parts, in order, stripped; ``[question]`` when it asks one thing (or more than
    ``max_parts``)."""
    rules = rules or parts_policy()
    text = question.strip()
    bounds = [0, *_cuts(text, rules), len(text)]
    pieces = [text[a:b].strip(" ，,") for a, b in zip(bounds, bounds[1:])]
    parts: list[str] = []
    for piece in pieces:
        if not piece.strip():
            continue
        if parts and not _long_enough(piece, rules):
            parts[-1] = f"{parts[-1]} {piece}" if piece.isascii() else parts[-1] + piece
        else:
            parts.append(piece)
    if len(parts) > 1 and not _long_enough(parts[0], rules):
        parts[1] = parts[0] + (" " if parts[1].isascii() else "") + parts[1]
        parts.pop(0)
    return parts if 1 < len(parts) <= rules.max_parts else [text]


def without_connector(part: str, rules: PartsPolicy | None = None) -> str:
    """The part without the word that joined it to the one before ("and", "另外" …)."""
    rules = rules or parts_policy()
    return rules.connector.sub("", part, count=1).strip() or part
