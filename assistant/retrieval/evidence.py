"""Evidence measures of a retrieval result: how well the best clauses support the question (the answerability
classifier's inputs: assistant/answering/answerability.py)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ingest.enrichment import texts_of
from ingest.keyword_index import jieba_tokenizer, tokenize

if TYPE_CHECKING:
    from assistant.retrieval.analysis import QueryAnalysis
    from assistant.retrieval.index import ClauseIndex

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"(?<![A-Za-z\u00C0-\u024F0-9'’-])[A-Z][A-Za-z\u00C0-\u024F0-9'’-]+")
_PRONOUN = re.compile(r"I['’]")  # I'm, I'd, I've, I'll
_SENTENCE_OPEN = re.compile(r"(?:^|[.?!:;\"“(\n])\s*$")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Evidence:
    top_probability: float = 0.0  # the learned ranking's best probability (0 under a rules-only policy)
    second_probability: float = 0.0
    top_dense_similarity: float = 0.0
    top_enrichment_similarity: float = 0.0
    keyword_coverage: float = 0.0  # rarity-weighted share of the question's words in the best clauses
    unknown_word_share: float = 0.0  # rarity-weighted share of the question's words that no clause contains
    unknown_words: tuple[str, ...] = ()  # those words, rarest first
    numbers_asked: int = 0  # numbers (years, amounts, article numbers) in the question
    numbers_uncovered: int = 0  # ... that the best clauses do not contain
    names: tuple[str, ...] = ()  # names in the question: places, organisations … (``names_in``)
    unknown_names: tuple[str, ...] = ()  # ... that the corpus never uses
    question_words: int = 0  # distinct keyword tokens of the question
    enriched: bool = False  # the best clause's unit has enrichment (the answerability model was trained on such)

    def to_dict(self) -> dict:
        return asdict(self)


def names_in(question: str, tags: tuple[str, ...]) -> tuple[str, ...]:
    """The question's names, lower-case: English capitalised words that do not open a sentence ("Amsterdam",
    "CJEU"), Chinese words jieba tags as one of ``tags`` (深圳, 纽约市)."""
    names = [
        m.group(0)
        for m in _CAPITALISED.finditer(question)
        if not _SENTENCE_OPEN.search(question[: m.start()]) and not _PRONOUN.match(m.group(0))
    ]
    if tags and _HAN.search(question):
        import jieba.posseg

        jieba_tokenizer()  # the keyword index's dictionary, loaded once
        names += [w for w, tag in jieba.posseg.cut(question) if tag in tags and len(w) > 1 and _HAN.search(w)]
    return tuple(dict.fromkeys(re.sub(r"['’]s?$", "", name).lower() for name in names))


def unknown_names(names: tuple[str, ...], df: dict[str, int], document_names: str, best_text: str) -> tuple[str, ...]:
    """Those of ``names`` that no clause (``df``: the keyword index's document frequencies) and no document name
    contains; a name counts only in the script of the best clauses (``best_text``): an English name asked of Chinese
    texts (a cross-lingual question) is not expected in them, nor a Chinese one in English texts."""
    han = len(_HAN.findall(best_text))
    latin = len(_LATIN.findall(best_text))
    unknown = []
    for name in names:
        if (_HAN.search(name) and han == 0) or (not _HAN.search(name) and latin < han):
            continue
        words = tokenize(name)
        if not words or any(df.get(w) for w in words):
            continue
        if re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", document_names):
            continue
        unknown.append(name)
    return tuple(unknown)


def measure(
    index: ClauseIndex,
    analysis: QueryAnalysis,
    ranked: dict[int, float],
    learned: bool,
    top_dense: float,
    top_enrichment: float,
    coverage: float,
    clauses: int,
    name_tags: tuple[str, ...] = (),
) -> Evidence:
    """The measures over the ``clauses`` best ranked rows (``ranked``: row -> score, best first)."""
    rows = list(ranked)[:clauses]
    probabilities = sorted((s for s in ranked.values() if s <= 1.0), reverse=True) if learned else []
    words = set(tokenize(analysis.topic_text or analysis.question))
    weights = {w: index.keyword.idf(w) for w in words}
    total = sum(weights.values())
    df = index.keyword.df or {}
    unknown = sorted((w for w in words if not df.get(w)), key=lambda w: -weights[w])
    best_text = "\n".join(index.texts[r] for r in rows)
    numbers = set(_NUMBER.findall(analysis.question))
    names = names_in(analysis.question, name_tags)
    return Evidence(
        top_probability=round(probabilities[0], 4) if probabilities else 0.0,
        second_probability=round(probabilities[1], 4) if len(probabilities) > 1 else 0.0,
        top_dense_similarity=round(top_dense, 4),
        top_enrichment_similarity=round(top_enrichment, 4),
        keyword_coverage=round(min(coverage, 1.0), 3),
        unknown_word_share=round(sum(weights[w] for w in unknown) / total, 3) if total else 0.0,
        unknown_words=tuple(unknown),
        numbers_asked=len(numbers),
        numbers_uncovered=sum(1 for n in numbers if n not in best_text),
        names=names,
        unknown_names=unknown_names(names, df, index.resolver.names_text, best_text),
        question_words=len(words),
        enriched=bool(rows) and bool(texts_of(index.metas[rows[0]])),
    )
