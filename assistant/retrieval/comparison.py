"""Comparison questions: "how does China's labelling rule compare with the AI Act's?".

A question is a comparison when it uses a comparison word (``resources/comparison.toml``) and names two or more
sides: documents, or jurisdictions not already covered by a named document. Retrieval then puts each side's best
clauses first, side by side (``interleave``); the answer cites each side (``cited_units_per_side``) and opens with a
table, one row per aspect asked about (``assistant/answering/comparison.py``). This module holds what both stages
share: the sides, which side a document is on, and the policy.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

POLICY_FILE = Path(__file__).resolve().parent.parent / "resources" / "comparison.toml"


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a named document, or every document of a jurisdiction."""

    doc_ids: tuple[str, ...] = ()
    jurisdiction: str = ""


@dataclass(frozen=True)
class Aspect:
    name: dict[str, str]
    question: re.Pattern
    clause: re.Pattern


@dataclass(frozen=True)
class ComparisonPolicy:
    cues: re.Pattern
    clauses_per_side: int
    cited_units_per_side: int
    aspects: tuple[Aspect, ...]
    jurisdiction_names: dict[str, dict[str, str]]
    key_sentence_chars: int
    min_sentence_chars: int


def _words(words: list[str]) -> re.Pattern:
    return re.compile("|".join(words), re.I)


@lru_cache(maxsize=1)
def policy() -> ComparisonPolicy:
    data = tomllib.loads(POLICY_FILE.read_text(encoding="utf-8"))
    return ComparisonPolicy(
        cues=_words(data["cues"]),
        clauses_per_side=int(data["clauses_per_side"]),
        cited_units_per_side=int(data["cited_units_per_side"]),
        aspects=tuple(Aspect(a["name"], _words(a["question"]), _words(a["clause"])) for a in data["aspects"]),
        jurisdiction_names=data["jurisdiction_names"],
        key_sentence_chars=int(data["key_sentence_chars"]),
        min_sentence_chars=int(data["min_sentence_chars"]),
    )


def comparison_sides(
    question: str, doc_ids: list[str], jurisdictions: list[str], jurisdiction_of: dict[str, str]
) -> list[Side]:
    """The sides a comparison question names (empty when it is not a comparison of two or more sides)."""
    if not policy().cues.search(question):
        return []
    sides = [Side(doc_ids=(doc_id,)) for doc_id in dict.fromkeys(doc_ids)]
    covered = {jurisdiction_of.get(doc_id, "") for doc_id in doc_ids}
    sides += [Side(jurisdiction=code) for code in dict.fromkeys(jurisdictions) if code not in covered]
    return sides if len(sides) >= 2 else []


def side_mask(side: Side, doc_of: np.ndarray, jurisdiction_of: np.ndarray) -> np.ndarray:
    if side.doc_ids:
        return np.isin(doc_of, list(side.doc_ids))
    return jurisdiction_of == side.jurisdiction


def interleave(
    order: np.ndarray, masks: list[np.ndarray], unit_of: Callable[[int], tuple[str, str]], per_side: int
) -> np.ndarray:
    """``order`` (rows, best first) with each side's best rows (one per unit, ``per_side`` units) moved to the
    front, side by side: A1 B1 A2 B2 …; the rest follows in its own order."""
    picks: list[list[int]] = []
    for mask in masks:
        units, rows = set(), []
        for row in order:
            if mask[row] and unit_of(int(row)) not in units:
                units.add(unit_of(int(row)))
                rows.append(int(row))
                if len(rows) == per_side:
                    break
        picks.append(rows)
    front = [rows[i] for i in range(per_side) for rows in picks if i < len(rows)]
    chosen = set(front)
    return np.array(front + [int(r) for r in order if int(r) not in chosen], dtype=int)


def side_of(doc_id: str, jurisdiction: str, sides: list[Side]) -> int | None:
    for n, side in enumerate(sides):
        if doc_id in side.doc_ids or (not side.doc_ids and jurisdiction == side.jurisdiction):
            return n
    return None
