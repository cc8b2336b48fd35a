"""Query analysis: what a question names (documents, clauses, jurisdictions, versions) and how to search it.

Pure functions over the catalog and the indexed documents; no model, no index access.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from common.documents import NO_LONGER_IN_FORCE as _OLD_STATUSES
from common.language import detect_language as question_language
from common.numerals import cn_to_int, int_to_cn

_RESOURCES = Path(__file__).with_name("resources")
_CJK = re.compile(r"[\u3400-\u9fff]")
CN_NUMERALS = "零〇一二三四五六七八九十百两"


# ---------------------------------------------------------------------------------------------------------
# Resources


@lru_cache(maxsize=1)
def glossary() -> list[tuple[str, list[str], bool]]:
    """(term, expansions, two_way) entries of resources/glossary.tsv."""
    entries = []
    two_way = True
    for line in (_RESOURCES / "glossary.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#!"):
            two_way = line[2:].strip() != "one-way"
            continue
        if not line.strip() or line.startswith("#") or "\t" not in line:
            continue
        en, zh = line.split("\t", 1)
        entries.append((en.strip().lower(), [z.strip() for z in zh.split("|") if z.strip()], two_way))
    return entries


@lru_cache(maxsize=1)
def jurisdiction_names() -> list[tuple[str, str]]:
    """(name, code) pairs, longest names first."""
    out = []
    for line in (_RESOURCES / "jurisdictions.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or "\t" not in line:
            continue
        code, names = line.split("\t", 1)
        out += [(n.strip(), code.strip()) for n in names.split("|") if n.strip()]
    return sorted(out, key=lambda p: -len(p[0]))


@lru_cache(maxsize=8192)
def _name_pattern(name: str) -> re.Pattern:
    """A compiled pattern for a (lower-case) name: plain substring for Chinese, whole words for the rest."""
    if _CJK.search(name):
        return re.compile(re.escape(name))
    return re.compile(r"(?<![a-z0-9])" + re.escape(name) + r"(?![a-z0-9])")


def _find(name: str, text_lower: str) -> re.Match | None:
    return _name_pattern(name).search(text_lower)


def _stemmed(text: str) -> str:
    """English words stemmed and single-spaced (" labelled deep fakes " -> " label deep fake "), for matching."""
    from ingest.keyword_index import _stem

    return " " + " ".join(_stem(w) for w in re.findall(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", text.lower())) + " "


def expand_terms(text: str) -> list[str]:
    """Glossary translations of the question's regulatory terms (EN->ZH and ZH->EN); English terms match
    whatever their inflection (labelled, labels, labelling -> label)."""
    lower = text.lower()
    stemmed = _stemmed(lower)
    out: list[str] = []
    for en, zhs, two_way in glossary():
        if _CJK.search(en):
            hit = _find(en, lower)
        else:
            hit = _stemmed(en) in stemmed
        if hit:
            out += zhs
        elif two_way and any(_CJK.search(z) and z in text for z in zhs):  # ZH->EN (English right sides one-way)
            out.append(en)
    seen = set()
    return [t for t in out if not (t in seen or seen.add(t))]


# ---------------------------------------------------------------------------------------------------------
# Documents


@dataclass(frozen=True)
class DocInfo:
    doc_id: str
    title: str
    title_en: str = ""
    aliases: tuple[str, ...] = ()
    jurisdiction: str = ""
    language: str = ""
    status: str = ""
    issued: str = ""
    text_year: int = 0  # year of the newest version the indexed text includes
    units: frozenset[str] = frozenset()  # unit labels present in the index




class DocResolver:
    """Resolves document names (full titles, short names, aliases) in free text to doc_ids."""

    def __init__(self, docs: list[DocInfo]):
        self.docs = {d.doc_id: d for d in docs}
        names: list[tuple[str, str]] = []
        for d in docs:
            for name in {d.title, d.title_en, d.doc_id, *d.aliases}:
                name = (name or "").strip()
                if len(name) >= 2:
                    names.append((name.lower(), d.doc_id))
                    bare = re.sub(r"^中华人民共和国", "", name)
                    if bare != name and len(bare) >= 3:
                        names.append((bare.lower(), d.doc_id))
        # A name shared by several versions (网络安全法 2016 and 2025) resolves to the one in force.
        by_name: dict[str, str] = {}
        for name, doc_id in sorted(set(names)):
            current = by_name.get(name)
            if current is None or (self.docs[current].status in _OLD_STATUSES
                                   and self.docs[doc_id].status not in _OLD_STATUSES):
                by_name[name] = doc_id
        self._names = sorted(by_name.items(), key=lambda p: -len(p[0]))
        self._same_title: dict[str, list[str]] = {}
        for d in docs:
            self._same_title.setdefault(d.title, []).append(d.doc_id)

    def old_version_of(self, doc_id: str) -> str:
        """The revoked/superseded document that shares this one's title (网络安全法 2016 for 2025), or itself."""
        info = self.docs.get(doc_id)
        if info is None or info.status in _OLD_STATUSES:
            return doc_id
        for other in self._same_title.get(info.title, []):
            if other != doc_id and self.docs[other].status in _OLD_STATUSES:
                return other
        return doc_id

    def find(self, text: str) -> list[tuple[str, str]]:
        """(doc_id, matched name) in order of appearance; longer names win over names inside them."""
        lower = text.lower()
        taken = [False] * len(lower)
        hits: list[tuple[int, str, str]] = []
        for name, doc_id in self._names:
            for m in (_finditer(name, lower)):
                if any(taken[m.start():m.end()]):
                    continue
                for i in range(m.start(), m.end()):
                    taken[i] = True
                hits.append((m.start(), doc_id, text[m.start():m.end()]))
        hits.sort()
        seen, out = set(), []
        for _, doc_id, name in hits:
            if doc_id not in seen:
                seen.add(doc_id)
                out.append((doc_id, name))
        return out

    def without_names(self, text: str) -> str:
        """``text`` with every document name blanked out (what is left is the question's topic)."""
        lower = text.lower()
        keep = list(text)
        for name, _ in self._names:
            for m in _finditer(name, lower):
                for i in range(m.start(), m.end()):
                    keep[i] = " "
        return "".join(keep)

    def names_part_of_a_title(self, name: str) -> bool:
        """Whether the last two words of an English name occur in one of our titles or aliases ("the Framework
        Convention", "the AI Convention", "the Framework Act" are ours, loosely named)."""
        words = re.findall(r"[a-z0-9]+", name.lower())[-2:]
        if len(words) < 2:
            return False
        tail = " ".join(words)
        return any(tail in " ".join(re.findall(r"[a-z0-9]+", n)) for n, _ in self._names if not _CJK.search(n))

    def resembles_a_title(self, name: str, threshold: float = 0.4) -> bool:
        """Whether ``name`` looks like one of our documents' names written loosely (网络数据条例 for
        网络数据安全管理条例): character-bigram overlap with any title or alias."""
        grams = _bigrams(name)
        return any(grams and len(grams & _bigrams(n)) / len(grams | _bigrams(n)) >= threshold
                   for n, _ in self._names if _CJK.search(n))

    def resolve_title(self, title: str) -> str | None:
        found = self.find(title)
        return found[0][0] if found else None


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"[^\u4e00-\u9fff]", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _finditer(name: str, lower: str):
    return _name_pattern(name).finditer(lower)


# ---------------------------------------------------------------------------------------------------------
# Clause references


@dataclass(frozen=True)
class ClauseRef:
    unit: str  # canonical unit label as the index stores it, e.g. 第十七条, Article 5, Recital 27
    raw: str  # the text that named it, e.g. "Article 5(1)(e)"
    kind: str  # cn-article, article, recital, annex, outcome, section, para, number, appendix
    point: str = ""  # paragraph/point asked for, e.g. "(1)(e)" of Article 5(1)(e)
    listed: bool = False  # one of a list or range ("Articles 111 to 115"): a number the text lacks is skipped


_REF_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("cn-article", re.compile(rf"第\s*([{CN_NUMERALS}]+|\d+)\s*条")),
    ("article", re.compile(r"\b(?:Article|Art\.?)\s*(\d+(?:-\d+)?)((?:\(\w+\))*)", re.I)),
    ("recital", re.compile(r"\bRecitals?\s*\(?(\d+)\)?", re.I)),
    ("annex", re.compile(r"\bAnnex\s+([IVXL]+)\b", re.I)),
    ("outcome", re.compile(r"\b(GOVERN|MAP|MEASURE|MANAGE)\s+(\d+(?:\.\d+)?)\b", re.I)),
    ("section", re.compile(r"\b(?:Section|Sec\.?)\s*(\d+(?:\.\d+)*)\b", re.I)),
    ("para", re.compile(r"\b(?:operative\s+)?(?:paragraph|para\.?)\s*(\d+)\b(?!\s+of\s+(?:the\s+)?Art)", re.I)),
    ("para", re.compile(r"第\s*(\d+|[" + CN_NUMERALS + r"]+)\s*段")),
    ("appendix", re.compile(r"\bAppendix\s+([A-D])\b", re.I)),
    ("number", re.compile(r"(?<![\d./])(\d+(?:\.\d+)+|[A-Z]\.\d+)(?![\d/])\s*(?:条|节|款|clause)?")),
]


# "Articles 9, 10 and 15", "paragraphs 5 to 9", "Recitals 27 and 28": one reference per number
_REF_LIST = re.compile(r"\b(Articles|Arts\.?|paragraphs|paras\.?|Recitals)\s+"
                       r"(\d+(?:\s*(?:,|and|&|to|-|–)\s*\d+)+)(?!\s+of\s+(?:the\s+)?Art)", re.I)
_LIST_KIND = {"art": ("article", "Article {}"), "par": ("para", "para {}"), "rec": ("recital", "Recital {}")}
MAX_LISTED_REFS = 20


def _listed_refs(text: str) -> tuple[list[ClauseRef], list[tuple[int, int]]]:
    refs, spans = [], []
    for m in _REF_LIST.finditer(text):
        kind, label = _LIST_KIND[m.group(1)[:3].lower()]
        numbers: list[int] = []
        for part in re.finditer(r"(\d+)(?:\s*(?:to|-|–)\s*(\d+))?", m.group(2)):
            low = int(part.group(1))
            high = int(part.group(2)) if part.group(2) else low
            numbers += range(low, min(high, low + MAX_LISTED_REFS) + 1)
        for n in list(dict.fromkeys(numbers))[:MAX_LISTED_REFS]:
            raw = label.format(n).replace("para ", "paragraph ")
            refs.append(ClauseRef(unit=label.format(n), raw=raw, kind=kind, listed=True))
        spans.append((m.start(), m.end()))
    return refs, spans


def parse_clause_refs(text: str) -> list[ClauseRef]:
    refs, taken = _listed_refs(text)
    for kind, pattern in _REF_PATTERNS:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            unit = None
            point = ""
            if kind == "cn-article":
                raw = m.group(1)
                unit = f"第{int_to_cn(int(raw)) if raw.isdigit() else raw}条"
            elif kind == "article":
                unit = f"Article {m.group(1)}"
                point = m.group(2) or ""
            elif kind == "recital":
                unit = f"Recital {m.group(1)}"
            elif kind == "annex":
                unit = f"Annex {m.group(1).upper()}"
            elif kind == "outcome":
                unit = f"{m.group(1).upper()} {m.group(2)}"
            elif kind == "section":
                unit = f"Sec. {m.group(1)}"
            elif kind == "para":
                raw = m.group(1)
                unit = f"para {raw if raw.isdigit() else cn_to_int(raw)}"
            elif kind == "appendix":
                unit = f"Appendix {m.group(1).upper()}"
            elif kind == "number":
                if re.fullmatch(r"(19|20)\d\d\.\d+", m.group(1)) or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", m.group(1)):
                    continue  # dates, versions
                unit = m.group(1)
            if unit:
                taken.append((m.start(), m.end()))
                refs.append(ClauseRef(unit=unit, raw=m.group(0).strip(), kind=kind, point=point))
    return refs


# ---------------------------------------------------------------------------------------------------------
# The analysis


_OLD_VERSION = re.compile(r"2016年?(版|原文|文本)?的?|原文|修订前|修改前|旧版|老版|original (text|version)|"
                          r"old(er)? version|before the (2025 )?amendment|as (originally )?enacted in 2016", re.I)
_CURRENT_VERSION = re.compile(r"现行|修订后|修正后|最新|current|amended|in force", re.I)
_UNKNOWN_STANDARD = re.compile(r"\b(GB/T|GB|ISO/IEC|ISO|IEEE)\s*\d+(?:[.\-]\d+)*", re.I)
_BOOK_TITLE = re.compile(r"《([^》]{2,60})》")
# Between a foreign jurisdiction and a name it qualifies ("新加坡的生成式AI治理框架", "Singapore's AI Act"): a
# possessive and generic AI words only — "日本企业在欧盟AI法案下", "a Japanese company under the AI Act" keep ours.
_QUALIFIER_GAP = re.compile(r"\s*(?:的|['’]s)?\s*(?:(?:ai|人工智能|生成式|generative|national|国家|新|own)\s*){0,3}")
# Well-known instruments outside the corpus, by the names people use for them.
_OTHER_INSTRUMENT = re.compile(
    r"\b(GDPR|CCPA|CPRA|HIPAA|COPPA|BIPA|PIPEDA|LGPD|NIS ?2|DORA|Digital Services Act|Digital Markets Act|"
    r"General Data Protection Regulation)\b|通用数据保护条例|数字服务法|数字市场法")
# A capitalised name ending in an instrument word ("Bletchley Declaration", "Colorado AI Act"); only consulted
# when the question names no corpus document, so "the OECD Recommendation" or "AI Act" never reach it.
_INSTRUMENT_NAME = re.compile(
    r"\b(?!(?:Which|What|Whose|How|Does|Do|Is|Are|Under|The|This|That|Our|Its|Their)\b)"
    r"(?:[A-Z][\w.-]*\s+){1,5}(?:Declaration|Act|Directive|Convention|Treaty|Accord|Decree|"
    r"Code of (?:Practice|Conduct))\b")
# A Chinese instrument title without 《》 ("科技伦理审查办法（试行）里…"): at the start of the question or after
# punctuation or 按照/根据/依据, ending in a title word (管理办法, 暂行规定, 条例, …（试行）).
_CN_INSTRUMENT_NAME = re.compile(
    r"(?:^|[，,。；;：:、\s]|按照|根据|依据|参照)([\u4e00-\u9fff]{4,20}?(?:管理办法|审查办法|暂行办法|实施办法|"
    r"管理规定|暂行规定|条例|办法（试行）|规定（试行）|办法\(试行\)))")
_OWN_RULES = re.compile(r"公司|企业|内部|我们|我司|本单位|单位|自己|的")
_CN_LEAD_IN = re.compile(r"按照|根据|依据|参照|遵守|适用|关于|对于|执行|落实")
_FOLLOW_UP_HINT = re.compile(
    r"^(那|那么|这|这个|这些|该|其|它|他们|如果|要是|除了|还|另外|同时|and\b|so\b|what about|how about|anything|"
    r"also|then\b|but\b|if\b|does it|do they|is it|are they|what if|in that case)", re.I)


@dataclass
class QueryAnalysis:
    question: str  # as asked
    search_text: str  # standalone text used for search (question + carried-over context)
    language: str
    topic_text: str = ""  # search_text without document names (they route; as words they match every clause)
    doc_ids: list[str] = field(default_factory=list)  # documents named (or carried over from history)
    named_in_question: list[str] = field(default_factory=list)  # documents named in this question itself
    clause_refs: list[ClauseRef] = field(default_factory=list)
    jurisdictions: list[str] = field(default_factory=list)  # indexed jurisdictions named
    foreign_jurisdictions: list[str] = field(default_factory=list)  # named, but no document covers them
    unknown_titles: list[str] = field(default_factory=list)  # 《…》 titles / standard numbers not in corpus
    # capitalised instrument names ("the Bletchley Declaration") not ours by name: unknown unless a text cites them
    unknown_if_unmentioned: list[str] = field(default_factory=list)
    wants_old_version: bool = False
    wants_current_version: bool = False
    expansions: list[str] = field(default_factory=list)
    is_follow_up: bool = False


# The lines of our own answers that name the documents they answer from (the lead before them quotes clauses,
# which may cite other texts: 按照《互联网信息服务深度合成管理规定》…).
_ANSWER_FRAMING_LINES = ("根据", "The governing provisions", "**", "对比", "Comparison of")


def _answered_from(content: str, resolver: "DocResolver") -> list[str]:
    """The documents an earlier answer was given from: those named in its framing lines, else any it names."""
    framing = "\n".join(line for line in content.splitlines() if line.startswith(_ANSWER_FRAMING_LINES))
    found = [d for d, _ in resolver.find(framing)] if framing else []
    return found or [d for d, _ in resolver.find(content)]


def _topic(text: str) -> str:
    return re.sub(r"[《》]|\s{2,}", " ", text).strip()


def analyse(question: str, resolver: DocResolver, history: list[dict] | None = None,
            indexed_jurisdictions: set[str] | None = None) -> QueryAnalysis:
    question = question.strip()
    indexed_jurisdictions = indexed_jurisdictions or {d.jurisdiction for d in resolver.docs.values()}
    previous_user = [h.get("content", "") for h in (history or []) if h.get("role") == "user"]
    named = [doc_id for doc_id, _ in resolver.find(question)]
    refs = parse_clause_refs(question)

    is_follow_up = bool(previous_user) and (
        not named or bool(_FOLLOW_UP_HINT.search(question)) or len(question) < 25)
    search_text = question
    doc_ids = list(named)
    if is_follow_up:
        last = previous_user[-1]
        search_text = f"{question}\n{last}"
        if not named:
            doc_ids = [doc_id for doc_id, _ in resolver.find(last)]
            for turn in reversed(history or []):  # an assistant answer naming one document
                if doc_ids:
                    break
                if turn.get("role") == "assistant":
                    doc_ids = _answered_from(turn.get("content", ""), resolver)[:1]

    lower = question.lower()
    jurisdictions, foreign = [], []
    foreign_ends: list[int] = []
    taken = [False] * len(lower)
    for name, code in jurisdiction_names():
        for m in _finditer(name, lower):
            if any(taken[m.start():m.end()]):
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            if code in indexed_jurisdictions:
                target = jurisdictions
            elif "" in indexed_jurisdictions:
                continue  # a document of unknown jurisdiction may well be from there: no proof it is absent
            else:
                target = foreign
            if code not in target:
                target.append(code)
            if target is foreign:
                foreign_ends.append(m.end())
    if foreign_ends and named:  # "新加坡的生成式AI治理框架", "Singapore's AI governance framework": a foreign
        qualified = set()  # jurisdiction's own instrument, whose name happens to contain names of ours
        for doc_id, name in resolver.find(question):  # in order of appearance
            starts = [m.start() for m in _finditer(name.lower(), lower)] or [lower.find(name.lower())]
            if all(any(0 <= start - end <= 30 and _QUALIFIER_GAP.fullmatch(lower[end:start]) for end in foreign_ends)
                   for start in starts):  # every mention is the foreign one ("Colorado's AI Act … the AI Act": ours)
                qualified.add(doc_id)
                foreign_ends += [start + len(name) for start in starts]  # 新加坡的 生成式AI 治理框架: next one too
        named = [d for d in named if d not in qualified]
        doc_ids = [d for d in doc_ids if d not in qualified]

    unknown, loose = [], []
    for m in _BOOK_TITLE.finditer(question):
        if not resolver.resolve_title(m.group(1)):
            unknown.append(m.group(1))
    for m in _UNKNOWN_STANDARD.finditer(question):
        if not resolver.find(m.group(0)):
            unknown.append(m.group(0))
    if not named:  # an instrument named in words (GDPR, the Bletchley Declaration) that the corpus does not hold
        for m in _OTHER_INSTRUMENT.finditer(question):
            if m.group(0) not in unknown:
                unknown.append(m.group(0))
        for m in _INSTRUMENT_NAME.finditer(question):
            name = m.group(0).strip()
            if not resolver.find(name) and not resolver.names_part_of_a_title(name) and name not in loose:
                loose.append(name)
        for m in _CN_INSTRUMENT_NAME.finditer(_BOOK_TITLE.sub("，", question)):  # a full title without 《》
            name = _CN_LEAD_IN.split(m.group(1))[-1]
            if _OWN_RULES.search(name):
                continue  # 公司数据分类分级管理办法: a company's own rules, not a regulation
            if len(name) >= 6 and not resolver.find(name) and not resolver.resembles_a_title(name) and name not in unknown:
                unknown.append(name)

    wants_old = bool(_OLD_VERSION.search(question))
    if wants_old:  # "2016年原文的网络安全法": the name resolves to the text in force; switch to the old one
        named = [resolver.old_version_of(d) for d in named]
        doc_ids = [resolver.old_version_of(d) for d in doc_ids]

    return QueryAnalysis(
        question=question,
        search_text=search_text,
        topic_text=_topic(resolver.without_names(search_text)) if doc_ids else search_text,
        language=question_language(question),
        doc_ids=doc_ids,
        named_in_question=named,
        clause_refs=refs,
        jurisdictions=jurisdictions,
        foreign_jurisdictions=foreign,
        unknown_titles=unknown,
        unknown_if_unmentioned=loose,
        wants_old_version=wants_old,
        wants_current_version=bool(_CURRENT_VERSION.search(question)),
        expansions=expand_terms(search_text),
        is_follow_up=is_follow_up,
    )
