"""Comparison questions: "how does China's labelling rule compare with the AI Act's?".

A question is a comparison when it uses a comparison word (``resources/comparison.toml``) and names two or more
sides: documents, or jurisdictions not already covered by a named document. Retrieval then puts each side's best
clauses first, side by side (``interleave``); the answer cites each side (``cited_units``) and opens with a table,
one row per aspect asked about, each cell a verbatim sentence of that side's clause (``comparison_table``).
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

POLICY_FILE = Path(__file__).parent / "resources" / "comparison.toml"


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


def _words(words: list[str]) -> re.Pattern:
    return re.compile("|".join(words), re.I)


@lru_cache(maxsize=1)
def policy() -> ComparisonPolicy:
    data = tomllib.loads(POLICY_FILE.read_text(encoding="utf-8"))
    return ComparisonPolicy(
        cues=_words(data["cues"]), clauses_per_side=int(data["clauses_per_side"]),
        cited_units_per_side=int(data["cited_units_per_side"]),
        aspects=tuple(Aspect(a["name"], _words(a["question"]), _words(a["clause"])) for a in data["aspects"]),
        jurisdiction_names=data["jurisdiction_names"])


def comparison_sides(question: str, doc_ids: list[str], jurisdictions: list[str],
                     jurisdiction_of: dict[str, str]) -> list[Side]:
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


def interleave(order: np.ndarray, masks: list[np.ndarray], unit_of: Callable[[int], tuple[str, str]],
               per_side: int) -> np.ndarray:
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


_SENTENCE = re.compile(r"[^。；;!?！？\n]+(?:[。；;!?！？]|\.(?=\s)|$)")


_UNIT_LABEL = re.compile(r"^(第[一二三四五六七八九十百零]+条|Article \d+\w*( —[^\n]*)?|\(\d+\)|\d+\.)\s*")


def key_sentence(text: str, aspect: Aspect | None, limit: int = 160) -> str:
    """The sentence of a clause that uses the aspect's words most (else its first sentence), verbatim but for
    the unit label in front, shortened to ``limit`` characters."""
    body = re.sub(r"(?m)^#+\s.*$", "", text)
    sentences = [_UNIT_LABEL.sub("", s.strip()) for s in _SENTENCE.findall(body)]
    sentences = [s for s in sentences if len(s) > 8]
    if not sentences:
        return ""
    hits = [len(aspect.clause.findall(s)) if aspect else 0 for s in sentences]
    chosen = sentences[hits.index(max(hits))]
    chosen = re.sub(r"\s+", " ", chosen)
    return chosen if len(chosen) <= limit else chosen[: limit - 1] + "…"


def side_name(side: Side, title_of, language: str) -> str:
    if side.doc_ids:
        return " / ".join(title_of(d) for d in side.doc_ids)
    names = policy().jurisdiction_names.get(side.jurisdiction, {})
    return names.get(language, side.jurisdiction)


def comparison_table(question: str, language: str, names: list[str],
                     cells: list[list[tuple[str, int]]]) -> str:
    """A Markdown table: a header with the side names, one row per aspect the question asks about.
    ``cells[side]`` = [(clause text, citation number)] of that side, best first."""
    asked = [a for a in policy().aspects if a.question.search(question)]
    rows = asked or [None]
    header = "方面" if language == "zh" else "Aspect"
    lines = ["| " + " | ".join([header, *names]) + " |", "|" + "---|" * (len(names) + 1)]
    for aspect in rows:
        label = aspect.name[language] if aspect else ("各自规定" if language == "zh" else "What each text says")
        row = [label]
        for side_cells in cells:
            if not side_cells:
                row.append("—")
                continue
            text, n = next(((t, n) for t, n in side_cells if aspect and aspect.clause.search(t)), side_cells[0])
            sentence = key_sentence(text, aspect).replace("|", "\\|")
            row.append(f"“{sentence}” [{n}]")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
