"""Numbered provisions in plain text: rulebooks, codes and regulations whose lines start with their number.

A line that starts with a provision number opens a unit named by it — ``1.2.1``, ``2.2.4.(1)``, ``5.13A.5.1``,
``§ 1002.4``, ``Rule 3.2``, ``Section 12.3``, ``Part 3.7.(4)``, ``APP 1.4`` — and every line up to the next one
belongs to it, with ``(1)`` / ``(a)`` / ``(i)`` lines as locators inside it. An appendix, annex, supplement or
exhibit heading (``Appendix A to Part 1002—…``, ``Supplement I to Part 1002``, ``ANNEX 2``) opens a unit the same
way, and a provision after it numbered otherwise than the body (the official interpretations' ``Section 1002.9``
and ``9(b)`` after ``Supplement I``, beside the rule's own ``§ 1002.9``) is labelled as part of it: ``Supplement I,
9(b)``. A numbered line directly followed by its first sub-provision (``1.2 Captive Insurance Business`` then
``1.2.1 …``) is a heading: it names the path of the units below it instead of being a unit. Text before the first
provision is the preamble.

Numbers must rise in document order (per prefix), so a wrapped line that happens to start with a number
(``10.5 million …``) or an in-text reference never opens a unit. A table of contents (numbered lines with no text
between them) is not the provisions: when the numbering starts again after one, the contents become preamble. Used
by the splitter for plain-text documents without Markdown headings or 第X条 articles (``detect_scheme`` ->
``numbered-provisions``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.numerals import from_roman

from .models import Unit

_PREFIX = r"(?:§{1,2}|Rule|RULE|Section|SECTION|Sec\.|Regulation|Part|PART|Article|Art\.|APP|Schedule|SCHEDULE)"
_NUMBER = r"\d{1,5}[A-Z]?(?:\.\d{1,4}[A-Z]?)*"
PROVISION_LINE = re.compile(
    rf"^(?P<prefix>{_PREFIX}\s*)?(?P<number>{_NUMBER})(?P<subs>(?:\.?\((?:\d{{1,3}}|[a-z]{{1,3}})\))*)\.?"
    rf"(?:(?:[\t ]+|[—–]\s*)(?P<text>\S.*))?$"  # "§ 1002.4 General rules.", "Section 1002.102—Definitions"
)
# An appendix, annex, supplement or exhibit heading: "Appendix A to Part 1002—Federal Agencies …", "Supplement I to
# Part 1002—Official Interpretations", "ANNEX 2", "Exhibit B: Model form". Its letter, roman or arabic number must rise
# like a provision's, so a later mention ("Appendix C—Sample Notification Forms" inside the interpretations, after
# Appendix F) is not a unit. A bare "Appendix C." is a wrapped line of text, not a heading.
ANNEX_LINE = re.compile(
    r"^(?P<prefix>Appendix|APPENDIX|Annex|ANNEX|Supplement|SUPPLEMENT|Exhibit|EXHIBIT)\s+(?P<number>[A-Z]|[IVX]{1,5}|\d{1,3})"
    r"(?:\s+(?i:to)\s+(?i:Part|Subpart|Chapter|Rule|Regulation)\s+[\w.]+)?(?:\s*[—–:-]\s*(?P<text>\S.*)|\s*)$"
)
ANNEX_FAMILIES = ("Appendix", "Annex", "Supplement", "Exhibit")
CONTENTS_ANNEX_LINES = 5  # an appendix's contents entry: at most this many lines (title, page head) before the next
_ROMAN_LETTERS = "IVX"  # one-letter numbers that may be roman numerals (ANNEX_LINE reads only these)
_COMPONENT = re.compile(r"(\d+)([A-Z]?)|\((\w+)\)")
_CHAPTER = re.compile(r"^(\d{1,3})\.?[\t ]+(\S.{0,99})$")  # "1 GENERAL PROVISIONS", "2. Listing Standards"
MIN_PROVISIONS = 8  # fewer numbered lines than this: not a numbered rulebook
HEADING_MAX_CHARS = 120  # a numbered line longer than this is text, never a heading
MAX_STEP = 5  # an unprefixed number may skip at most this many places (1.2 -> 1.7), else it is text ("10.5 million")
MAX_RESTART = 3  # below the place that rose, numbering starts again near 1 (2.1.4 -> 2.2.1, not 2.2.9)
MIN_CONTENTS_ENTRIES = 3  # a table of contents lists at least this many provisions …
CONTENTS_SHARE = 0.8  # … and at least this share of them has at most one line before the next entry


@dataclass(frozen=True)
class Provision:
    line: int  # index of its line in the document
    prefix: str  # "§", "Rule", "Part", … or ""
    number: str  # as printed, without a trailing dot: "1.2.1", "2.2.4.(1)", "1002.4"
    text: str  # the rest of the line
    key: tuple  # for ordering: (1, 2, 4, (1,)) …

    @property
    def label(self) -> str:
        if not self.prefix:
            return self.number
        prefix = "§" if self.prefix.startswith("§") else self.prefix
        return f"{prefix} {self.number}"

    def is_ancestor_of(self, other: Provision) -> bool:
        return other.prefix == self.prefix and len(other.key) > len(self.key) and other.key[: len(self.key)] == self.key


def _key(number: str) -> tuple[tuple[int, str], ...]:
    """ "5A.2.1" -> ((5, "A"), (2, ""), (1, "")); "2.2.4.(1)" -> (..., (4, ""), (1, "")); "(b)" -> (0, "b")."""
    parts = []
    for m in _COMPONENT.finditer(number):
        if m.group(1):
            parts.append((int(m.group(1)), m.group(2)))
        else:
            token = m.group(3)
            parts.append((int(token), "") if token.isdigit() else (0, token))
    return tuple(parts)


def _annex(line: str) -> tuple[str, str, str, tuple[tuple, ...]] | None:
    """(prefix, number, text, keys) of an appendix, annex, supplement or exhibit heading, else None. ``keys``: the
    readings of its number, for ordering (I, V and X are a letter after H, U, W or a roman numeral)."""
    stripped = line.strip()
    m = ANNEX_LINE.match(stripped)
    if not m or len(stripped) > HEADING_MAX_CHARS or (m.group("text") or "")[:1].islower():
        return None
    number = m.group("number")
    if number.isdigit():
        values = [int(number)]
    elif len(number) == 1:
        values = ([from_roman(number) or 0] if number in _ROMAN_LETTERS else []) + [ord(number) - ord("A") + 1]
    else:
        values = [from_roman(number) or 0]
    return m.group("prefix").capitalize(), number, (m.group("text") or "").strip(), tuple(((v, ""),) for v in values)


def _filled_lines(lines: list[str], after: int, stop: int) -> int:
    """How many non-empty lines lie between line ``after`` and line ``stop``."""
    return sum(1 for line in lines[after + 1 : stop] if line.strip())


def _annex_contents_start(found: list[Provision], family: str, number: str, lines: list[str], at: int) -> int | None:
    """A heading of an appendix family seen before (``number``) at line ``at``: the line where the earlier entries
    of that family start when they were a list of contents (provisions of the body follow them, and each has at most
    CONTENTS_ANNEX_LINES non-empty lines before the next numbered line), else None (the appendices of the body,
    mentioned again later, or a heading never seen)."""
    listed = [p for p in found if p.prefix == family]
    again = [p for p in listed if p.number == number]
    if not again:
        return None
    entries = [p for p in listed if p.line >= again[0].line]
    body_follows = any(p.line > entries[-1].line and p.prefix not in ANNEX_FAMILIES for p in found)
    short = all(
        _filled_lines(lines, e.line, min((p.line for p in found if p.line > e.line), default=at))
        <= CONTENTS_ANNEX_LINES
        for e in entries
    )
    return again[0].line if body_follows and short else None


def _match(line: str) -> tuple[str, str, str] | None:
    """(prefix, number, text) of a line that starts with a provision number, else None."""
    m = PROVISION_LINE.match(line.strip())
    if not m:
        return None
    prefix = (m.group("prefix") or "").strip()
    text = (m.group("text") or "").strip()
    if text[:1].islower():
        return None  # a wrapped line ("3.5 million units …"), not a provision
    if not ("." in m.group("number") or m.group("subs") or prefix):
        return None  # a bare "3" or "3." is at most a chapter number
    return prefix, (m.group("number") + m.group("subs")).rstrip("."), text


def _follows(last: tuple | None, key: tuple, lenient: bool) -> bool:
    """Whether ``key`` can be the next provision after ``last``: it rises and, unless a prefix (§, Rule …) marks
    it as a provision anyway, it is a near successor (one place up by at most MAX_STEP, the places below
    restarting near 1) rather than any larger number."""
    if last is None:
        return lenient or all(n <= MAX_RESTART * MAX_STEP for n, _ in key)
    if key <= last:
        return False
    if lenient:
        return True
    for place, (old, new) in enumerate(zip(last, key)):
        if old != new:
            return new[0] - old[0] <= MAX_STEP and all(n <= MAX_RESTART for n, _ in key[place + 1 :])
    return all(n <= MAX_RESTART for n, _ in key[len(last) :])  # a first sub-provision: 2.2.4 -> 2.2.4.(1)


def _is_contents(entries: list[Provision], lines: list[str], end: int) -> bool:
    """Whether ``entries`` (one prefix family, in order, the last running up to line ``end``) are a table of
    contents: enough of them, nearly all followed directly by the next entry (at most one line between)."""
    if len(entries) < MIN_CONTENTS_ENTRIES:
        return False
    stops = [e.line for e in entries[1:]] + [end]
    bare = sum(1 for entry, stop in zip(entries, stops) if _filled_lines(lines, entry.line, stop) <= 1)
    return bare >= CONTENTS_SHARE * len(entries)


def find_provisions(lines: list[str]) -> list[Provision]:
    """The numbered lines that open provisions, each rising over the previous one with the same prefix; when the
    numbering starts again after a table of contents, the contents' lines are dropped."""
    found: list[Provision] = []
    last: dict[str, tuple] = {}
    for i, line in enumerate(lines):
        annex = _annex(line)
        parsed = annex[:3] if annex else _match(line)
        if not parsed:
            continue
        prefix, number, text = parsed
        family = "§" if prefix.startswith("§") else prefix
        keys = annex[3] if annex else (_key(number),)
        repeated = bool(annex) and any(p.prefix == family and p.number == number for p in found)
        key = None if repeated else next((k for k in keys if _follows(last.get(family), k, lenient=bool(family))), None)
        if key is None and annex:  # the same heading again: the earlier ones were contents, if they read like them
            start = _annex_contents_start(found, family, number, lines, i)
            if start is None:
                continue  # a later mention ("Appendix C—Sample Notification Forms" in the interpretations)
            key = keys[0]
            found = [p for p in found if p.prefix != family or p.line < start]
        elif key is None:
            key = keys[0]
            listed = [p for p in found if p.prefix == family]
            if not (listed and key <= listed[0].key and _is_contents(listed, lines, i)):
                continue  # a running head, a wrapped line starting with a number, a reference
            found = [p for p in found if p.prefix != family]  # those were the contents
        last[family] = key
        found.append(Provision(i, family, number, text, key))
    return found


def looks_numbered(body: str) -> bool:
    return len(find_provisions(body.splitlines())) >= MIN_PROVISIONS


def _is_heading(provision: Provision, following: Provision | None, lines: list[str]) -> bool:
    """A short numbered line followed directly (no text between) by its own first sub-provision."""
    if following is None or not provision.is_ancestor_of(following) or len(provision.text) > HEADING_MAX_CHARS:
        return False
    between = [line for line in lines[provision.line + 1 : following.line] if line.strip()]
    return not between


def _chapter_titles(lines: list[str]) -> dict[int, str]:
    """Bare-numbered titles directly followed by their first provision ("2. Listing Standards" then "2.1 …"):
    the path, not a unit, and not text of the provision before them."""
    titles = {}
    for i, line in enumerate(lines):
        m = _CHAPTER.match(line.strip())
        if not m or _match(line) or m.group(2).rstrip().endswith((".", "。", ";", ":")):
            continue
        following = next((later for later in lines[i + 1 :] if later.strip()), "")
        parsed = _match(following)
        if parsed and parsed[1].startswith(m.group(1) + "."):
            titles[i] = f"{m.group(1)} {m.group(2).strip()}"
    return titles


def split_provisions(body: str, preamble_label: str = "preamble") -> list[Unit]:
    """The document's units: one per numbered provision (headings excepted), in document order."""
    lines = body.splitlines()
    provisions = find_provisions(lines)
    chapters = _chapter_titles(lines)
    first = provisions[0].line if provisions else len(lines)
    units: list[Unit] = []
    preamble = [line.strip() for i, line in enumerate(lines[:first]) if line.strip() and i not in chapters]
    if preamble:
        units.append(Unit(label=preamble_label, path=[], blocks=preamble))
    headings: list[tuple[Provision, str]] = []
    part: Provision | None = None  # the appendix, annex or supplement whose heading came last
    body_prefixes: set[str] = set()  # the prefixes numbered in the body before it
    for n, provision in enumerate(provisions):
        following = provisions[n + 1] if n + 1 < len(provisions) else None
        while headings and not headings[-1][0].is_ancestor_of(provision):
            headings.pop()
        if provision.prefix in ANNEX_FAMILIES:
            part = provision if body_prefixes else None  # an annex before any provision: the body has not begun
        elif part is not None and provision.prefix in body_prefixes:
            part = None  # the body's numbering goes on ("4.1.1" after "Annex 1 to Chapter 3")
        elif part is None:
            body_prefixes.add(provision.prefix)
        label = provision.label if part is None or part is provision else f"{part.label}, {provision.label}"
        title = f"{provision.label} {provision.text}".strip()
        if _is_heading(provision, following, lines):
            headings.append((provision, title))
            continue
        end = following.line if following else len(lines)
        text = [
            line.strip()
            for i, line in enumerate(lines[provision.line + 1 : end], provision.line + 1)
            if line.strip() and i not in chapters
        ]
        chapter = [title for i, title in chapters.items() if i < provision.line][-1:]
        units.append(Unit(label=label, path=[*chapter, *(t for _, t in headings)], blocks=[title, *text]))
    return units
