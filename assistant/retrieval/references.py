"""Clause references in a question (第十七条, Art. 5(1)(e), Annex III, Recital 27, MEASURE 2.11, 9.4 条,
paragraph 7, "Articles 111 to 115"; 附件十五, 附录B and 第7部分, only checked for existence) and the Chinese numerals they are
written in. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.retrieval.policy import default_policy
from common.numerals import cn_to_int, int_to_cn, to_roman

CN_NUMERALS = "零〇一二三四五六七八九十百两"


@dataclass(frozen=True)
class ClauseRef:
    unit: str  # canonical unit label as the index stores it, e.g. 第十七条, Article 5, Recital 27
    raw: str  # the text that named it, e.g. "Article 5(1)(e)"
    kind: str  # cn-article, article, recital, annex, outcome, section, para, number, appendix, part
    point: str = ""  # paragraph/point asked for, e.g. "(1)(e)" of Article 5(1)(e)
    listed: bool = False  # one of a list or range ("Articles 111 to 115"): a number the text lacks is skipped
    lookup: bool = True  # False: only checked for existence (附件十五 of the AI Act), not fetched and ranked first


# The grammar of clause labels (the label table of shared/eval/README.md), not tunable.
_REF_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("cn-article", re.compile(rf"第\s*([{CN_NUMERALS}]+|\d+)\s*条")),
    # "Article 17-2" (Korea), "Article 86a" (an inserted article: a text without it does not have it)
    ("article", re.compile(r"\b(?:Article|Art\.?)\s*(\d+(?:-\d+)?(?:[a-z](?![a-z]))?)((?:\(\w+\))*)", re.I)),
    ("recital", re.compile(r"\bRecitals?\s*\(?(\d+)\)?", re.I)),
    ("annex", re.compile(r"\bAnnex\s+([IVXL]+)\b", re.I)),
    ("cn-annex", re.compile(rf"附件\s*([{CN_NUMERALS}]+|\d+)(?![\d{CN_NUMERALS}]*[条款项])")),
    ("outcome", re.compile(r"\b(GOVERN|MAP|MEASURE|MANAGE)\s+(\d+(?:\.\d+)?)\b", re.I)),
    ("section", re.compile(r"\b(?:Section|Sec\.?)\s*(\d+(?:\.\d+)*)\b", re.I)),
    ("para", re.compile(r"\b(?:operative\s+)?(?:paragraph|para\.?)\s*(\d+)\b(?!\s+of\s+(?:the\s+)?Art)", re.I)),
    ("para", re.compile(r"第\s*(\d+|[" + CN_NUMERALS + r"]+)\s*段")),
    ("appendix", re.compile(r"\bAppendix\s+([A-D])\b", re.I)),
    ("appendix", re.compile(r"\bAnnex\s+([A-D])\b(?![.\d])")),  # a standard's lettered annex: its 附录B
    ("cn-appendix", re.compile(r"附录\s*([A-Z])(?![A-Za-z.\d])")),
    # 第7部分, 第十二章 of a text numbered 1, 1.1, 1.1.1: its top-level clause (of a law: a chapter, not a unit)
    ("cn-part", re.compile(rf"第\s*([{CN_NUMERALS}]+|\d+)\s*(?:部分|章)")),
    ("number", re.compile(r"(?<![\d./])(\d+(?:\.\d+)+|[A-Z]\.\d+)(?![\d/])\s*(?:条|节|款|clause)?")),
]
_DATE_OR_VERSION = re.compile(r"(19|20)\d\d\.\d+|\d+\.\d+\.\d+\.\d+")

# "Articles 9, 10 and 15", "paragraphs 5 to 9", "Recitals 27 and 28": one reference per number
_REF_LIST = re.compile(
    r"\b(Articles|Arts\.?|paragraphs|paras\.?|Recitals)\s+"
    r"(\d+(?:\s*(?:,|and|&|to|-|–)\s*\d+)+)(?!\s+of\s+(?:the\s+)?Art)",
    re.I,
)
_LIST_KIND = {"art": ("article", "Article {}"), "par": ("para", "para {}"), "rec": ("recital", "Recital {}")}


def _listed_refs(text: str, max_listed: int) -> tuple[list[ClauseRef], list[tuple[int, int]]]:
    refs, spans = [], []
    for m in _REF_LIST.finditer(text):
        kind, label = _LIST_KIND[m.group(1)[:3].lower()]
        numbers: list[int] = []
        for part in re.finditer(r"(\d+)(?:\s*(?:to|-|–)\s*(\d+))?", m.group(2)):
            low = int(part.group(1))
            high = int(part.group(2)) if part.group(2) else low
            numbers += range(low, min(high, low + max_listed) + 1)
        for n in list(dict.fromkeys(numbers))[:max_listed]:
            raw = label.format(n).replace("para ", "paragraph ")
            refs.append(ClauseRef(unit=label.format(n), raw=raw, kind=kind, listed=True))
        spans.append((m.start(), m.end()))
    return refs, spans


def cn_or_arabic(raw: str) -> int | None:
    """三 or 3: 3."""
    return int(raw) if raw.isdigit() else cn_to_int(raw)


def _unit_of(kind: str, m: re.Match) -> tuple[str | None, str]:
    """(canonical unit label, point) of one match of ``_REF_PATTERNS``; no label for a date or version."""
    if kind == "cn-article":
        raw = m.group(1)
        return f"第{int_to_cn(int(raw)) if raw.isdigit() else raw}条", ""
    if kind == "article":
        return f"Article {m.group(1)}", m.group(2) or ""
    if kind == "para":
        raw = m.group(1)
        return f"para {raw if raw.isdigit() else cn_to_int(raw)}", ""
    if kind == "number":
        return (None if _DATE_OR_VERSION.fullmatch(m.group(1)) else m.group(1)), ""
    labels = {"recital": "Recital {}", "annex": "Annex {}", "section": "Sec. {}", "appendix": "Appendix {}"}
    if kind == "cn-annex":  # 附件三, 附件3: Annex III (附件零: no reference)
        roman = to_roman(cn_or_arabic(m.group(1)) or 0)
        return (f"Annex {roman}" if roman else None), ""
    if kind == "cn-appendix":  # 附录B: Appendix B
        return f"Appendix {m.group(1)}", ""
    if kind == "cn-part":  # 第7部分: 7
        number = cn_or_arabic(m.group(1))
        return (str(number) if number else None), ""
    if kind == "outcome":
        return f"{m.group(1).upper()} {m.group(2)}", ""
    value = m.group(1).upper() if kind in ("annex", "appendix") else m.group(1)
    return labels[kind].format(value), ""


def unit_labels(ref: ClauseRef) -> list[str]:
    """The labels a reference may be stored under (Article 17 of a Chinese text is its 第十七条, 第5条 of an English
    text its Article 5; Section 22757.13 of a code its 22757.13 or § 22757.13)."""
    labels = [ref.unit]
    article = re.fullmatch(r"Article (\d+)", ref.unit)
    if article:
        labels.append(f"第{int_to_cn(int(article.group(1)))}条")
    cn_article = re.fullmatch(r"第(.+)条", ref.unit)
    article_number = cn_to_int(cn_article.group(1)) if cn_article else None
    if article_number:
        labels.append(f"Article {article_number}")
    if ref.kind == "section":
        labels.append("Section " + ref.unit.split(" ", 1)[1])
    if ref.kind in ("section", "number"):  # a rulebook's 1.2.1, a code's 22757.13, a CFR part's § 1002.4
        number = ref.unit.split(" ", 1)[-1]
        labels += [number, f"§ {number}"]
    return list(dict.fromkeys(labels))


def parse_clause_refs(text: str, max_listed: int | None = None) -> list[ClauseRef]:
    """The clause references in ``text``; a list or range yields at most ``max_listed`` references (default: the
    policy's ``analysis.max_listed_refs``)."""
    if max_listed is None:
        max_listed = default_policy().analysis.max_listed_refs
    refs, taken = _listed_refs(text, max_listed)
    for kind, pattern in _REF_PATTERNS:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            unit, point = _unit_of(kind, m)
            if unit:
                taken.append((m.start(), m.end()))
                chinese = kind.startswith("cn-") and kind != "cn-article"
                refs.append(
                    ClauseRef(
                        unit=unit,
                        raw=m.group(0).strip(),
                        kind=kind.removeprefix("cn-") if chinese else kind,
                        point=point,
                        lookup=not chinese,
                    )
                )
    return refs


# ---- references inside clause text (the grammar of legal drafting, not tunable)
_CN = "[一二三四五六七八九十百零]+"
_CN_ITEM = rf"第{_CN}条(?:第{_CN}款)?"
_CN_LIST = re.compile(rf"{_CN_ITEM}(?:[、和及至或](?:{_CN_ITEM}|第{_CN}款))*")
_CN_PART = re.compile(rf"([、和及至或]?)(?:第({_CN})条(?:第({_CN})款)?|第({_CN})款)")
_EN_LIST = re.compile(r"\b(?:Articles?|Sections?|Sec\.)\s+\d+[\w().-]*(?:(?:,\s*|,?\s+(?:and|or|to)\s+)\d+[\w().-]*)*")
_EN_PART = re.compile(r"(\bto\s+)?(?<![\w(.])(\d+(?:[.-]\d+)*)(?:\((\d+)\))?")

Cited = dict[str, set[str]]  # unit -> the paragraphs cited ("" for the whole unit)


def units_cited(text: str, english_kind: str = "Article") -> Cited:
    """The units of its own document a clause refers to by number, each with the paragraphs cited:
    第二十四条第一款、第二款 -> {第二十四条: {一}}, 第四十三条至第四十五条 -> 第四十三条, 第四十四条, 第四十五条 (whole),
    "Articles 16, 22 and 26(1)" -> Article 16, Article 22 (whole), Article 26 ({1}) (references to other
    documents included: the caller keeps the ones its document has)."""
    out: Cited = {}

    def add(unit: str, paragraph: str | None) -> None:
        out.setdefault(unit, set()).add(paragraph or "")

    for m in _CN_LIST.finditer(text):
        previous, unit = 0, ""
        for joint, number, paragraph, more in _CN_PART.findall(m.group(0)):
            if more:  # 第二十四条第一款、第二款: another paragraph of the same unit
                add(unit, more)
                continue
            n = cn_to_int(number) or 0
            if joint == "至" and 0 < previous < n:
                for k in range(previous + 1, n):
                    add(f"第{int_to_cn(k)}条", None)
            unit = f"第{number}条"
            add(unit, paragraph)
            previous = n
    for m in _EN_LIST.finditer(text):
        kind = "Section" if m.group(0).lower().startswith("sec") else english_kind
        previous = 0
        for to, number, paragraph in _EN_PART.findall(m.group(0).split(None, 1)[1]):
            if to and number.isdigit() and previous and previous < int(number):
                for k in range(previous + 1, int(number)):
                    add(f"{kind} {k}", None)
            add(f"{kind} {number}", paragraph)
            previous = int(number) if number.isdigit() else 0
    return out
