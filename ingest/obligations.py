"""The obligation register: the normative sentences of every indexed text, with who must do what, under which
condition, and where the text says so.

Like the keyword index it is derived from the Chroma collection's rows (never written independently) and
stored under ``<index_dir>/obligations/<collection>`` with a fingerprint of those rows, the extractor version
and the rules file, so it is rebuilt whenever one of them changes. Each item: ``doc_id``, ``unit``, ``locator``
(第六条第二款, 第四条（三）, Article 26(5), Article 16(a)), ``actor`` (as the text names it), ``actor_norm`` (the
small vocabulary of ``resources/obligations.toml``), ``modality`` (obligation / prohibition / permission),
``condition`` (the where / if part), ``text`` (the verbatim sentence or list item) and ``context`` (the lead-in
sentence of a list item). Dates (``applies_from``) are added when the register is read
(``assistant.obligations``), so a change of the applicability rules needs no rebuild.

The rules — actor vocabularies, modality cue words, exclusions — live in ``resources/obligations.toml``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from common.numerals import int_to_cn

from .models import ChunkRow

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = "2"  # bump when extraction changes: stored registers are then rebuilt
RULES_FILE = Path(__file__).with_name("resources") / "obligations.toml"
MODALITIES = ("prohibition", "obligation", "permission")  # strongest first
REGISTER_FILE = "register.json"

CN_DIGITS = "零〇一二三四五六七八九十百千两"
_CN_ITEM = re.compile(rf"^[（(]([{CN_DIGITS}]+)[）)]")
_CN_LABEL = re.compile(rf"^\*{{0,2}}第[{CN_DIGITS}]+条\*{{0,2}}[\s\u3000]*")
_EN_PARAGRAPH = re.compile(r"^(\d+)\.\s")
_EN_POINT = re.compile(r"^\((\d+|[a-z]{1,4}|[ivx]+)\)\s")
_HEADING = re.compile(r"^(#{1,6}\s|\*\*[^*].*\*\*$)")
_TITLE = re.compile(r"^#{1,6}\s+\S+(?:\s+\S+)?\s*(?:[—–-]\s*(.+)|\((.+)\))\s*$")
_ZH_SENTENCE_END = re.compile(r"(?<=[。！？])")
_EN_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(‘“\"'])")
_ZH_CLAUSE = re.compile(r"[，；：,;:]")
_EN_CLAUSE = re.compile(r"[,;:]")
_EN_RELATIVE = re.compile(r"\b(?:that|which|who|whom|whether|if|where|when)\b", re.IGNORECASE)
_EN_DETERMINER = re.compile(r"^(?:the|each|any|every|such|that|those|these|a|an)\s+", re.IGNORECASE)
_EN_OF_PHRASE = re.compile(r"\s+of\s+(?:an?\s+|the\s+)?[\w\-]+(?:\s+[\w\-]+){0,4}?\s+(?:systems?|models?)\b")


class RulesError(ValueError):
    """The rules file is missing a key or holds a bad pattern."""


# ---- rules ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActorPatterns:
    norm: str
    label: str
    aliases: tuple[str, ...]
    zh: tuple[re.Pattern, ...]
    en: tuple[re.Pattern, ...]


@dataclass(frozen=True)
class Rules:
    digest: str
    skip_status: frozenset[str]
    skip_unit_labels: tuple[re.Pattern, ...]
    skip_unit_titles: re.Pattern
    skip_first_paragraph: dict[str, tuple[re.Pattern, ...]]
    skip_sentence: dict[str, tuple[re.Pattern, ...]]
    cues: dict[str, dict[str, tuple[re.Pattern, ...]]]  # language -> modality -> patterns
    cue_exclusions: dict[str, re.Pattern | None]  # "en" / "zh" / "permission_en"
    actors: tuple[ActorPatterns, ...]
    default_actor: dict[str, str]  # modality -> actor_norm
    always_included: frozenset[str]
    pronouns_en: frozenset[str]
    join_zh: re.Pattern
    join_en: re.Pattern
    join_blockers_en: re.Pattern
    condition_ends_zh: tuple[str, ...]
    condition_starts_en: re.Pattern

    def actor(self, norm: str) -> ActorPatterns | None:
        return next((a for a in self.actors if a.norm == norm), None)


def _compile(patterns: Iterable[str], language: str, where: str) -> tuple[re.Pattern, ...]:
    compiled = []
    for p in patterns:
        try:
            compiled.append(re.compile(rf"\b(?:{p})\b", re.IGNORECASE) if language == "en" else re.compile(p))
        except re.error as exc:
            raise RulesError(f"{RULES_FILE.name}: bad pattern {p!r} in {where}: {exc}") from exc
    return tuple(compiled)


def _alternation(words: Iterable[str], *, prefix: bool) -> re.Pattern | None:
    words = [w for w in words]
    if not words:
        return None
    body = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"^(?:{body})\b" if prefix else body, re.IGNORECASE)


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> Rules:
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        actors = tuple(
            ActorPatterns(
                norm,
                spec["label"],
                tuple(spec.get("aliases", ())),
                _compile(spec.get("zh", ()), "zh", f"actors.{norm}"),
                _compile(spec.get("en", ()), "en", f"actors.{norm}"),
            )
            for norm, spec in data["actors"].items()
        )
        cues = {
            lang: {m: _compile(data["modality"][m].get(lang, ()), lang, f"modality.{m}") for m in MODALITIES}
            for lang in ("zh", "en")
        }
        exclusions = data.get("cue_exclusions", {})
        return Rules(
            digest=hashlib.sha256(raw).hexdigest()[:16],
            skip_status=frozenset(data.get("skip_status", ())),
            skip_unit_labels=_compile(data.get("skip_unit_labels", ()), "zh", "skip_unit_labels"),
            skip_unit_titles=re.compile(
                rf"^(?:{'|'.join(data.get('skip_unit_titles', ())) or '(?!)'})\b", re.IGNORECASE
            ),
            skip_first_paragraph={
                lang: _compile(data.get(f"skip_unit_first_paragraph_{lang}", ()), "zh", "skip_unit_first_paragraph")
                for lang in ("zh", "en")
            },
            skip_sentence={
                lang: tuple(re.compile(p, re.IGNORECASE) for p in data.get(f"skip_sentence_{lang}", ()))
                for lang in ("zh", "en")
            },
            cues=cues,
            cue_exclusions={
                key: _alternation(exclusions.get(key, ()), prefix=True) for key in ("en", "zh", "permission_en")
            },
            actors=actors,
            default_actor={m: data["default_actor"][m] for m in MODALITIES},
            always_included=frozenset(data.get("always_included_actors", ())),
            pronouns_en=frozenset(data.get("pronouns_en", ())),
            join_zh=re.compile(data["join_words_zh"]),
            join_en=re.compile(data["join_words_en"], re.IGNORECASE),
            join_blockers_en=re.compile(data["join_blockers_en"], re.IGNORECASE),
            condition_ends_zh=tuple(data.get("condition_ends_zh", ())),
            condition_starts_en=_alternation(data.get("condition_starts_en", ()), prefix=True) or re.compile("(?!)"),
        )
    except (KeyError, TypeError, tomllib.TOMLDecodeError, re.error) as exc:
        raise RulesError(f"{path}: {type(exc).__name__}: {exc}") from exc


# ---- records ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Actor:
    raw: str  # as the text names it: 服务提供者, Deployers of high-risk AI systems
    norm: str  # the cross-text vocabulary: provider, deployer, platform, ...


@dataclass(frozen=True)
class Obligation:
    doc_id: str
    unit: str
    locator: str
    actor: str
    actor_norm: str
    modality: str
    condition: str
    text: str
    context: str = ""  # the lead-in sentence of a list item ("Providers of high-risk AI systems shall:")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Paragraph:
    text: str  # verbatim, without the article label
    locator: str
    is_item: bool


@dataclass(frozen=True)
class Cue:
    start: int
    end: int
    modality: str


@dataclass(frozen=True)
class Subject:
    actors: tuple[Actor, ...]
    clause: int | None  # index of the clause naming them (None: nobody named)
    pronoun: bool = False


@dataclass
class _LeadIn:
    sentence: str
    actors: tuple[Actor, ...]
    modality: str
    condition: str


@dataclass
class _UnitState:
    last_actors: tuple[Actor, ...] = ()
    lead_in: _LeadIn | None = None
    pending: list[Obligation] = field(default_factory=list)  # the lead-in's own items, dropped if a list follows
    items: list[Obligation] = field(default_factory=list)


# ---- text structure ---------------------------------------------------------------------------------------
def unit_title(text: str) -> str:
    """The heading title of a unit whose text starts with one: "### Article 1 — Subject matter" -> "Subject matter"."""
    first = text.lstrip().split("\n", 1)[0]
    m = _TITLE.match(first)
    return (m.group(1) or m.group(2) or "").strip() if m else ""


def paragraphs_of(unit: str, text: str, language: str) -> list[Paragraph]:
    """The unit's paragraphs (headings dropped, the article label cut), each with its locator: 第六条第二款,
    第四条（三）, Article 26(5), Article 16(a)."""
    paragraphs: list[Paragraph] = []
    kuan, number, point = 0, "", ""
    for block in (b.strip() for b in re.split(r"\n\s*\n", text)):
        if not block or _HEADING.match(block):
            continue
        if language == "zh":
            block = _CN_LABEL.sub("", block, count=1) if not paragraphs else block
            item = _CN_ITEM.match(block)
            kuan += 0 if item else 1
            locator = unit + (f"第{int_to_cn(kuan)}款" if kuan > 1 and unit.endswith("条") else "")
            locator += f"（{item.group(1)}）" if item else ""
            paragraphs.append(Paragraph(block, locator, bool(item)))
            continue
        if m := _EN_PARAGRAPH.match(block):
            number, point = m.group(1), ""
        elif m := _EN_POINT.match(block):
            point = m.group(1)
        else:
            point = ""
        locator = unit + (f"({number})" if number else "") + (f"({point})" if point else "")
        paragraphs.append(Paragraph(block, locator, bool(point)))
    return paragraphs


def sentences_of(text: str, language: str) -> list[str]:
    splitter = _ZH_SENTENCE_END if language == "zh" else _EN_SENTENCE_END
    return [s.strip() for s in splitter.split(text) if s.strip()]


def _clauses(text: str, language: str) -> list[tuple[int, str]]:
    """(start offset, clause) for each comma/semicolon/colon-separated clause of ``text``."""
    pattern = _ZH_CLAUSE if language == "zh" else _EN_CLAUSE
    clauses, start = [], 0
    for m in pattern.finditer(text):
        clauses.append((start, text[start : m.start()]))
        start = m.end()
    clauses.append((start, text[start:]))
    return clauses


def _strip_marker(sentence: str, language: str) -> str:
    """A list item without its marker "（一）" / "(a) ", same length (spaces), so offsets stay valid."""
    m = _CN_ITEM.match(sentence) if language == "zh" else _EN_POINT.match(sentence)
    return " " * m.end() + sentence[m.end() :] if m else sentence


# ---- cues, actors, conditions -----------------------------------------------------------------------------
def find_cues(sentence: str, language: str, rules: Rules) -> list[Cue]:
    """Modality cue words in ``sentence``, in order; a prohibition hides an obligation/permission it overlaps;
    cues followed by an excluded phrase ("shall apply", "shall be deemed", "may be") and cues inside a condition
    clause ("…应当取得许可的，") are dropped."""
    found: list[Cue] = []
    for modality in MODALITIES:
        for pattern in rules.cues[language][modality]:
            for m in pattern.finditer(sentence):
                if any(c.start < m.end() and m.start() < c.end for c in found):
                    continue
                if _excluded(sentence, m, modality, language, rules) or _in_condition(
                    sentence, m.start(), language, rules
                ):
                    continue
                found.append(Cue(m.start(), m.end(), modality))
    return sorted(found, key=lambda c: c.start)


def _excluded(sentence: str, m: re.Match, modality: str, language: str, rules: Rules) -> bool:
    if language == "zh":
        exclusion = rules.cue_exclusions.get("zh")
        return bool(exclusion and exclusion.match(sentence[m.end() :]))
    first_word = m.group(0).split()[0]
    after = sentence[m.start() + len(first_word) :].lstrip()
    keys = ("en", "permission_en") if modality == "permission" else ("en",)
    exclusions = (rules.cue_exclusions.get(k) for k in keys)
    return any(exclusion is not None and exclusion.match(after) for exclusion in exclusions)


def _in_condition(sentence: str, position: int, language: str, rules: Rules) -> bool:
    """Whether the cue at ``position`` sits in a condition clause (zh: a clause ending in 的 that is followed by
    another clause; en: a clause opening with Where / If / When …)."""
    clauses = _clauses(sentence, language)
    index = max(i for i, (start, _) in enumerate(clauses) if start <= position)
    clause = clauses[index][1]
    if language == "zh":
        return index < len(clauses) - 1 and clause.endswith(rules.condition_ends_zh)
    return bool(rules.condition_starts_en.match(clause.strip()))


def _actor_matches(clause: str, language: str, rules: Rules) -> list[tuple[int, int, str]]:
    """(start, end, norm) of every actor name in ``clause``, longest first at each position, no overlaps."""
    matches = [
        (m.start(), m.end(), a.norm)
        for a in rules.actors
        for p in (a.zh if language == "zh" else a.en)
        for m in p.finditer(clause)
    ]
    matches.sort(key=lambda t: (t[0], -(t[1] - t[0])))
    kept: list[tuple[int, int, str]] = []
    for start, end, norm in matches:
        same_span = kept and (start, end) == kept[-1][:2]
        if same_span or not any(s < end and start < e for s, e, _ in kept):
            kept.append((start, end, norm))
    return kept


def _subject_in(clause: str, language: str, rules: Rules) -> tuple[Actor, ...]:
    """The subject actors of a clause: its first actor name (every norm matching there, 提供和使用 -> provider and
    deployer) and the names joined to it by 和 / 、 / and / or."""
    matches = _actor_matches(clause, language, rules)
    if not matches:
        return ()
    first = matches[0]
    chosen = [m for m in matches if m[:2] == first[:2]]
    previous_end = first[1]
    for start, end, norm in matches[len(chosen) :]:
        if start < previous_end:
            continue
        gap = clause[previous_end:start]
        joined = (
            rules.join_zh.match(gap)
            if language == "zh"
            else (len(gap) <= 60 and rules.join_en.search(gap) and not rules.join_blockers_en.search(gap))
        )
        if not joined:
            break
        chosen.append((start, end, norm))
        previous_end = end
    actors: list[Actor] = []
    for start, end, norm in chosen:
        raw = clause[start:end]
        if language == "en" and (of := _EN_OF_PHRASE.match(clause, end)):
            raw = clause[start : of.end()]
        if norm not in {a.norm for a in actors}:
            actors.append(Actor(raw.strip(), norm))
    return tuple(actors)


def find_subject(before_cue: str, language: str, rules: Rules) -> Subject:
    """Who the cue binds: the first actor named in the clause holding the cue, else in the nearest clause before
    it; an English pronoun right before the cue ("…, it shall") stands for the actor named earlier."""
    clauses = _clauses(before_cue, language)
    if language == "en":
        words = clauses[-1][1].split()
        if words and words[-1].lower() in rules.pronouns_en:
            earlier = (
                find_subject(before_cue[: clauses[-1][0]], language, rules) if len(clauses) > 1 else Subject((), None)
            )
            return Subject(earlier.actors, len(clauses) - 1, pronoun=True)
    for index in range(len(clauses) - 1, -1, -1):
        actors = _subject_in(clauses[index][1], language, rules)
        if actors:
            return Subject(actors, index)
    return Subject((), None)


def permission_subject(before_cue: str, rules: Rules) -> tuple[Actor, ...]:
    """English "may" is a permission only when an actor is the subject of its own clause ("The Commission may
    adopt"), not in "…that the use of such system may produce"."""
    clause = _clauses(before_cue, "en")[-1][1]
    opening = _EN_DETERMINER.match(clause.strip())
    matches = _actor_matches(clause.strip(), "en", rules)
    if matches and matches[0][0] <= (opening.end() if opening else 0):  # "Providers … that are subject to … may"
        return _subject_in(clause.strip(), "en", rules)
    relatives = list(_EN_RELATIVE.finditer(clause))
    if relatives:
        clause = clause[relatives[-1].end() :]
    return _subject_in(clause, "en", rules)


def condition_of(before_cue: str, subject: Subject, language: str, rules: Rules) -> str:
    """The "where / if" part of a sentence, before its cue: zh the last clause ending in 的 / 时 before the cue's
    clause; en the clauses from one opening with Where / If / Before … up to the subject."""
    clauses = _clauses(before_cue, language)
    if language == "zh":
        for _, clause in reversed(clauses[:-1]):
            if clause.strip().endswith(rules.condition_ends_zh):
                return clause.strip().removeprefix("但").strip()
        return ""
    end = subject.clause if subject.clause is not None else len(clauses) - 1
    for index in range(end):
        if rules.condition_starts_en.match(clauses[index][1].strip()):
            return before_cue[clauses[index][0] : clauses[end][0]].strip(" ,;:")
    return ""


def item_condition(item: str, language: str, rules: Rules) -> str:
    """The condition of a list item that has no cue of its own ("（二）…但用户声明为生成合成内容的，", "(e) when under
    their control,")."""
    clauses = _clauses(_strip_marker(item, language), language)
    if language == "zh":
        for _, clause in clauses[:-1]:
            if clause.strip().endswith(rules.condition_ends_zh):
                return clause.strip().removeprefix("但").strip()
        return ""
    first = clauses[0][1].strip()
    return first if len(clauses) > 1 and rules.condition_starts_en.match(first) else ""


# ---- one unit ---------------------------------------------------------------------------------------------
def unit_is_excluded(meta: dict, unit: str, text: str, rules: Rules) -> bool:
    """Units that hold no obligations: non-binding texts, recitals and notices, purpose / definition / final
    articles (by heading title or by their first paragraph)."""
    language = meta.get("language") or "en"
    if meta.get("status", "") in rules.skip_status or any(p.search(unit) for p in rules.skip_unit_labels):
        return True
    title = unit_title(text)
    if title and rules.skip_unit_titles.match(title):
        return True
    paragraphs = paragraphs_of(unit, text, language)
    first = paragraphs[0].text if paragraphs else ""
    return any(p.search(first) for p in rules.skip_first_paragraph.get(language, ()))


def extract_unit(doc_id: str, unit: str, text: str, language: str, rules: Rules | None = None) -> list[Obligation]:
    """The obligations, prohibitions and permissions of one unit, in text order (no unit-level exclusions here:
    see ``unit_is_excluded``)."""
    rules = rules or load_rules()
    state = _UnitState()
    for paragraph in paragraphs_of(unit, text, language):
        if paragraph.is_item and state.lead_in is not None:
            state.pending.clear()  # the list carries the lead-in: each item is one checklist line
        else:
            state.items.extend(state.pending)
            state.pending.clear()
            state.lead_in = None
        _paragraph_items(doc_id, unit, paragraph, language, rules, state)
    state.items.extend(state.pending)
    return state.items


def _paragraph_items(
    doc_id: str, unit: str, paragraph: Paragraph, language: str, rules: Rules, state: _UnitState
) -> None:
    previous: tuple[Actor, ...] = ()
    sentences = sentences_of(paragraph.text, language)
    for n, sentence in enumerate(sentences):
        analysed = _strip_marker(sentence, language)
        if any(p.search(analysed.strip()) for p in rules.skip_sentence[language]):
            continue
        cues = find_cues(analysed, language, rules)
        lead_in = state.lead_in if paragraph.is_item else None
        if not cues:
            if lead_in is not None:
                state.items.extend(_under_lead_in(doc_id, unit, paragraph.locator, lead_in, sentence, language, rules))
            continue
        fallback = previous or (lead_in.actors if lead_in else ()) or state.last_actors
        found = _sentence_items(
            doc_id,
            unit,
            paragraph.locator,
            sentence,
            analysed,
            cues,
            fallback,
            language,
            rules,
            lead_in.sentence if lead_in else "",
        )
        if (
            lead_in is not None
            and _acts_before(analysed[: cues[0].start], language, rules)
            and lead_in.modality not in {o.modality for o in found}
        ):
            # "（四）在视频起始画面…添加显著的提示标识，可以在视频末尾…": the list's duty, then the item's own cue
            found = _under_lead_in(doc_id, unit, paragraph.locator, lead_in, sentence, language, rules) + found
        if not found:
            continue
        previous = state.last_actors = tuple(
            dict.fromkeys(Actor(o.actor, o.actor_norm) for o in found if o.modality == found[0].modality)
        )
        opens_list = n == len(sentences) - 1 and sentence.rstrip().endswith((":", "：")) and not paragraph.is_item
        if opens_list:
            state.lead_in = _LeadIn(sentence, previous, found[0].modality, found[0].condition)
            state.pending.extend(found)
        else:
            state.items.extend(found)


def _sentence_items(
    doc_id: str,
    unit: str,
    locator: str,
    sentence: str,
    analysed: str,
    cues: list[Cue],
    fallback: tuple[Actor, ...],
    language: str,
    rules: Rules,
    context: str,
) -> list[Obligation]:
    """One record per (actor, modality) of a sentence with cues; the actors of each modality are those of its
    first cue."""
    records: list[Obligation] = []
    first_actors: tuple[Actor, ...] = ()
    for modality in dict.fromkeys(c.modality for c in cues):
        cue = next(c for c in cues if c.modality == modality)
        before = analysed[: cue.start]
        if modality == "permission" and language == "en":
            actors = permission_subject(before, rules)
            if not actors:
                continue
            subject = Subject(actors, len(_clauses(before, language)) - 1)
        else:
            subject = find_subject(before, language, rules)
            own_clause = subject.clause == len(_clauses(before, language)) - 1
            if first_actors and not own_clause:  # "提供者应当…认证，不得向…使用者提供…": coordinated predicates share
                subject = Subject(first_actors, None)  # the sentence's subject
            actors = subject.actors or fallback or (Actor("", rules.default_actor[modality]),)
        first_actors = first_actors or actors
        condition = condition_of(before, subject, language, rules)
        records.extend(_records(doc_id, unit, locator, actors, modality, condition, sentence, context))
    return records


def _acts_before(before_cue: str, language: str, rules: Rules) -> bool:
    """Whether a list item does something before its first cue (a clause that is not a condition), so the
    list's own modality applies to it too."""
    for _, clause in _clauses(before_cue, language)[:-1]:  # the last clause is the cue's own (its subject)
        text = clause.strip()
        if not text:
            continue
        if language == "zh" and not text.endswith(rules.condition_ends_zh):
            return True
        if language == "en" and not rules.condition_starts_en.match(text) and len(text.split()) > 2:
            return True
    return False


def _records(
    doc_id: str,
    unit: str,
    locator: str,
    actors: Iterable[Actor],
    modality: str,
    condition: str,
    text: str,
    context: str,
) -> list[Obligation]:
    return [
        Obligation(doc_id, unit, locator, a.raw, a.norm, modality, condition, text.strip(), context) for a in actors
    ]


def _under_lead_in(
    doc_id: str, unit: str, locator: str, lead_in: _LeadIn, item: str, language: str, rules: Rules
) -> list[Obligation]:
    """A list item's duty from the sentence that introduces the list: its actors and modality, the item's own
    condition if it states one (else the lead-in's)."""
    condition = item_condition(item, language, rules) or lead_in.condition
    return _records(doc_id, unit, locator, lead_in.actors, lead_in.modality, condition, item, lead_in.sentence)


# ---- the register -----------------------------------------------------------------------------------------
DOC_FIELDS = (
    "title",
    "title_en",
    "jurisdiction",
    "language",
    "doc_type",
    "status",
    "effective",
    "issued",
    "source_url",
)


def unit_texts(rows: Iterable[ChunkRow]) -> Iterator[tuple[dict, str, str]]:
    """(metadata of the unit's first chunk, unit label, the unit's whole text) from chunk rows in any order."""
    ordered = sorted(rows, key=lambda r: (r[1].get("doc_id", ""), int(r[1].get("chunk_index", 0))))
    current: tuple[str, str] | None = None
    meta: dict = {}
    texts: list[str] = []
    for _, row_meta, text in ordered:
        key = (row_meta.get("doc_id", ""), str(row_meta.get("unit_index", row_meta.get("unit", ""))))
        if key != current:
            if current is not None:
                yield meta, meta.get("unit", ""), "\n\n".join(texts)
            current, meta, texts = key, row_meta, []
        texts.append(text or "")
    if current is not None:
        yield meta, meta.get("unit", ""), "\n\n".join(texts)


def build_register(rows: Iterable[ChunkRow], rules: Rules | None = None) -> list[dict]:
    """Every item of every indexed text, as dicts with the document fields the filters and exports need."""
    rules = rules or load_rules()
    items: list[dict] = []
    for meta, unit, text in unit_texts(rows):
        if unit_is_excluded(meta, unit, text, rules):
            continue
        doc_fields = {k: meta.get(k, "") for k in DOC_FIELDS}
        for record in extract_unit(meta.get("doc_id", ""), unit, text, meta.get("language") or "en", rules):
            items.append({**record.to_dict(), **doc_fields})
    return items


def register_fingerprint(rows: Iterable[ChunkRow], rules: Rules | None = None) -> str:
    rules = rules or load_rules()
    digest = hashlib.sha256(f"extractor {EXTRACTOR_VERSION} rules {rules.digest}\n".encode())
    for cid, meta, _ in sorted(rows, key=lambda r: r[0]):
        digest.update(f"{cid}\t{meta.get('sha256', '')}\t{meta.get('embed_sha', '')}\n".encode())
    return digest.hexdigest()


def load_register(directory: Path) -> tuple[str, list[dict]] | None:
    try:
        data = json.loads((directory / REGISTER_FILE).read_text(encoding="utf-8"))
        return data["fingerprint"], data["items"]
    except (OSError, ValueError, KeyError) as exc:
        log.info("obligation register at %s not loadable (%s): will rebuild", directory, exc)
        return None


def sync_register(rows: list[ChunkRow], directory: Path) -> tuple[list[dict], bool]:
    """The register consistent with ``rows`` (loaded, or rebuilt and saved); and whether it was rebuilt."""
    fp = register_fingerprint(rows)
    stored = load_register(directory) if (directory / REGISTER_FILE).exists() else None
    if stored is not None and stored[0] == fp:
        return stored[1], False
    items = build_register(rows)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, delete=False, suffix=".tmp") as tmp:
            json.dump({"fingerprint": fp, "extractor": EXTRACTOR_VERSION, "items": items}, tmp, ensure_ascii=False)
        os.replace(tmp.name, directory / REGISTER_FILE)
    except OSError as exc:  # read-only index dir: serve from memory, say so in the log
        log.warning("could not save the obligation register to %s: %s", directory, exc)
    return items, True
