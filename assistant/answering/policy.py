"""The answer service's numbers, from ``resources/answering.toml`` (read once)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from common.documents import NO_LONGER_IN_FORCE

POLICY_FILE = Path(__file__).resolve().parent.parent / "resources" / "answering.toml"


@dataclass(frozen=True)
class AnsweringPolicy:
    max_question_chars: int
    share_of_best: float
    pieces_per_split_unit: int
    named_document_extra_units: int
    related_on_refusal: int
    revoked_statuses: frozenset[str]
    revoked_label: dict[str, str]
    rewrite_turns: int
    rewrite_turn_chars: int
    rewrite_max_chars: int
    answer_turns: int
    failure_detail_chars: int

    def revoked_suffix(self, language: str) -> str:
        """What follows the name of a revoked text: "（已废止）" or " (revoked)"."""
        return f"（{self.revoked_label['zh']}）" if language == "zh" else f" ({self.revoked_label['en']})"


@lru_cache(maxsize=1)
def policy() -> AnsweringPolicy:
    data = tomllib.loads(POLICY_FILE.read_text(encoding="utf-8"))
    citing, revoked, llm = data["citing"], data["revoked"], data["llm"]
    return AnsweringPolicy(
        max_question_chars=int(data["max_question_chars"]),
        share_of_best=float(citing["share_of_best"]),
        pieces_per_split_unit=int(citing["pieces_per_split_unit"]),
        named_document_extra_units=int(citing["named_document_extra_units"]),
        related_on_refusal=int(citing["related_on_refusal"]),
        revoked_statuses=NO_LONGER_IN_FORCE,
        revoked_label=dict(revoked["label"]),
        rewrite_turns=int(llm["rewrite_turns"]),
        rewrite_turn_chars=int(llm["rewrite_turn_chars"]),
        rewrite_max_chars=int(llm["rewrite_max_chars"]),
        answer_turns=int(llm["answer_turns"]),
        failure_detail_chars=int(llm["failure_detail_chars"]),
    )
