"""The lead of an answer: one to three verbatim sentences of the cited clauses that answer the question, each
carrying its [n], with the key value (date, duration, amount, threshold) in front when the question asks for one.

``compose_lead(question, language, pieces, weight_of) -> Lead``: ``pieces`` are the cited clauses in citation
order (number, text, role); sentences are scored by how much of the question's rarity-weighted vocabulary they hold,
a prior for the first-cited clauses, a bonus when they hold the kind of value asked for, and a penalty for framing
text (definition lists, recitals, preambles, signature blocks) unless the question asks for a definition.
Every number is in ``resources/lead.toml``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ingest.keyword_index import tokenize

POLICY_FILE = Path(__file__).resolve().parent.parent / "resources" / "lead.toml"


@dataclass(frozen=True)
class ValueKind:
    name: str
    question: re.Pattern
    value: re.Pattern


@dataclass(frozen=True)
class LeadPolicy:
    max_sentences: int
    max_sentences_per_side: int
    max_chars: dict[str, int]
    also_within: float
    max_per_clause: int
    rank_prior: float
    framing_factor: float
    value_bonus: float
    min_chars: dict[str, int]
    min_words_en: int
    values: tuple[ValueKind, ...]


@lru_cache(maxsize=1)
def policy() -> LeadPolicy:
    data = tomllib.loads(POLICY_FILE.read_text(encoding="utf-8"))
    kinds = tuple(
        ValueKind(name, re.compile("|".join(v["question"]), re.I), re.compile("|".join(v["value"]), re.I))
        for name, v in data["values"].items()
    )
    return LeadPolicy(
        max_sentences=data["max_sentences"],
        max_sentences_per_side=data["max_sentences_per_side"],
        max_chars=data["max_chars"],
        also_within=data["also_within"],
        max_per_clause=data["max_per_clause"],
        rank_prior=data["rank_prior"],
        framing_factor=data["framing_factor"],
        value_bonus=data["value_bonus"],
        min_chars=data["min_chars"],
        min_words_en=data["min_words_en"],
        values=kinds,
    )


@dataclass(frozen=True)
class Piece:
    """A cited clause: its citation number, verbatim text, and whether it is framing text (definitions, recital,
    preamble, signature block)."""

    n: int
    text: str
    framing: bool = False


@dataclass
class Lead:
    text: str = ""
    spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # citation number -> [start, end) in text


_SENTENCE_END = re.compile(r"[。；！？!?;]|\.(?=\s|$)|\n")
_LINE_MARK = re.compile(r"^(#{1,6}\s+|[-*+]\s+|>\s*)")
_UNIT_LABEL = re.compile(r"^第[一二三四五六七八九十百零]+条\s*")


def sentences(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence of a clause (ends kept; Markdown heading/list marks excluded)."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append((start, m.end()))
        start = m.end()
    if start < len(text):
        out.append((start, len(text)))
    spans = []
    for s, e in out:
        chunk = text[s:e]
        lead_ws = len(chunk) - len(chunk.lstrip())
        s += lead_ws
        mark = _LINE_MARK.match(text[s:e])
        if mark:
            if mark.group(1).startswith("#"):
                continue  # a heading is a title, not a sentence
            s += mark.end()
        label = _UNIT_LABEL.match(text[s:e])
        if label:  # "第十二条 提供者应当…": the sentence starts after the article's label
            s += label.end()
        e = s + len(text[s:e].rstrip())
        if e > s:
            spans.append((s, e))
    return spans


def _is_sentence(sentence: str, language: str) -> bool:
    p = policy()
    if re.search(r"[\u4e00-\u9fff]", sentence):
        return len(sentence) >= p.min_chars["zh"]
    return len(sentence) >= p.min_chars["en"] and len(sentence.split()) >= p.min_words_en


def asked_values(question: str) -> list[ValueKind]:
    return [kind for kind in policy().values if kind.question.search(question)]


@dataclass
class _Scored:
    n: int
    start: int
    end: int
    text: str
    score: float
    matched: bool  # holds a question word or an asked-for value


def _score_sentences(
    question: str, language: str, pieces: list[Piece], weight_of: Callable[[str], float], wants_definition: bool
) -> list[_Scored]:
    p = policy()
    q_weights = {t: weight_of(t) for t in set(tokenize(question))}
    total = sum(q_weights.values()) or 1.0
    kinds = asked_values(question)
    scored = []
    for rank, piece in enumerate(pieces, 1):
        for s, e in sentences(piece.text):
            sentence = piece.text[s:e]
            if not _is_sentence(sentence, language):
                continue
            tokens = set(tokenize(sentence))
            coverage = sum(w for t, w in q_weights.items() if t in tokens) / total
            has_value = any(kind.value.search(sentence) for kind in kinds)
            score = coverage + p.rank_prior / rank + (p.value_bonus if has_value else 0.0)
            if piece.framing and not wants_definition:
                score *= p.framing_factor
            scored.append(_Scored(piece.n, s, e, sentence, score, coverage > 0 or has_value))
    return sorted(scored, key=lambda x: -x.score)


def compose_lead(
    question: str,
    language: str,
    pieces: list[Piece],
    weight_of: Callable[[str], float],
    wants_definition: bool = False,
    max_sentences: int | None = None,
) -> Lead:
    """The lead for an extractive answer ("" when no cited clause has a sentence)."""
    p = policy()
    limit = max_sentences or p.max_sentences
    scored = _score_sentences(question, language, pieces, weight_of, wants_definition)
    if not scored:
        return Lead()
    budget = p.max_chars["zh" if language == "zh" else "en"]
    chosen: list[_Scored] = [scored[0]]
    per_clause = {scored[0].n: 1}
    used = len(scored[0].text)
    for cand in scored[1:]:
        if len(chosen) >= limit or cand.score < p.also_within * scored[0].score:
            break
        if not cand.matched or per_clause.get(cand.n, 0) >= p.max_per_clause or used + len(cand.text) > budget:
            continue  # a further sentence must itself hold something the question asks about
        if any(cand.text in c.text or c.text in cand.text for c in chosen):
            continue
        chosen.append(cand)
        per_clause[cand.n] = per_clause.get(cand.n, 0) + 1
        used += len(cand.text)
    parts = [f"{c.text}[{c.n}]" if language == "zh" else f"{c.text} [{c.n}]" for c in chosen]
    text = ("" if language == "zh" else " ").join(parts)
    value = _front_value(question, chosen[0].text)
    if value:
        text = (f"{value}：" if language == "zh" else f"{value}: ") + text
    spans: dict[int, list[tuple[int, int]]] = {}
    for c in chosen:
        spans.setdefault(c.n, []).append((c.start, c.end))
    return Lead(text, spans)


def _front_value(question: str, sentence: str) -> str:
    for kind in asked_values(question):
        m = kind.value.search(sentence)
        if m:
            return m.group(0).strip()
    return ""
