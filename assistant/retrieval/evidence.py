"""Evidence measures of a retrieval result: how well the best clauses support the question (the answerability
classifier's inputs: assistant/answering/answerability.py)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ingest.enrichment import texts_of
from ingest.keyword_index import tokenize

if TYPE_CHECKING:
    from assistant.retrieval.analysis import QueryAnalysis
    from assistant.retrieval.index import ClauseIndex

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


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
    question_words: int = 0  # distinct keyword tokens of the question
    enriched: bool = False  # the best clause's unit has enrichment (the answerability model was trained on such)

    def to_dict(self) -> dict:
        return asdict(self)


def measure(
    index: ClauseIndex,
    analysis: QueryAnalysis,
    ranked: dict[int, float],
    learned: bool,
    top_dense: float,
    top_enrichment: float,
    coverage: float,
    clauses: int,
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
        question_words=len(words),
        enriched=bool(rows) and bool(texts_of(index.metas[rows[0]])),
    )
