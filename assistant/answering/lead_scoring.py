"""Which sentences of the cited clauses answer the question: a learned sentence model for the lead (``lead.py``).

``sentence_features(question, pieces, weight_of, similarity) -> (sentences, matrix)``: the candidate
sentences of the cited clauses and one row of ``FEATURES`` each: the question's rarity-weighted words a sentence
holds, where its clause was cited and how strongly it was ranked, whether it holds the kind of value asked for, its
place and length in the clause, and its embedding similarity to the question (absolute and against the best
candidate). ``LeadModel.probabilities`` gives each sentence the probability that it holds the answer's evidence;
``regqa train-lead`` (``lead_training.py``) fits the model on a question bank. Word lists are in
``resources/lead.toml`` ([features]).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest.keyword_index import tokenize

if TYPE_CHECKING:
    from assistant.answering.lead import LeadQuestion, Piece
    from ingest.embeddings import Embedder

# The features, in the model's column order. The model's metadata repeats them: a model trained on other columns is
# refused at load.
FEATURES = (
    "coverage",  # share of the question's (and its expansions') rarity-weighted words the sentence holds
    "question_coverage",  # the same for the question as asked
    "matched_words",
    "rarest_matched",  # the highest weight among the words it holds
    "citation",  # the clause's citation number
    "citation_inverse",
    "clause_share",  # the clause's ranking score as a share of the best cited clause's
    "framing",  # definition list, recital, preamble, signature block
    "wants_definition",
    "asks_value",  # the question asks for a date, duration, amount or threshold
    "holds_value",  # the sentence holds one of the kind asked for
    "holds_number",
    "position",  # the sentence's place in its clause (0 = first)
    "relative_position",
    "sentences_in_clause",
    "chars",
    "list_item",  # starts like "(a)", "（一）", "1."
    "obligation",  # shall, must, 应当, 不得 … ([features] obligation)
    "chinese",
    "question_chinese",
    "comparison",
    "words",
    "coverage_share",  # coverage against the best candidate's
    "best_coverage",  # 1 for the candidates with the best coverage
    "question_coverage_share",
    "best_question_coverage",
    "similarity",  # embedding similarity to the question
    "similarity_gap",  # similarity minus the best candidate's
    "most_similar",
)

SimilarityFunction = Callable[[str, Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Sentence:
    """A candidate sentence: its clause's citation number, [start, end) in the clause's text, and whether it holds
    something the question asks about (one of the words of the question or of its glossary expansions, which carry
    it into the other language, or the kind of value asked for). Only such a sentence may join the lead after its
    first: a clause's other lines (an instruction planted in a text, say) are not repeated as the answer."""

    n: int
    start: int
    end: int
    text: str
    matched: bool = True


@dataclass(frozen=True)
class FeatureWords:
    obligation: re.Pattern
    list_item: re.Pattern
    number: re.Pattern


def feature_words(data: dict) -> FeatureWords:
    words = data["features"]
    return FeatureWords(
        re.compile("|".join(words["obligation"]), re.I),
        re.compile("|".join(words["list_item"])),
        re.compile("|".join(words["number"])),
    )


def _coverage(weights: dict[str, float], tokens: set[str]) -> tuple[float, list[float]]:
    total = sum(weights.values())
    matched = [w for t, w in weights.items() if t in tokens]
    return (sum(matched) / total if total else 0.0), matched


def sentence_features(
    question: LeadQuestion,
    pieces: list[Piece],
    weight_of: Callable[[str], float],
    similarity: SimilarityFunction | None,
) -> tuple[list[Sentence], np.ndarray]:
    """The candidate sentences of the cited clauses (in citation order) and their feature rows."""
    from assistant.answering.lead import asked_values, is_sentence, policy, sentences

    words = policy().feature_words
    # in the question's word order, not a set's: sums in hash order differ in the last bits from process to process,
    # and retraining on the same data then gave another model
    weights = {t: weight_of(t) for t in dict.fromkeys(tokenize(question.text))}
    asked_weights = {t: weight_of(t) for t in dict.fromkeys(tokenize(question.asked or question.text))}
    kinds = asked_values(question.text)
    best_share = max((p.share for p in pieces), default=0.0)
    found: list[Sentence] = []
    rows: list[list[float]] = []
    for rank, piece in enumerate(pieces, 1):
        spans = [(s, e) for s, e in sentences(piece.text) if is_sentence(piece.text[s:e])]
        for position, (s, e) in enumerate(spans):
            text = piece.text[s:e]
            tokens = set(tokenize(text))
            coverage, matched = _coverage(weights, tokens)
            asked_coverage, _ = _coverage(asked_weights, tokens)
            holds_value = any(kind.value.search(text) for kind in kinds)
            chinese = bool(re.search(r"[\u4e00-\u9fff]", text))
            rows.append(
                [
                    coverage,
                    asked_coverage,
                    len(matched),
                    max(matched, default=0.0),
                    rank,
                    1 / rank,
                    piece.share / best_share if best_share > 0 else 0.0,
                    float(piece.framing),
                    float(question.wants_definition),
                    float(bool(kinds)),
                    float(holds_value),
                    float(bool(words.number.search(text))),
                    position,
                    position / len(spans),
                    len(spans),
                    len(text),
                    float(bool(words.list_item.match(text))),
                    float(bool(words.obligation.search(text))),
                    float(chinese),
                    float(question.language == "zh"),
                    float(question.comparison),
                    len(tokens),
                ]
            )
            found.append(Sentence(piece.n, s, e, text, bool(matched) or holds_value))
    if not found:
        return [], np.zeros((0, len(FEATURES)))
    x = np.array(rows, dtype=np.float64)
    relative = []
    for column in (0, 1):
        best = x[:, column].max()
        relative += [x[:, column] / best if best > 0 else x[:, column], (x[:, column] >= best).astype(float)]
    sims = similarity(question.asked or question.text, [s.text for s in found]) if similarity else np.zeros(len(found))
    x = np.column_stack([x, *relative, sims, sims - sims.max(), (sims >= sims.max()).astype(float)])
    return found, x


class LeadModelError(ValueError):
    """A sentence model file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class LeadModel:
    path: str
    booster: object  # lightgbm.Booster
    embedding_model: str  # the model the similarity features were computed with in training

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        if not len(features):
            return np.zeros(0)
        return np.asarray(self.booster.predict(features, num_threads=1), dtype=np.float64)  # type: ignore[attr-defined]


@lru_cache(maxsize=4)
def load_lead_model(path: str) -> LeadModel:
    import lightgbm

    model = Path(path)
    try:
        meta = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
        booster = lightgbm.Booster(model_file=str(model))
    except (OSError, ValueError, lightgbm.basic.LightGBMError) as exc:
        raise LeadModelError(f"{model}: cannot load the lead's sentence model: {exc}") from exc
    if tuple(meta.get("features", ())) != FEATURES:
        raise LeadModelError(f"{model}: trained on other features than this code computes; run `regqa train-lead`")
    return LeadModel(str(model), booster, str(meta.get("embedding_model", "")))


class SentenceSimilarity:
    """Cosine similarity of a question to sentences with the retrieval embedder. A sentence's vector comes from
    ``known`` (the collection's sentences, embedded at ingest: ``ingest/sentences.py``); one it lacks is embedded
    here and kept, at most ``keep`` of them."""

    def __init__(
        self, embedder: Embedder, known: Callable[[str], np.ndarray | None] | None = None, keep: int = 5_000
    ) -> None:
        self.embedder = embedder
        self.known = known or (lambda text: None)
        self.keep = keep
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.embedded_here = 0  # sentences embedded while answering (none when the index has them all)
        self._last_question: tuple[str, np.ndarray] | None = None  # a comparison asks once per side

    def __call__(self, question: str, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        found = {t: v for t in dict.fromkeys(texts) if (v := self.known(t)) is not None}
        if len(found) < len(set(texts)):
            with self._lock:
                missing = [t for t in dict.fromkeys(texts) if t not in found and t not in self._vectors]
                if missing:
                    self._vectors.update(zip(missing, self.embedder.embed_documents(missing)))
                    self.embedded_here += len(missing)
                for text in texts:
                    if text not in found:
                        self._vectors.move_to_end(text)
                        found[text] = self._vectors[text]
                while len(self._vectors) > self.keep:
                    self._vectors.popitem(last=False)
        last = self._last_question
        if last is not None and last[0] == question:
            q = last[1]
        else:
            q = self.embedder.embed_query(question)
            self._last_question = (question, q)
        return np.array([float(found[t] @ q) for t in texts])
