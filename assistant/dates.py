"""Dates in answers: whether each cited provision is in effect on the as-of date, the notices that say so when it
is not, and the date lead of "when does … apply / 什么时候适用" answers.

Works on ``Citation`` objects (``assistant/answering/models.py``), whose ``applies_from`` / ``applies_until`` come from the
chunk metadata set at ingest (``ingest/applicability.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from pathlib import Path

from assistant.answering.models import Citation
from ingest.applicability import Rules, default_rules, format_date, in_effect, milestones

WHEN_PATTERNS_PATH = Path(__file__).resolve().parent / "resources" / "when_questions.txt"
MAX_LEAD_PROVISIONS = 4


@lru_cache(maxsize=1)
def _when_pattern() -> re.Pattern:
    lines = [ln.strip() for ln in WHEN_PATTERNS_PATH.read_text(encoding="utf-8").splitlines()]
    return re.compile("|".join(f"(?:{ln})" for ln in lines if ln and not ln.startswith("#")), re.I)


def asks_when(question: str) -> bool:
    """Does the question ask when provisions apply?"""
    return bool(_when_pattern().search(question))


def mark_in_effect(citations: list[Citation], day: date, rules: Rules | None = None) -> None:
    """Set ``in_effect`` of each citation for ``day``."""
    for c in citations:
        c.in_effect = in_effect(c.applies_from, c.applies_until, day, c.status, c.applies_condition, rules)


def by_provision(citations: list[Citation], unit_label: Callable[[Citation], str]) -> list[tuple[str, Citation]]:
    """(label, citation) once per cited unit and dates: pieces of one unit with the same dates are named by the unit
    (``EU AI Act Article 5``); a piece with dates of its own keeps its locator label (``Article 3(5)``)."""
    keys: dict[tuple[str, str, str, str, str], Citation] = {}
    for c in citations:
        keys.setdefault((c.doc_id, c.unit, c.applies_from, c.applies_until, c.applies_condition), c)
    units = [(doc_id, unit) for doc_id, unit, *_ in keys]
    return [(unit_label(c) if units.count((c.doc_id, c.unit)) == 1 else c.label, c) for c in keys.values()]


def _not_in_effect_notice(label: str, c: Citation, day: date, language: str, rules: Rules) -> str:
    on = day.isoformat()
    if c.applies_condition:
        return (
            f"{label}尚未生效：{c.applies_condition}"
            if language == "zh"
            else f"{label}: not in effect: {c.applies_condition}."
        )
    if c.status in rules.not_in_effect_statuses:
        return (
            f"{label}：语料库未记载其生效日期（状态：{c.status}），不能认定在{on}已生效。"
            if language == "zh"
            else f"{label}: not known to be in effect on {on} (status: {c.status}; no entry into force recorded)."
        )
    if c.applies_from and on < c.applies_from:
        when = format_date(c.applies_from, language)
        return (
            f"{label}在{on}尚未适用：自{when}起适用。"
            if language == "zh"
            else f"{label}: not yet applicable on {on}: applies from {when}."
        )
    if c.applies_until and on >= c.applies_until:
        when = format_date(c.applies_until, language)
        return (
            f"{label}在{on}已不再适用：自{when}起不再适用。"
            if language == "zh"
            else f"{label}: no longer applicable on {on}: ceased to apply on {when}."
        )
    return ""  # revoked on a date we do not know: the revoked label and notice already say so


def date_notices(
    citations: list[Citation],
    day: date,
    language: str,
    unit_label: Callable[[Citation], str],
    rules: Rules | None = None,
) -> list[str]:
    """One notice per cited provision that is not in effect on ``day`` (citations already marked)."""
    rules = rules or default_rules()
    out: list[str] = []
    for label, c in by_provision(citations, unit_label):
        if not c.in_effect:
            notice = _not_in_effect_notice(label, c, day, language, rules)
            if notice and notice not in out:
                out.append(notice)
    return out


def _not_dated_by_itself(c: Citation, rules: Rules) -> bool:
    """The provision that states the dates, and units that only follow the entry into force (recitals)."""
    doc = rules.documents.get(c.doc_id)
    if doc is None:
        return False
    sources = {part.strip() for part in re.split(r"[;,]", doc.source)}
    return c.unit in sources or any(c.unit.startswith(prefix) for prefix in doc.from_effective)


def _dated(label: str, applies_from: str, language: str) -> str:
    when = format_date(applies_from, language)
    return f"{label}：自{when}起适用" if language == "zh" else f"{label}: applies from {when}"


def when_lead(
    citations: list[Citation],
    language: str,
    unit_label: Callable[[Citation], str],
    title_of: Callable[[str], str],
    effective_of: Callable[[str], str],
    rules: Rules | None = None,
) -> str:
    """The date line that opens a "when does … apply" answer: the dates of the cited provisions (not of the
    provision that states the dates), or, when only that provision is cited, the stages it sets."""
    rules = rules or default_rules()
    parts: list[str] = []
    for label, c in by_provision(citations, unit_label):
        if _not_dated_by_itself(c, rules) or not c.applies_from:
            continue
        line = _dated(label, c.applies_from, language)
        if line not in parts:
            parts.append(line)
    if not parts:
        for doc_id in dict.fromkeys(c.doc_id for c in citations):
            for m in milestones(doc_id, effective_of(doc_id), rules=rules):
                if m.kind == "applies" and m.day:
                    title = title_of(doc_id)
                    label = title if m.provisions == "whole text" else f"{title} {m.provisions}"
                    parts.append(_dated(label, m.day, language))
    if not parts:
        return ""
    parts = parts[:MAX_LEAD_PROVISIONS]
    return (
        ("**适用日期**：" + "；".join(parts) + "。")
        if language == "zh"
        else ("**When it applies:** " + "; ".join(parts) + ".")
    )
