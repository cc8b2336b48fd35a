"""The lead of an answer: one to three verbatim sentences of the cited clauses that answer the question, each
carrying its [n], with the key value (date, duration, amount, threshold) in front when the question asks for one.

``compose_lead(question, pieces, weight_of, model, similarity) -> Lead``: ``pieces`` are the cited clauses in
citation order (number, text, role, ranking share). With the learned sentence model (``lead_scoring.py``, trained by
``regqa train-lead``) each sentence gets the probability that it holds the answer; the best opens the lead, and
the next best join while they hold something the question asks about and fit the budget. Without a model
(``model = ""``: the ablation) sentences are scored by the rule this replaced: how much of the question's
rarity-weighted vocabulary they hold, a prior for the first-cited clauses, a bonus when they hold the kind of value
asked for, and a penalty for framing text (definition lists, recitals, preambles, signature blocks) unless the
question asks for a definition.
Every number of the selection and the rule score is in ``resources/lead.toml``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.answering.lead_scoring import (
    FeatureWords,
    LeadModel,
    Sentence,
    SimilarityFunction,
    feature_words,
    load_lead_model,
    sentence_features,
)
from assistant.retrieval.glossary import codes_named, names_of
from assistant.retrieval.references import ClauseRef, cn_or_arabic, unit_labels
from ingest.keyword_index import tokenize
from ingest.sentences import sentences

POLICY_FILE = Path(__file__).resolve().parent.parent / "resources" / "lead.toml"


@dataclass(frozen=True)
class ValueKind:
    name: str
    question: re.Pattern
    value: re.Pattern


@dataclass(frozen=True)
class LeadPolicy:
    model: str  # the learned sentence model's file ("" = the rule score)
    max_sentences: int
    max_sentences_per_side: int
    max_chars: dict[str, int]
    also_within: float
    model_also_within: dict[str, float]
    max_per_clause: int
    max_per_named_clause: int
    rank_prior: float
    framing_factor: float
    value_bonus: float
    min_chars: dict[str, int]
    min_words_en: int
    values: tuple[ValueKind, ...]
    feature_words: FeatureWords
    overview: (
        re.Pattern
    )  # asks what a named clause says as a whole ("第十七条讲的是什么？", "What is Article 86 about?")
    overview_focus: re.Pattern  # … but names a topic of it ("especially …", 关于用户标签)
    overview_part: re.Pattern  # … or a paragraph or item of it (第二款, Article 50(4)): opens there when found
    part_question: re.Pattern  # more ways to ask what a named paragraph or item says ("what does 5(1)(e) prohibit")


@lru_cache(maxsize=1)
def policy() -> LeadPolicy:
    data = tomllib.loads(POLICY_FILE.read_text(encoding="utf-8"))
    kinds = tuple(
        ValueKind(name, re.compile("|".join(v["question"]), re.I), re.compile("|".join(v["value"]), re.I))
        for name, v in data["values"].items()
    )
    model = data["model"]
    return LeadPolicy(
        model=str(POLICY_FILE.parent / model) if model else "",
        max_sentences=data["max_sentences"],
        max_sentences_per_side=data["max_sentences_per_side"],
        max_chars=data["max_chars"],
        also_within=data["also_within"],
        model_also_within=data["model_also_within"],
        max_per_clause=data["max_per_clause"],
        max_per_named_clause=data["max_per_named_clause"],
        rank_prior=data["rank_prior"],
        framing_factor=data["framing_factor"],
        value_bonus=data["value_bonus"],
        min_chars=data["min_chars"],
        min_words_en=data["min_words_en"],
        values=kinds,
        feature_words=feature_words(data),
        overview=re.compile("|".join(data["overview"]["question"]), re.I),
        overview_focus=re.compile("|".join(data["overview"]["focus"]), re.I),
        overview_part=re.compile("|".join(data["overview"]["part"]), re.I),
        part_question=re.compile("|".join(data["overview"]["part_question"]), re.I),
    )


def lead_model() -> LeadModel | None:
    """The configured sentence model (None: the rule score)."""
    path = policy().model
    return load_lead_model(path) if path else None


@dataclass(frozen=True)
class Piece:
    """A cited clause: its citation number, verbatim text, and whether it is framing text (definitions, recital,
    preamble, signature block)."""

    n: int
    text: str
    framing: bool = False
    share: float = 1.0  # the clause's ranking score (only its ratio to the other cited clauses' matters)
    named: bool = False  # the question names this clause by its number
    position: tuple[str, str, int] = ("", "", 0)  # document, unit and piece number: where the piece is in its text
    asked_at: tuple[int, int] | None = None  # [start, end) in ``text`` of the paragraph or item the question names


@dataclass(frozen=True)
class LeadQuestion:
    """What the lead answers: the question with its expansions (glossary terms, the conversation's topic), the
    question as asked, its language, whether it asks for a definition, whether it compares two sides."""

    text: str
    language: str
    asked: str = ""
    wants_definition: bool = False
    comparison: bool = False
    documents: tuple[str, ...] = ()  # the documents the question names

    def _asks_overview(self) -> tuple[bool, bool, bool]:
        """(asks what a clause or a part of it says as a whole, names a paragraph or item of it, asks what that
        part says in one of the further ways)."""
        asked = self.asked or self.text
        p = policy()
        focused = bool(p.overview_focus.search(asked))
        whole = bool(p.overview.search(asked)) and not focused
        return whole, bool(p.overview_part.search(asked)), bool(p.part_question.search(asked)) and not focused

    @property
    def overview(self) -> bool:
        """Asks what a clause says as a whole: its lead is the named clause's opening sentences."""
        asks, part, _ = self._asks_overview()
        return asks and not part

    @property
    def overview_of_part(self) -> bool:
        """Asks what a paragraph or item of a clause says as a whole ("What does Article 50(4) say?", "what does
        22757.12(e) prohibit?"): its lead opens at that paragraph or item, when the clause's text shows where it
        starts."""
        asks, part, asks_part = self._asks_overview()
        return (asks or asks_part) and part


@dataclass
class Lead:
    text: str = ""
    spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # citation number -> [start, end) in text


def is_sentence(sentence: str) -> bool:
    p = policy()
    if re.search(r"[\u4e00-\u9fff]", sentence):
        return len(sentence) >= p.min_chars["zh"]
    return len(sentence) >= p.min_chars["en"] and len(sentence.split()) >= p.min_words_en


def asked_values(question: str) -> list[ValueKind]:
    return [kind for kind in policy().values if kind.question.search(question)]


@dataclass
class Scored:
    n: int
    start: int
    end: int
    text: str
    score: float
    matched: bool  # holds a question word or an asked-for value


def _score_sentences(
    question: str, pieces: list[Piece], weight_of: Callable[[str], float], wants_definition: bool
) -> list[Scored]:
    p = policy()
    q_weights = {t: weight_of(t) for t in dict.fromkeys(tokenize(question))}
    total = sum(q_weights.values()) or 1.0
    kinds = asked_values(question)
    scored = []
    for rank, piece in enumerate(pieces, 1):
        for s, e in sentences(piece.text):
            sentence = piece.text[s:e]
            if not is_sentence(sentence):
                continue
            tokens = set(tokenize(sentence))
            coverage = sum(w for t, w in q_weights.items() if t in tokens) / total
            has_value = any(kind.value.search(sentence) for kind in kinds)
            score = coverage + p.rank_prior / rank + (p.value_bonus if has_value else 0.0)
            if piece.framing and not wants_definition:
                score *= p.framing_factor
            scored.append(Scored(piece.n, s, e, sentence, score, coverage > 0 or has_value))
    return sorted(scored, key=lambda x: -x.score)


def compose_lead(
    question: LeadQuestion,
    pieces: list[Piece],
    weight_of: Callable[[str], float],
    model: LeadModel | None = None,
    similarity: SimilarityFunction | None = None,
    max_sentences: int | None = None,
) -> Lead:
    """The lead for an extractive answer ("" when no cited clause has a sentence)."""
    p = policy()
    limit = max_sentences or p.max_sentences
    named = [piece for piece in pieces if piece.named]
    at_part = [piece for piece in named if piece.asked_at is not None]
    if named and question.overview and not question.comparison:
        chosen = opening_sentences(named, question.language, limit)
    elif at_part and question.overview_of_part and not question.comparison:
        chosen = opening_sentences(at_part[:1], question.language, limit)  # the first place the part is found
    else:
        if model is not None:
            scored = model_scores(question, pieces, weight_of, model, similarity)
        else:
            scored = _score_sentences(question.text, pieces, weight_of, question.wants_definition)
        if not scored:
            return Lead()
        floor = further_floor(question.language, scored[0].score, learned=model is not None)
        chosen = in_reading_order(choose(scored, question.language, limit, floor))
        listed = None if question.comparison else listed_country(question, pieces)
        if listed is not None:  # "Did Japan sign the Bletchley Declaration?": "The countries represented were: … Japan"
            return _with_listed(listed, chosen, question.language, limit)
    if not chosen:
        return Lead()
    zh = question.language == "zh"
    text = _cited_text([(c.text, c.n) for c in chosen], zh)
    value = _front_value(question.text, chosen[0].text)
    if value:
        text = (f"{value}：" if zh else f"{value}: ") + text
    spans: dict[int, list[tuple[int, int]]] = {}
    for c in chosen:
        spans.setdefault(c.n, []).append((c.start, c.end))
    return Lead(text, spans)


def _cited_text(parts: list[tuple[str, int]], zh: bool) -> str:
    """The lead's text: each part followed by its citation number ("…。[1]" in Chinese, "… [1]" in English)."""
    return ("" if zh else " ").join(f"{text}[{n}]" if zh else f"{text} [{n}]" for text, n in parts)


def _with_listed(listed: tuple[Scored, Scored], chosen: list[Scored], language: str, limit: int) -> Lead:
    """The lead opening with a list's first line and its line naming the country asked about, then the chosen
    sentences that still fit (one fewer than the limit: the two lines count as one)."""
    intro, item = listed
    zh = language == "zh"
    budget = policy().max_chars["zh" if zh else "en"]
    used = len(intro.text) + len(item.text)
    rest: list[Scored] = []
    for c in chosen:
        inside = c.n == item.n and c.start < item.end and intro.start < c.end
        if inside or len(rest) + 1 >= limit or used + len(c.text) > budget:
            continue
        rest.append(c)
        used += len(c.text)
    opening = f"{intro.text}……{item.text}" if zh else f"{intro.text} … {item.text}"
    text = _cited_text([(opening, item.n), *((c.text, c.n) for c in rest)], zh)
    spans: dict[int, list[tuple[int, int]]] = {item.n: [(intro.start, intro.end), (item.start, item.end)]}
    for c in rest:
        spans.setdefault(c.n, []).append((c.start, c.end))
    return Lead(text, spans)


def further_floor(language: str, best: float, learned: bool) -> float:
    """The least score a sentence after the best needs to join the lead: a share of the best's (``also_within`` for
    the rule score; ``model_also_within`` by question language for the learned model's probabilities)."""
    p = policy()
    share = p.model_also_within["zh" if language == "zh" else "en"] if learned else p.also_within
    return share * best


def choose(scored: list[Scored], language: str, limit: int, floor: float) -> list[Scored]:
    """The best sentence, then further ones in score order while they reach ``floor``, hold something the question
    asks about, keep to ``max_per_clause`` and fit the character budget."""
    p = policy()
    budget = p.max_chars["zh" if language == "zh" else "en"]
    chosen = [scored[0]]
    per_clause = {scored[0].n: 1}
    used = len(scored[0].text)
    for cand in scored[1:]:
        if len(chosen) >= limit or cand.score < floor:
            break
        if not cand.matched or per_clause.get(cand.n, 0) >= p.max_per_clause or used + len(cand.text) > budget:
            continue
        if any(cand.text in c.text or c.text in cand.text for c in chosen):
            continue
        chosen.append(cand)
        per_clause[cand.n] = per_clause.get(cand.n, 0) + 1
        used += len(cand.text)
    return chosen


_LIST_LINE = re.compile(r"(?m)^[ \t]*(\S.*?)[ \t]*$")
_LIST_ITEM = re.compile(r"[-*+]\s+(.{1,80})$")


def listed_country(question: LeadQuestion, pieces: list[Piece]) -> tuple[Scored, Scored] | None:
    """The line that opens a list and the list line naming a country the question names, in a clause of a document
    the question names ("The countries represented were:" … "- Japan" of the Bletchley Declaration, for "Did Japan
    sign the Bletchley Declaration?"): a list line is too short to be a sentence, yet it is the answer."""
    if not question.documents:
        return None
    codes = codes_named((question.asked or question.text).lower())
    if not codes:
        return None
    names = names_of(codes)
    for piece in pieces:
        if piece.position[0] not in question.documents:
            continue
        intro: tuple[int, int] | None = None
        for m in _LIST_LINE.finditer(piece.text):
            line = m.group(1)
            item = _LIST_ITEM.match(line)
            if item is None:
                intro = (m.start(1), m.end(1)) if line.endswith((":", "：")) else None
            elif intro is not None and names.search(item.group(1).lower()):
                s, e = m.start(1) + item.start(1), m.start(1) + item.end(1)
                first = Scored(piece.n, intro[0], intro[1], piece.text[intro[0] : intro[1]], 1.0, True)
                return first, Scored(piece.n, s, e, piece.text[s:e], 1.0, True)
    return None


def opening_sentences(named: list[Piece], language: str, limit: int) -> list[Scored]:
    """The lead of "what does 第十七条 say": the named clauses' sentences in the order of their text (a clause
    states its main rule first), at most ``max_per_named_clause`` of each when several are named, while the lead
    fits the budget (the first sentence always)."""
    p = policy()
    budget = p.max_chars["zh" if language == "zh" else "en"]
    per_clause = limit if len(named) == 1 else p.max_per_named_clause
    chosen: list[Scored] = []
    used = 0
    first_cited: dict[tuple[str, str], int] = {}
    for piece in named:
        first_cited.setdefault(piece.position[:2], piece.n)
    # the named clauses in citation order, the pieces of a unit cut in several in the order of its text
    for piece in sorted(named, key=lambda piece: (first_cited[piece.position[:2]], piece.position[2])):
        start, end = piece.asked_at or (0, len(piece.text))
        found = [
            (s, e)
            for s, e in sentences(piece.text)
            if start <= s and e <= end and is_sentence(piece.text[s:e]) and "**" not in piece.text[s:e]
        ]
        found = found[:per_clause]
        for s, e in found:
            if len(chosen) >= limit or (chosen and used + e - s > budget):
                return chosen
            chosen.append(Scored(piece.n, s, e, piece.text[s:e], 1.0, True))
            used += e - s
    return chosen


_CN_NUMBER = "[一二三四五六七八九十百]+"
_CN_OR_ARABIC = rf"{_CN_NUMBER}|\d+"
_CN_ITEM_LINE = re.compile(rf"[（(]{_CN_NUMBER}[）)]")
_ROMAN = {"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"}


BARE_FIRST_PARAGRAPH = re.compile(r"(?m)^[ \t>*-]*1 [A-Z]")


def _marked(text: str, marks: list[str], nested: bool = False) -> tuple[int, int] | None:
    """[start, end) of the paragraph ("4. …", or "(4) …" in a text whose paragraphs are so numbered, such as the
    Korean act's, whose "1. …" lines are subparagraphs) and, within it, of its point "(e) …" (``marks``: 4, e); a
    point ends at the next point (not at its own sub-points "(i)", "(ii)") or paragraph. A code's lettered
    subdivision "(c) …" (22757.13(c)(2): c, 2) runs to the next letter's line, and its paragraph "(2) …" may open on
    the subdivision's own line ("(c) (1) Subject to …")."""
    parenthesised = re.search(r"(?m)^[ \t>*-]*\(1\)\s", text) is not None
    # a text whose paragraphs are numbered without a stop ("1 Each Party shall …", the Council of Europe's
    # conventions) and that has no "1." or "(1)" line
    bare = not parenthesised and bool(BARE_FIRST_PARAGRAPH.search(text)) and not re.search(r"(?m)^[ \t>*-]*1\.\s", text)

    def numbered(mark: str) -> str:  # a paragraph's number as this text prints it: "(4)", "4 " or "4."
        return rf"\({mark}\)" if parenthesised else rf"{mark}(?= [A-Z])" if bare else rf"{mark}\."

    paragraph = numbered(r"\d+")
    at, end = 0, len(text)
    for n, mark in enumerate(marks):
        point = nested or n > 0
        lettered = n == 0 and not nested and not mark.isdigit()  # a code's subdivision: (c) of 22757.13(c)(2)
        head = rf"\({re.escape(mark)}\)" if point or lettered else numbered(re.escape(mark))
        # a point may open on its parent's line: "(c) (1) Subject to paragraph (2), …"
        opened = r"(?:\(\w+\)\s*)*" if point else ""
        m = re.compile(rf"(?m)^[ \t>*-]*{opened}(?:{head})\s").search(text, at, end)
        if m is None:
            return None
        at = m.start()
        if lettered:  # to the next subdivision: (c) runs to (d)
            end = len(text)
            if len(mark) == 1 and mark.isalpha() and mark.lower() != "z":
                successor = re.escape(chr(ord(mark) + 1))
                # (a search from m.end(), not of a slice: "^" is then a real line start, not the middle of "(h) (i) …")
                for k in re.compile(rf"(?m)^[ \t>*-]*\({successor}\)\s").finditer(text, m.end()):
                    # not the first item "(i)" of a list that the line above opens ("… that includes:")
                    if not text[: k.start()].rstrip().endswith((":", "：")):
                        end = k.start()
                        break
        elif point:
            heads = r"[a-z]+|\d+|[A-Z]+" if mark.isupper() else r"[a-z]+|\d+"  # (A) ends at (B)
            nexts = [  # searched from m.end(), as for a subdivision: "^" only at a real line start
                k.start()
                for k in re.compile(rf"(?m)^[ \t>*-]*(?:\(({heads})\)|{paragraph})\s").finditer(text, m.end(), end)
                if not (k.group(1) and k.group(1) in _ROMAN and mark not in _ROMAN)
            ]
            end = nexts[0] if nexts else end
        else:
            following = re.compile(rf"(?m)^[ \t>*-]*(?:{paragraph})\s").search(text, m.end())
            end = following.start() if following else len(text)
    return at, end


# a point written after a code's section or a numbered rule: (c), (2), (iv), (A)
_WRITTEN_POINT = r"\((?:[ivxlc]{1,5}|[A-Za-z]{1,2}|\d{1,3})\)"


def _written_point(question: str, ref: ClauseRef) -> str:
    """The subdivision a question names after a section or numbered rule: "22757.13(c)(2)", "Section 22757.13 (c) (2)"
    → "(c)(2)" ("" when none). Only the lead reads it; retrieval takes such a reference as the whole unit."""
    m = re.search(re.escape(ref.raw) + rf"\s?((?:{_WRITTEN_POINT}\s?)+)", question)
    return re.sub(r"\s", "", m.group(1)) if m else ""


def asked_span(text: str, question: str, unit: str, refs: Sequence[ClauseRef]) -> tuple[int, int] | None:
    """Where, in a clause's ``text``, the paragraph or item the question names of ``unit`` starts and ends:
    "Article 50(4)" / "paragraph 4 of Article 50" → from the paragraph's line to the next paragraph's; "(1)(e)" →
    the line "(e) …" within paragraph 1 (in a later piece of a unit cut in several, which lacks paragraph numbers:
    the point alone); "Section 22757.13(c)(2)" → paragraph (2) of subdivision (c); "第十七条第二款" → the clause's
    second paragraph (a line that is not an item "（一）…"), to the third; "第一款第三项" / "第三项" / "第1款第（3）项" →
    the line "（三）…" of that (or the first) paragraph. None when the question names none or the text does not show
    it."""
    for ref in refs:
        if unit not in unit_labels(ref):  # Section 22757.13 of a code whose unit is 22757.13
            continue
        point = ref.point or (_written_point(question, ref) if ref.kind in ("section", "number") else "")
        number = re.search(r"[\d-]+[a-z]?$", ref.unit)
        if not point and number and ref.kind == "article":
            said = re.search(
                rf"\bparagraph\s+(\d+)\s+of\s+(?:the\s+)?(?:Article|Art\.?)\s*{re.escape(number.group(0))}\b",
                question,
                re.I,
            )
            point = f"({said.group(1)})" if said else ""
        if point:
            marks = re.findall(r"\((\w+)\)", point)
            if not marks:
                return None
            found = _marked(text, marks)
            if found or len(marks) == 1 or re.search(r"(?m)^[ \t>*-]*(?:\d+\.|\(\d+\))\s", text):
                return found
            return _marked(text, marks[-1:], nested=True)  # a later piece: the point alone
        m = re.search(
            re.escape(ref.raw) + rf"\s*(?:第\s*({_CN_OR_ARABIC})\s*款)?(?:第\s*[（(]?({_CN_OR_ARABIC})[）)]?\s*项)?",
            question,
        )
        if m is None or not (m.group(1) or m.group(2)):
            return None
        if not re.fullmatch(r"第.+条", unit):  # 第五十条第四款 of an English text: its paragraph "4." / "(4)"
            paragraph_number = cn_or_arabic(m.group(1)) if m.group(1) else None
            return _marked(text, [str(paragraph_number)]) if paragraph_number else None
        lines = [(k.start(), k.end(), k.group(0).strip()) for k in re.finditer(r"(?m)^[ \t]*\S.*$", text)]
        paragraphs = [n for n, (_, _, line) in enumerate(lines) if not _CN_ITEM_LINE.match(line)]
        wanted = cn_or_arabic(m.group(1)) if m.group(1) else 1
        if wanted is None or not 1 <= wanted <= len(paragraphs):
            return None
        first = paragraphs[wanted - 1]
        following = [n for n in paragraphs if n > first]
        last = following[0] if following else len(lines)  # the paragraph's lines: first … last - 1
        if not m.group(2):
            return lines[first][0], lines[last - 1][1]
        item = cn_or_arabic(m.group(2))
        for start, end, line in lines[first + 1 : last]:
            k = _CN_ITEM_LINE.match(line)
            if k and cn_or_arabic(k.group(0).strip("（()）")) == item:
                return start, end
        return None
    return None


def in_reading_order(chosen: list[Scored]) -> list[Scored]:
    """The chosen sentences clause by clause (the clause of the best first), each clause's in the order of its
    text: a clause states its main rule before the cases that follow from it (第二十四条: filing within ten working
    days, then changes, then de-registration within twenty), and the value put in front is the first sentence's."""
    clauses = list(dict.fromkeys(c.n for c in chosen))
    return sorted(chosen, key=lambda c: (clauses.index(c.n), c.start))


def model_scores(
    question: LeadQuestion,
    pieces: list[Piece],
    weight_of: Callable[[str], float],
    model: LeadModel,
    similarity: SimilarityFunction | None,
) -> list[Scored]:
    found, features = sentence_features(question, pieces, weight_of, similarity)
    return scored_by(found, model.probabilities(features))


def scored_by(found: list[Sentence], probabilities: np.ndarray) -> list[Scored]:
    """Sentences with the model's probabilities, best first."""
    scored = [Scored(s.n, s.start, s.end, s.text, float(pr), s.matched) for s, pr in zip(found, probabilities)]
    return sorted(scored, key=lambda x: -x.score)


def _front_value(question: str, sentence: str) -> str:
    for kind in asked_values(question):
        m = kind.value.search(sentence)
        if m:
            return m.group(0).strip()
    return ""
