"""The clause-aware splitter: a document becomes citable units, and units become chunks.

A *unit* is what a citation names (第十二条, Article 50, Recital 133, Annex III, GOVERN 1.2, Sec. 4.2, para 4);
its label follows the table in ``shared/eval/README.md``. A *chunk* is one piece of one unit: a chunk never
holds text from two units. A long unit is split at paragraph/point boundaries, and every piece carries the
unit label plus a locator (``Article 3(56)``, ``第四条（二）``).

Schemes (chosen by the catalog, else detected):
- ``cn-articles``: Chinese laws and rules; a paragraph that starts with 第X条 opens an article. 编/章/节
  headings form the path. Text before the first article is the ``preamble`` (e.g. a promulgation order).
- ``headings``: units are opened by headings (``Article 50 — …``, ``ANNEX III — …``, ``Sec. 4.`` / ``4.2.``,
  a bill's ``SECTION 1.`` / ``SEC. 2.`` and its code sections ``22757.12.``, ``3.1.1 …``, ``A.2 …``,
  ``Appendix B: …``, ``前言``) and by a few paragraph markers: recitals ``(N)`` under a *Recitals* heading,
  NIST-style ``GOVERN 1.2:`` outcomes, and (optionally) roman ``IV.`` paragraphs.
  CHAPTER / Part / Section N: / 第X章 headings are structure only.
- ``numbered-paras``: resolutions, recommendations, declarations, guidance notes; ``N. …`` (or, where most
  paragraphs are so numbered, ``N) …``) paragraphs are ``para N`` while the numbers go up; the rest
  (and a *Preamble* section) is ``preamble``. Under an annex heading (``## … (Annex)``), ``N.`` and ``N.M.``
  paragraphs are ``Annex N`` and ``Annex N.M``.
- ``paragraphs``: every paragraph is ``para N``; dash-led proposals (``——…``) are ``item N``; a bulleted list
  (``- …``) belongs to the paragraph before it; a paragraph that starts with a key of the catalog's
  ``paragraph_units`` opens the unit named there (``signatories``), and the paragraphs after it stay in it.
- ``numbered-provisions``: plain-text rulebooks and codes whose lines start with their number (``1.2.1``,
  ``2.2.4.(1)``, ``§ 1002.4``, ``Rule 3.2``): see ``ingest/provisions.py``.
- ``cn-plan``: outline documents (一、 / （一） / 1. headings and 专栏 boxes): units ``一``, ``二（三）``,
  ``三（一）1``, ``专栏1``.
In-text references (依照本法第二十一条, referred to in Article 6(2)) never open a unit: only a paragraph or
heading that *starts* with a label does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from common.numerals import int_to_cn

from .catalog import CatalogEntry
from .models import Chunk, SourceDocument, Unit
from .provisions import looks_numbered, split_provisions
from .roles import chunk_roles

CN_DIGITS = "零〇一二三四五六七八九十百千两"
CN_ARTICLE = re.compile(rf"^\*{{0,2}}第([{CN_DIGITS}]+)条(?:\*{{0,2}})(?:[\s\u3000]|$)")
CN_ITEM = re.compile(rf"^[（(]([{CN_DIGITS}]+)[）)]")
CN_STRUCTURAL = re.compile(rf"^第[{CN_DIGITS}]+[编章节分]")

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FOOTNOTE_DEF = re.compile(r"^\[\^(\d+)\]:")

H_ARTICLE = re.compile(r"^(?:Article|ARTICLE|Art\.)\s+(\d+(?:-\d+)?[a-z]?)\b")
H_ANNEX = re.compile(r"^ANNEX\s+([IVXLC]+)\b", re.I)
H_ADDENDA = re.compile(r"^(ADDENDA|ADDENDUM)\s*<\s*(Act No\.\s*\d+)", re.I)
H_SECTION = re.compile(r"^(Section|Sec\.|SECTION|SEC\.)\s+(\d+)\.(?:\s|$)")  # SECTION 1. / SEC. 2.: a bill
H_APPENDIX = re.compile(r"^Appendix\s+([A-Z])\b")
H_CN_APPENDIX = re.compile(r"^附录\s*([A-Z])\s*$")
H_LETTER_NUMBER = re.compile(r"^([A-Z]\.\d+(?:\.\d+)*)\.?(?:\s|$)")
H_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?(?:\s|$)")
H_ANNEX_PART = re.compile(r"\bAnnex\b", re.I)  # "## Seoul Statement … (Annex)" in a declaration
H_PREAMBLE = re.compile(r"^(前言|Preamble|PREAMBLE|Foreword|FOREWORD)\s*$")
H_RECITALS = re.compile(r"^(Recitals|RECITALS|Whereas)\b")
H_STRUCTURAL = re.compile(
    r"^(CHAPTER|Chapter|PART|Part|TITLE|Title|SECTION\s+\d+\s*[—–-]|Section\s+\d+\s*:|Section\s+[A-Z]\b)"
)

P_RECITAL = re.compile(r"^\((\d+)\)\s")
P_OUTCOME = re.compile(r"^(?:-\s+|\*\*)([A-Z]{3,}\s\d+(?:\.\d+)?):")
P_ROMAN = re.compile(r"^([IVX]+)\.\s")
P_NUMBERED = re.compile(r"^(\d+)\.\s")
P_NUMBERED_PAREN = re.compile(r"^(\d+)\)\s")  # "14)\tINTRODUCTION": a guidance note's paragraphs
P_ANNEX_NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.\s")  # "2.1. We acknowledge…" in an annex
P_SUBNUMBER = re.compile(r"^(\d+(?:\.\d+)+)\.?\s")  # "5.2 建立…" under heading "5."
P_DASH_ITEM = re.compile(r"^(——|—|‒|–)")
P_BULLET = re.compile(r"^[-*+]\s")  # a Markdown bulleted list
P_BOLD_SECTION = re.compile(r"^\*\*((?:SECTION|Section)\s+\d+\b[^*\n]*)\*\*$")  # **SECTION 2 — …** between articles

PLAN_PART = re.compile(rf"^([{CN_DIGITS}]+)、")
PLAN_SUBPART = re.compile(rf"^（([{CN_DIGITS}]+)）")
PLAN_BOX = re.compile(r"^\*\*(专栏\s*\d+)")
PLAN_POINT = re.compile(r"^(\d+)[.．](.{1,40})$")

SPLITTER_VERSION = "10"  # bump when a change to this module changes chunks: documents are re-split on ingest
PARAGRAPH_LEVEL = 7  # units opened by a paragraph sit below every heading level


@dataclass
class _Open:
    level: int
    unit: Unit


@dataclass
class _Walker:
    """Keeps the heading path and the stack of open units while walking a document's blocks."""

    preamble_label: str = "preamble"
    units: list[Unit] = field(default_factory=list)
    stack: list[_Open] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)

    def path(self) -> list[str]:
        return [text for _, text in self.headings]

    def on_heading(self, level: int, text: str) -> None:
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.close_from(level)

    def push_heading(self, level: int, text: str) -> None:
        self.headings.append((level, text))

    def close_from(self, level: int) -> None:
        while self.stack and self.stack[-1].level >= level:
            self.stack.pop()

    def open(self, level: int, label: str, path: list[str] | None = None) -> Unit:
        self.close_from(level)
        if self.units and self.units[-1].label == label:
            unit = self.units[-1]  # e.g. a title block followed by a "Preamble" heading: one preamble
        else:
            unit = Unit(label=label, path=self.path() if path is None else path)
            self.units.append(unit)
        self.stack.append(_Open(level, unit))
        return unit

    def parent_label(self, below_level: int = PARAGRAPH_LEVEL) -> str:
        for entry in reversed(self.stack):
            if entry.level < below_level:
                return entry.unit.label
        return ""

    def append(self, block: str) -> None:
        if self.stack:
            self.stack[-1].unit.blocks.append(block)
            return
        if not self.units:  # text before the first unit; any heading closes it
            self.open(PARAGRAPH_LEVEL, self.preamble_label, path=[]).blocks.append(block)
            return
        # Text under a structural heading, after units began: name it after that heading.
        label = self.headings[-1][1] if self.headings else self.preamble_label
        self.open(PARAGRAPH_LEVEL, label).blocks.append(block)


def blocks_of(body: str) -> list[str]:
    """Paragraph blocks separated by blank lines; a heading line is always a block of its own, and a line that
    opens a Chinese article or chapter (第X条, 第X章) always starts a block (a PDF's text layer has no blank lines
    between them)."""
    blocks: list[str] = []
    current: list[str] = []
    for line in body.splitlines():
        stripped = line.strip()
        if not stripped or HEADING.match(stripped):
            if current:
                blocks.append("\n".join(current))
                current = []
            if stripped:
                blocks.append(stripped)
            continue
        if current and (CN_ARTICLE.match(stripped) or CN_STRUCTURAL.match(stripped)):
            blocks.append("\n".join(current))
            current = []
        current.append(line.rstrip())
    if current:
        blocks.append("\n".join(current))
    return [b.strip() for b in blocks if b.strip()]


def _heading(block: str) -> tuple[int, str] | None:
    match = HEADING.match(block)
    if not match:
        return None
    return len(match.group(1)), match.group(2).strip().strip("*").strip()


def heading_unit_label(text: str, parent: str) -> tuple[str, str]:
    """Classify a heading: ("unit", label), ("structural", ""), ("recitals", "") or ("plain", "")."""
    if m := H_ARTICLE.match(text):
        return "unit", f"Article {m.group(1)}"
    if m := H_ANNEX.match(text):
        return "unit", f"Annex {m.group(1).upper()}"
    if m := H_ADDENDA.match(text):
        kind = "Addenda" if m.group(1).upper() == "ADDENDA" else "Addendum"
        act = " ".join(m.group(2).split())
        return "unit", f"{kind} ({act})"
    if m := H_SECTION.match(text):
        return "unit", f"{m.group(1)} {m.group(2)}"
    if m := H_APPENDIX.match(text):
        return "unit", f"Appendix {m.group(1)}"
    if m := H_CN_APPENDIX.match(text):
        return "unit", f"附录{m.group(1)}"
    if H_RECITALS.match(text):
        return "recitals", ""
    if H_STRUCTURAL.match(text) or CN_STRUCTURAL.match(text):
        return "structural", ""
    if m := H_LETTER_NUMBER.match(text):
        return "unit", m.group(1)
    if m := H_NUMBER.match(text):
        number = m.group(1)
        section = re.match(r"^(Sec\.|Section) (\d+)$", parent)
        if section and number.startswith(section.group(2) + "."):
            return "unit", f"Sec. {number}"
        return "unit", number
    if m := H_PREAMBLE.match(text):
        return "unit", "前言" if m.group(1) == "前言" else "preamble"
    return "plain", ""


def _walk_headings(blocks: list[str], entry: CatalogEntry | None, walker: _Walker) -> None:
    in_recitals = False
    heading_units = entry.heading_units if entry else {}
    roman = bool(entry and entry.roman_paragraphs)
    for i, block in enumerate(blocks):
        heading = _heading(block)
        if not heading and (m := P_BOLD_SECTION.match(block)):
            # A bold section title (EU AI Act, Korean act) is structure at the level of the article headings
            # that follow it: it closes the previous article instead of becoming part of its text.
            level = next((h[0] for b in blocks[i + 1 :] if (h := _heading(b))), PARAGRAPH_LEVEL - 1)
            walker.on_heading(level, m.group(1).strip())
            walker.push_heading(level, m.group(1).strip())
            in_recitals = False
            continue
        if heading:
            level, text = heading
            if level == 1:
                continue  # the document title
            walker.on_heading(level, text)
            kind, label = heading_unit_label(text, walker.parent_label())
            if text in heading_units:
                kind, label = "unit", heading_units[text]
            in_recitals = kind == "recitals" or (in_recitals and kind == "plain")
            if kind == "unit":
                walker.open(level, label).blocks.append(block)
            elif kind == "plain" and walker.stack:
                walker.stack[-1].unit.blocks.append(block)
            elif kind == "plain":  # a subtitle before any unit belongs to the preamble
                walker.open(level, text if walker.units else walker.preamble_label).blocks.append(block)
            walker.push_heading(level, text)
            continue
        label = ""
        if FOOTNOTE_DEF.match(block):
            label = "Footnotes" if not (walker.stack and walker.stack[-1].unit.label == "Footnotes") else ""
            if not label:
                walker.append(block)
                continue
        elif in_recitals and (m := P_RECITAL.match(block)):
            label = f"Recital {m.group(1)}"
        elif (
            (m := P_OUTCOME.match(block))
            or roman
            and (m := P_ROMAN.match(block))
            or (m := P_SUBNUMBER.match(block))
            and m.group(1).startswith(walker.parent_label() + ".")
        ):
            label = m.group(1)
        if label:
            walker.open(PARAGRAPH_LEVEL, label).blocks.append(block)
        else:
            walker.append(block)


def _walk_cn_articles(blocks: list[str], walker: _Walker) -> None:
    for block in blocks:
        heading = _heading(block)
        if heading:
            level, text = heading
            if level > 1:
                walker.on_heading(level, text)
                walker.push_heading(level, text)
            continue
        if m := CN_ARTICLE.match(block):
            walker.open(PARAGRAPH_LEVEL, f"第{m.group(1)}条").blocks.append(block)
        else:
            walker.append(block)


def paragraph_numbering(blocks: list[str]) -> tuple[re.Pattern[str], int]:
    """How a document numbers its paragraphs: ``N.`` or ``N)``, whichever more paragraphs start with (a list in
    the other style inside a paragraph then stays in it), and how many paragraphs start so."""
    dots = sum(bool(P_NUMBERED.match(b)) for b in blocks)
    parens = sum(bool(P_NUMBERED_PAREN.match(b)) for b in blocks)
    return (P_NUMBERED_PAREN, parens) if parens > dots else (P_NUMBERED, dots)


def _walk_numbered_paras(blocks: list[str], walker: _Walker) -> None:
    numbered, _ = paragraph_numbering(blocks)
    last = 0  # paragraph numbers only go up: a list that starts again at 1 inside a paragraph stays in it
    in_preamble = False
    annex_heading = ""  # the annex heading block, until it opens the annex's first unit
    in_annex = False
    for block in blocks:
        heading = _heading(block)
        if heading:
            level, text = heading
            if level > 1:
                walker.on_heading(level, text)
                walker.push_heading(level, text)
                in_preamble = bool(H_PREAMBLE.match(text))
                in_annex = bool(H_ANNEX_PART.search(text))
                annex_heading = block if in_annex else ""
                if in_preamble:
                    walker.open(PARAGRAPH_LEVEL, "preamble").blocks.append(block)
            continue
        if FOOTNOTE_DEF.match(block):
            if not (walker.stack and walker.stack[-1].unit.label == "Footnotes"):
                walker.open(PARAGRAPH_LEVEL, "Footnotes")
            walker.append(block)
        elif in_annex and (m := P_ANNEX_NUMBERED.match(block)):
            unit = walker.open(PARAGRAPH_LEVEL, f"Annex {m.group(1)}")
            if annex_heading:
                unit.blocks.append(annex_heading)
                annex_heading = ""
            unit.blocks.append(block)
        elif not in_preamble and not in_annex and (m := numbered.match(block)) and int(m.group(1)) > last:
            last = int(m.group(1))
            walker.open(PARAGRAPH_LEVEL, f"para {m.group(1)}").blocks.append(block)
        else:
            walker.append(block)


def _walk_paragraphs(blocks: list[str], entry: CatalogEntry | None, walker: _Walker) -> None:
    named = entry.paragraph_units if entry else {}
    paras = items = 0
    for block in blocks:
        heading = _heading(block)
        if heading:
            if heading[0] > 1:
                walker.on_heading(*heading)
                walker.push_heading(*heading)
            continue
        current = walker.stack[-1].unit.label if walker.stack else ""
        if label := next((name for start, name in named.items() if block.startswith(start)), ""):
            walker.open(PARAGRAPH_LEVEL, label).blocks.append(block)  # the list of signatories, a closing note
        elif current and (current in named.values() or P_BULLET.match(block)):
            walker.append(block)  # text after a named paragraph, or a list after its lead-in, stays with it
        elif P_DASH_ITEM.match(block):
            items += 1
            walker.open(PARAGRAPH_LEVEL, f"item {items}").blocks.append(block)
        else:
            paras += 1
            walker.open(PARAGRAPH_LEVEL, f"para {paras}").blocks.append(block)


def _walk_cn_plan(blocks: list[str], entry: CatalogEntry | None, walker: _Walker) -> None:
    heading_units = entry.heading_units if entry else {}
    for block in blocks:
        heading = _heading(block)
        if heading:
            level, text = heading
            if level == 1:
                continue
            walker.on_heading(level, text)
            label = heading_units.get(text, "")
            if not label and (m := PLAN_PART.match(text)):
                label = m.group(1)
            elif not label and (m := PLAN_SUBPART.match(text)):
                parent = next(
                    (o.unit.label for o in reversed(walker.stack) if PLAN_PART.match(o.unit.label + "、")), ""
                )
                label = f"{parent}（{m.group(1)}）"
            if label:
                walker.open(level, label).blocks.append(block)
            else:
                walker.append(block)
            walker.push_heading(level, text)
            continue
        if m := PLAN_BOX.match(block):
            walker.open(PARAGRAPH_LEVEL, re.sub(r"\s+", "", m.group(1))).blocks.append(block)
        elif (m := PLAN_POINT.match(block)) and walker.parent_label():
            walker.open(PARAGRAPH_LEVEL, f"{walker.parent_label()}{m.group(1)}").blocks.append(block)
        else:
            walker.append(block)


def detect_scheme(doc: SourceDocument, blocks: list[str]) -> str:
    paragraphs = [b for b in blocks if not b.startswith("#")]
    if sum(bool(CN_ARTICLE.match(b)) for b in paragraphs) >= 2:
        return "cn-articles"
    headings = [h for b in blocks if (h := _heading(b)) and h[0] > 1]
    unit_headings = sum(heading_unit_label(t, "")[0] == "unit" for _, t in headings)
    if unit_headings >= 2:
        return "headings"
    if looks_numbered(doc.body):
        return "numbered-provisions"
    if paragraph_numbering(paragraphs)[1] >= 3:
        return "numbered-paras"
    return "paragraphs"


def split_units(doc: SourceDocument, entry: CatalogEntry | None = None) -> list[Unit]:
    """Split a document into its citable units, in document order."""
    blocks = blocks_of(doc.body)
    scheme = doc.scheme or (entry.scheme if entry else "") or detect_scheme(doc, blocks)
    walker = _Walker(preamble_label=(entry.preamble_label if entry and entry.preamble_label else "preamble"))
    if scheme == "numbered-provisions":
        return [u for u in split_provisions(doc.body, walker.preamble_label) if u.blocks]
    if scheme == "cn-articles":
        _walk_cn_articles(blocks, walker)
    elif scheme == "numbered-paras":
        _walk_numbered_paras(blocks, walker)
    elif scheme == "paragraphs":
        _walk_paragraphs(blocks, entry, walker)
    elif scheme == "cn-plan":
        _walk_cn_plan(blocks, entry, walker)
    else:
        _walk_headings(blocks, entry, walker)
    return [u for u in walker.units if u.blocks]


# ---------------------------------------------------------------------------------------------------------
# Units -> chunks

_SENTENCE_END = re.compile(r"(?<=[。；！？;!?])|(?<=[.:;]\s)")


def _split_long_block(block: str, limit: int) -> list[str]:
    """Split one over-long paragraph at sentence ends (never mid-sentence unless a sentence is too long)."""
    sentences = [s for s in _SENTENCE_END.split(block) if s]
    pieces, current = [], ""
    for sentence in sentences:
        while len(sentence) > limit:  # a single huge sentence: hard cut
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:limit])
            sentence = sentence[limit:]
        if current and len(current) + len(sentence) > limit:
            pieces.append(current)
            current = ""
        current += sentence
    if current:
        pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


_LEAD_IN = re.compile(r"[:：]\s*$")  # "… must ensure that:" / "……下列义务："
_LIST_ITEM = re.compile(
    r"^(?:[(（](?:[a-z]{1,2}|[ivx]{1,5}|\d{1,2}|[一二三四五六七八九十]{1,3})[)）]"  # (a) (iv) (1) （一）
    r"|(?:[a-z]{1,2}|[ivx]{1,5}|\d{1,2})(?:[).](?=\s)|）)"  # a. a) iv. 1. 1）
    r"|[•·▪◦\-–—*](?=\s))"  # bullets
)


def _list_spans(blocks: list[str]) -> dict[int, int]:
    """Where a lead-in ending in a colon starts a list: its index -> the index after its last item."""
    spans = {}
    for i, block in enumerate(blocks):
        if _LEAD_IN.search(block):
            end = i + 1
            while end < len(blocks) and _LIST_ITEM.match(blocks[end]):
                end += 1
            if end > i + 1:
                spans[i] = end
    return spans


def _pack(blocks: list[str], limit: int) -> list[list[str]]:
    """Greedy packing of a unit's blocks into pieces of at most ``limit`` characters. When that would cut a
    lead-in from its list (``… shall:`` then ``(a)``, ``(b)`` …) and the two fit in one piece together, the
    packing starts a new piece at such lead-ins instead."""
    expanded: list[str] = []
    for block in blocks:
        expanded.extend(_split_long_block(block, limit) if len(block) > limit else [block])
    pieces = _greedy(expanded, limit, {})
    lists = {start: end for start, end in _list_spans(expanded).items() if _joined_len(expanded[start:end]) <= limit}
    if lists and _cuts_a_list(pieces, lists):
        pieces = _greedy(expanded, limit, lists)
    return pieces


def _greedy(blocks: list[str], limit: int, lists: dict[int, int]) -> list[list[str]]:
    """Blocks in order into pieces of at most ``limit`` characters; a lead-in of ``lists`` opens a new piece when
    its list does not fit in the current one. A tiny tail piece is folded into its predecessor when that stays
    reasonable."""
    pieces: list[list[str]] = []
    size = 0
    for i, block in enumerate(blocks):
        needed = _joined_len(blocks[i : lists[i]]) if i in lists else len(block)
        if pieces and size + needed + 2 <= limit:
            pieces[-1].append(block)
            size += len(block) + 2
        else:
            pieces.append([block])
            size = len(block)
    if (
        len(pieces) > 1
        and sum(map(len, pieces[-1])) < limit // 4
        and sum(map(len, pieces[-2])) + sum(map(len, pieces[-1])) <= limit * 1.3
    ):
        pieces[-2].extend(pieces.pop())
    return pieces


def _joined_len(blocks: list[str]) -> int:
    """The length of blocks joined into a piece (by blank lines)."""
    return sum(map(len, blocks)) + 2 * (len(blocks) - 1)


def _cuts_a_list(pieces: list[list[str]], lists: dict[int, int]) -> bool:
    """Whether a piece boundary falls between a lead-in of ``lists`` and its last item."""
    boundaries, at = set(), 0
    for piece in pieces[:-1]:
        at += len(piece)
        boundaries.add(at)
    return any(start < b < end for start, end in lists.items() for b in boundaries)


_EN_PARAGRAPH = re.compile(r"^(\d+)\.\s")
_EN_POINT = re.compile(r"^\((\d+|[a-z]{1,4}|[ivx]+)\)\s")


def _locators(unit: Unit, pieces: list[list[str]], language: str) -> list[str]:
    """A locator per piece: the unit label plus the paragraph/point where the piece starts."""
    if len(pieces) == 1:
        return [unit.label]
    is_cn_article = bool(re.fullmatch(rf"第[{CN_DIGITS}]+条", unit.label))
    locators = []
    paragraph = ""  # English: the numbered paragraph the text is in
    point = ""  # English: the numbered point "(45)" the text is in, when "(N)" is the top point level
    numbered_points: bool | None = None  # whether the first point of the paragraph is "(N)" (not "(a)")
    kuan = 0  # Chinese: the 款 (non-item paragraph) the text is in
    for piece in pieces:
        first = piece[0]
        if language == "zh":
            item = CN_ITEM.match(first)
            k = kuan if item else kuan + 1
            locator = unit.label
            if is_cn_article and k > 1:
                locator += f"第{int_to_cn(k)}款"
            if item:
                locator += f"（{item.group(1)}）"
        elif m := _EN_PARAGRAPH.match(first):
            locator = f"{unit.label}({m.group(1)})"
        elif m := _EN_POINT.match(first):
            parents = [paragraph, "" if m.group(1).isdigit() else point]
            locator = unit.label + "".join(f"({p})" for p in [*parents, m.group(1)] if p)
        else:
            locator = unit.label
        locators.append(locator)
        for block in piece:
            if language == "zh":
                kuan += 0 if CN_ITEM.match(block) else 1
            elif m := _EN_PARAGRAPH.match(block):
                paragraph, point, numbered_points = m.group(1), "", None
            elif m := _EN_POINT.match(block):
                if numbered_points is None:
                    numbered_points = m.group(1).isdigit()
                if numbered_points and m.group(1).isdigit():
                    point = m.group(1)
    return locators


def chunk_document(
    doc: SourceDocument,
    entry: CatalogEntry | None = None,
    *,
    max_chars_zh: int = 600,
    max_chars_en: int = 1200,
) -> list[Chunk]:
    """Split a document into clause chunks (never spanning two units), each with its roles."""
    units = split_units(doc, entry)
    limit = max_chars_zh if doc.language == "zh" else max_chars_en
    titles = doc.title if not doc.title_en or doc.title_en == doc.title else f"{doc.title} ({doc.title_en})"
    chunks: list[Chunk] = []
    for unit_index, unit in enumerate(units):
        pieces = _pack(unit.blocks, limit)
        locators = _locators(unit, pieces, doc.language)
        path = " > ".join([*unit.path, unit.label])
        for part, (piece, locator) in enumerate(zip(pieces, locators)):
            text = "\n\n".join(piece)
            header = " > ".join([*unit.path, locator])
            chunks.append(
                Chunk(
                    doc_id=doc.doc_id,
                    unit=unit.label,
                    locator=locator,
                    path=path,
                    text=text,
                    embed_text=f"{titles}\n{header}\n{text}",
                    chunk_index=len(chunks),
                    unit_index=unit_index,
                    part=part,
                    parts=len(pieces),
                )
            )
    return [replace(chunk, roles=roles) for chunk, roles in zip(chunks, chunk_roles(chunks))]
