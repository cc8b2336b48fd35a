"""When a provision applies: dates per unit, from ``corpus/applicability.toml`` and the catalog's effective date.

``unit_applicability(doc_id, unit, effective, status) -> (applies_from, applies_until)`` is the contract other
modules call (the obligation register, ingest): ISO dates or "". ``unit`` is a unit label (``Article 53``) or a
piece locator (``Article 6(1)``). ``applicability_of`` gives the same with the condition / partial-date note and
the provision that states the dates; ``in_effect`` decides whether a provision is in effect on a date;
``milestones`` lists the dated milestones of a document (the timeline).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from common.documents import NO_LONGER_IN_FORCE, STATUSES

RULES_PATH = Path(__file__).resolve().parent.parent / "corpus" / "applicability.toml"
RULES_VERSION = "applicability-v1"  # part of the ingest key: bump when chunk metadata derived here changes
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RANGE = re.compile(r"^(?P<prefix>.*?)(?P<first>\d+)\.\.(?P<last>\d+)$")
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class ApplicabilityError(ValueError):
    """The applicability data is malformed (a bad date, an unknown group)."""


class InvalidDate(ValueError):
    """A date given by a user that is not an ISO date (YYYY-MM-DD); ``str(err)`` is a message for the user."""


@dataclass(frozen=True)
class Applicability:
    applies_from: str  # ISO date or "" (no date recorded, or pending a condition)
    applies_until: str = ""  # ISO date from which it no longer applies (exclusive) or ""
    condition: str = ""  # applies only when this is met (then applies_from is "")
    note: str = ""  # a part of the unit has another date
    source: str = ""  # the provision that states the dates


@dataclass(frozen=True)
class Stage:
    applies_from: str
    provisions: tuple[str, ...]  # as written in the data: group names, units, locators
    excepted: tuple[str, ...] = ()
    quote: str = ""


@dataclass(frozen=True)
class DocumentRules:
    doc_id: str
    source: str = ""
    rest_from: str = ""
    rest_quote: str = ""
    until: str = ""
    until_quote: str = ""
    from_effective: tuple[str, ...] = ()
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> unit labels (ranges expanded)
    stages: tuple[Stage, ...] = ()
    pending: tuple[tuple[tuple[str, ...], str, str], ...] = ()  # (units, condition, quote)
    partial: tuple[tuple[str, str, str, str], ...] = ()  # (unit, note, quote, from)

    def quotes(self) -> list[str]:
        """Every quote the dates rest on (each must occur in the document file)."""
        out = [self.rest_quote, self.until_quote] + [s.quote for s in self.stages]
        out += [q for _, _, q in self.pending] + [q for _, _, q, _ in self.partial]
        return [q for q in out if q]


@dataclass(frozen=True)
class Rules:
    documents: dict[str, DocumentRules]
    not_in_effect_statuses: tuple[str, ...] = ()


def _checked_date(value: object, where: str) -> str:
    text = str(value or "")
    if text and not _ISO_DATE.match(text):
        raise ApplicabilityError(f"{where}: {text!r} is not an ISO date (YYYY-MM-DD)")
    if text:
        date.fromisoformat(text)
    return text


def _expand(labels: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for label in labels:
        m = _RANGE.match(label)
        if m:
            out += [f"{m['prefix']}{n}" for n in range(int(m["first"]), int(m["last"]) + 1)]
        else:
            out.append(label)
    return tuple(out)


def _document_rules(doc_id: str, raw: dict) -> DocumentRules:
    where = f"applicability of {doc_id}"
    groups = {name: _expand(list(labels)) for name, labels in (raw.get("groups") or {}).items()}
    stages = tuple(
        Stage(
            applies_from=_checked_date(s.get("from"), where),
            provisions=tuple(s.get("provisions", ())),
            excepted=tuple(s.get("except", ())),
            quote=s.get("quote", ""),
        )
        for s in raw.get("stages", ())
    )
    return DocumentRules(
        doc_id=doc_id,
        source=raw.get("source", ""),
        rest_from=_checked_date(raw.get("rest_from"), where),
        rest_quote=raw.get("rest_quote", ""),
        until=_checked_date(raw.get("until"), where),
        until_quote=raw.get("until_quote", ""),
        from_effective=tuple(raw.get("from_effective", ())),
        groups=groups,
        stages=stages,
        pending=tuple((tuple(p["units"]), p["condition"], p.get("quote", "")) for p in raw.get("pending", ())),
        partial=tuple(
            (p["unit"], p["note"], p.get("quote", ""), _checked_date(p.get("from"), where))
            for p in raw.get("partial", ())
        ),
    )


def load_rules(path: Path = RULES_PATH) -> Rules:
    """Read the applicability data; a missing file means no rules (catalog dates only)."""
    if not path.is_file():
        return Rules(documents={})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ApplicabilityError(f"{path}: not valid TOML: {exc}") from exc
    try:
        documents = {doc_id: _document_rules(doc_id, raw) for doc_id, raw in (data.get("documents") or {}).items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise ApplicabilityError(f"{path}: {exc}") from exc
    statuses = tuple(data.get("not_in_effect_statuses", ()))
    if unknown := [s for s in statuses if s not in STATUSES]:
        raise ApplicabilityError(f"{path}: not_in_effect_statuses: {unknown} not in the status vocabulary")
    return Rules(documents=documents, not_in_effect_statuses=statuses)


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    return load_rules(RULES_PATH)


def _names(label: str, ref: str) -> bool:
    """Does ``ref`` (a unit or a locator) cover ``label`` (a unit or a locator)? ``Article 6(1)`` covers
    ``Article 6(1)(a)``; ``Article 78`` covers ``Article 78(2)``; ``Article 1`` does not cover ``Article 17-2``."""
    return label == ref or label.startswith(ref + "(")


def _covers(ref: str, label: str, groups: dict[str, tuple[str, ...]]) -> bool:
    members = groups.get(ref, (ref,))
    return any(_names(label, member) for member in members)


def applicability_of(
    doc_id: str, unit: str, effective: str, status: str = "", rules: Rules | None = None
) -> Applicability:
    """The dates of one unit (or piece locator) of a document."""
    rules = rules or default_rules()
    doc = rules.documents.get(doc_id)
    if doc is None:
        return Applicability(applies_from=effective or "")
    until = doc.until
    for units, condition, _ in doc.pending:
        if any(_names(unit, u) for u in units):
            return Applicability("", until, condition=condition, source=doc.source)
    note = next((n for part, n, _, _ in doc.partial if _names(unit, part) or _names(part, unit)), "")
    if any(unit.startswith(prefix) for prefix in doc.from_effective):
        return Applicability(effective or "", until, note=note, source=doc.source)
    for stage in doc.stages:
        if any(_covers(ref, unit, doc.groups) for ref in stage.excepted):
            continue
        if any(_covers(ref, unit, doc.groups) for ref in stage.provisions):
            return Applicability(stage.applies_from, until, note=note, source=doc.source)
    return Applicability(doc.rest_from or effective or "", until, note=note, source=doc.source)


def unit_applicability(doc_id: str, unit: str, effective: str, status: str) -> tuple[str, str]:
    """(applies_from, applies_until) of a unit as ISO dates or "" (see the module docstring)."""
    found = applicability_of(doc_id, unit, effective, status)
    return found.applies_from, found.applies_until


def parse_as_of(value: str | date | None, today: date | None = None) -> date:
    """A user's as-of date: ISO ``YYYY-MM-DD``; empty means today. Anything else raises ``InvalidDate``."""
    if isinstance(value, date):
        return value
    text = (value or "").strip() if isinstance(value, str) else value
    if text is None or text == "":
        return today or date.today()
    if not isinstance(text, str) or not _ISO_DATE.match(text):
        raise InvalidDate(
            f"as_of must be a date as YYYY-MM-DD (got {str(value)[:40]!r}). / as_of 须为 YYYY-MM-DD 格式的日期。"
        )
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidDate(f"as_of is not a real date: {text} ({exc}). / as_of 不是有效日期：{text}。") from exc


def in_effect(
    applies_from: str,
    applies_until: str,
    as_of: date,
    status: str = "",
    condition: str = "",
    rules: Rules | None = None,
) -> bool:
    """Is a provision in effect on ``as_of``? Not before ``applies_from``, not from ``applies_until`` on, not while
    a condition is pending, not for a text whose status says it binds no one yet, not for a text revoked on a
    date we do not know."""
    rules = rules or default_rules()
    if status in rules.not_in_effect_statuses or condition:
        return False
    day = as_of.isoformat()
    if applies_from and day < applies_from:
        return False
    if applies_until:
        return day < applies_until
    return status not in NO_LONGER_IN_FORCE


def format_date(iso: str, language: str) -> str:
    """2025-08-02 -> "2 August 2025" / "2025年8月2日"."""
    if not iso:
        return ""
    d = date.fromisoformat(iso)
    if language == "zh":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.day} {_EN_MONTHS[d.month - 1]} {d.year}"


def rules_fingerprint(doc_id: str, rules: Rules | None = None) -> str:
    """What the chunk dates of a document were computed from (part of the ingest key)."""
    rules = rules or default_rules()
    return f"{RULES_VERSION}|{rules.documents.get(doc_id)!r}|{rules.not_in_effect_statuses!r}"


@dataclass(frozen=True)
class Milestone:
    day: str  # ISO date
    doc_id: str
    kind: str  # "applies" (provisions start to apply), "in force" (the text enters into force), "pending", "ends"
    provisions: str  # what applies / ends, as the data names it
    source: str = ""


def milestones(doc_id: str, effective: str, status: str = "", rules: Rules | None = None) -> list[Milestone]:
    """The dated milestones of one document, in date order (none for a text without dates)."""
    rules = rules or default_rules()
    doc = rules.documents.get(doc_id)
    if doc is None:
        return [Milestone(effective, doc_id, "applies", "whole text")] if effective else []
    out: list[Milestone] = []
    if doc.from_effective and effective:
        out.append(
            Milestone(effective, doc_id, "in force", f"entry into force ({', '.join(doc.from_effective)})", doc.source)
        )
    for stage in doc.stages:
        named = ", ".join(stage.provisions) + (f" (except {', '.join(stage.excepted)})" if stage.excepted else "")
        out.append(Milestone(stage.applies_from, doc_id, "applies", named, doc.source))
    rest = doc.rest_from or effective
    if rest:
        out.append(
            Milestone(rest, doc_id, "applies", "all other provisions" if doc.stages else "whole text", doc.source)
        )
    for units, condition, _ in doc.pending:
        out.append(Milestone("", doc_id, "pending", f"{', '.join(units)}: {condition}", doc.source))
    for _unit, note, _, day in doc.partial:
        if day:
            out.append(Milestone(day, doc_id, "applies", note, doc.source))
    if doc.until:
        out.append(Milestone(doc.until, doc_id, "ends", "whole text (no longer applies)", doc.source))
    return sorted(out, key=lambda m: (m.day or "9999", m.kind))
