"""Answerability from evidence: the probability that the corpus answers a question, from how well the retrieved
clauses support it (``Evidence``) and what the question names.

A logistic model (standardised features, coefficients and threshold as JSON: ``resources/answerability.json``),
trained on the question bank by ``regqa train-answerability`` (assistant/answering/answerability_training.py);
the threshold is chosen on the validation split so that few answerable questions are declined. The explicit
rules of the guard (a named clause that does not exist, an unknown title, a foreign jurisdiction …) still come
first; this replaces the two hand-set thresholds of the weak-evidence rule.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.retrieval.glossary import find_names, names_of
from assistant.retrieval.policy import GuardPolicy
from assistant.retrieval.types import RetrievalResult
from ingest.keyword_index import tokenize

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")

MODEL_FILE = Path(__file__).resolve().parent.parent / "resources" / "answerability.json"
# the model for evidence from texts without enrichment (a user's own documents): trained on an index built without it
PLAIN_MODEL_FILE = MODEL_FILE.with_name("answerability-plain.json")

FEATURES: tuple[str, ...] = (
    "top_probability",
    "second_probability",
    "top_dense_similarity",
    "top_enrichment_similarity",
    "keyword_coverage",
    "unknown_word_share",
    "numbers_uncovered",
    "numbers_asked",
    "unknown_names",  # names (places, organisations …) the corpus never uses: 0, 1 or 2 and more
    "names_document",
    "names_clause",  # a clause named by number was found
    "names_jurisdiction",
    "names_foreign_jurisdiction",
    "mentions_companies_and_enforcement",
    "mentions_statistics",
    "mentions_amendment",
    "question_chinese",
    "follow_up",
    "question_words",  # log(1 + distinct words)
    "question_kind",  # the question-text model's score: asks a kind of fact regulation texts do not hold
)


def question_grams(text: str) -> list[str]:
    """What the question-text model reads: the keyword tokens (jieba words, stemmed English words), English word
    pairs and Chinese character pairs."""
    words = tokenize(text)
    english = [w for w in words if w.isascii()]
    pairs = [f"{a}_{b}" for a, b in zip(english, english[1:])]
    chars = [run[i : i + 2] for run in _HAN_RUN.findall(text) for i in range(len(run) - 1)]
    return words + pairs + chars


@dataclass(frozen=True)
class QuestionKindModel:
    """A linear model over tf-idf weighted ``question_grams`` (sublinear tf, l2-normalised): a positive score
    means the question asks for a kind of fact (a fee, a statistic, a court case, a city's rule, the future)
    that the bank's unanswerable questions ask for."""

    idf: dict[str, float]
    weights: dict[str, float]
    intercept: float

    def score(self, text: str) -> float:
        counts: dict[str, int] = {}
        for g in question_grams(text):
            if g in self.idf:
                counts[g] = counts.get(g, 0) + 1
        if not counts:
            return self.intercept
        values = {g: (1.0 + math.log(n)) * self.idf[g] for g, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in values.values()))
        return self.intercept + sum(v * self.weights.get(g, 0.0) for g, v in values.items()) / norm

    def to_dict(self) -> dict:
        return {
            "idf": {g: round(v, 4) for g, v in sorted(self.idf.items())},
            "weights": {g: round(v, 4) for g, v in sorted(self.weights.items()) if abs(v) >= 1e-4},
            "intercept": round(self.intercept, 6),
        }

    @classmethod
    def from_dict(cls, data: dict) -> QuestionKindModel:
        return cls(
            {str(g): float(v) for g, v in data["idf"].items()},
            {str(g): float(v) for g, v in data["weights"].items()},
            float(data["intercept"]),
        )


class AnswerabilityError(ValueError):
    """A model file that cannot be used; the message names the file."""


def _only_where_from(question: str, codes: tuple[str, ...], guard: GuardPolicy, named_text: str = "") -> bool:
    """Every mention of these jurisdictions says where the asker is or where data goes (``[guard.where_from]``,
    ``[guard.where_to]``), or that the country signs or joins a document the question names whose retrieved clauses
    (``named_text``, lower-cased) name that country: its list of signatories or participants (``[guard.party_to]``)."""
    lower = question.lower()
    mentions = list(names_of(codes).finditer(lower))
    return bool(mentions) and all(
        _from_or_to(lower, m, guard) or _party_to(lower, m, codes, guard, named_text) for m in mentions
    )


def _from_or_to(lower: str, mention: re.Match, guard: GuardPolicy) -> bool:
    """The words around ``mention`` say it is where the asker is from or where data goes ([guard.where_from] right
    after it, [guard.where_to] right before it)."""
    return bool(
        guard.where_from.match(lower, mention.end())
        or guard.where_to.search(lower[max(0, mention.start() - 40) : mention.start()])
    )


def _party_to(lower: str, mention: re.Match, codes: tuple[str, ...], guard: GuardPolicy, named_text: str) -> bool:
    """The country of ``mention`` signs or joins the document named, whose clauses (``named_text``) name that same
    country, and the question asks nothing more ([guard.party_to], [guard.party_to_more])."""
    signs = guard.party_to.match(lower, mention.end())
    if signs is None or guard.party_to_more.search(lower, signs.end()):
        return False
    country = [code for code in codes if names_of((code,)).fullmatch(mention.group(0))]
    return bool(country) and names_of(tuple(country)).search(named_text) is not None


def _where_from_names(question: str, names: tuple[str, ...], unknown: tuple[str, ...], guard: GuardPolicy) -> list[str]:
    """Those of ``names`` that only say where the asker is or where data goes: said so by the asker ("我们在深圳，…",
    "we're a startup in Berlin": ``[guard.where_we_are]``), or, for a name the corpus never uses (``unknown``: empty
    unless the question names a jurisdiction or document the corpus holds), read as ``[guard.where_from]`` /
    ``[guard.where_to]`` ("Lisbon office", "servers in …")."""
    lower = question.lower()
    found = []
    for name in names:
        mentions = list(find_names(name, lower))
        if mentions and all(
            guard.where_we_are.search(lower[max(0, m.start() - 60) : m.start()])
            or (name in unknown and _from_or_to(lower, m, guard))
            for m in mentions
        ):
            found.append(name)
    return found


def _asked_unknown_names(unknown: tuple[str, ...], where_from: list[str], codes: tuple[str, ...]) -> int:
    """How many of the names the corpus never uses the question asks about: not those that only say where the
    asker is, nor a jurisdiction's name ("Canadian": the jurisdiction features read it)."""
    jurisdictions = names_of(codes) if codes else None
    return sum(
        1
        for name in unknown
        if name not in where_from and not (jurisdictions is not None and jurisdictions.fullmatch(name))
    )


def features(result: RetrievalResult, guard: GuardPolicy, kind: QuestionKindModel | None) -> np.ndarray:
    a, e = result.analysis, result.evidence
    question = a.question
    # A foreign jurisdiction named as where the asker is from or where data goes, beside a jurisdiction or a
    # document the corpus holds ("we are a Japanese company offering … in China", "同步到新加坡的服务器"), says
    # nothing of whether the corpus answers: the model reads the question without it. (A question about a foreign
    # jurisdiction's own instrument, or naming only foreign jurisdictions and no document of ours, is declined by
    # the guard before this model.)
    named_text = " ".join(c.text for c in result.clauses[:5] if c.doc_id in a.doc_ids).lower()
    incidental = bool(a.foreign_jurisdictions and (a.jurisdictions or a.named_in_question)) and _only_where_from(
        question, a.foreign_jurisdictions, guard, named_text
    )
    asked = names_of(a.foreign_jurisdictions).sub(" ", question.lower()) if incidental else question
    # so is a name that only says where the asker is ("我们在上海，…"; one the corpus never uses also beside
    # [guard.where_from] / [guard.where_to]: "our Lisbon office")
    unknown_beside_ours = e.unknown_names if a.jurisdictions or a.named_in_question else ()
    where_from = _where_from_names(question, e.names, unknown_beside_ours, guard)
    for name in sorted(where_from):
        lower = asked.lower()
        for m in reversed(list(find_names(name, lower))):
            asked = asked[: m.start()] + " " + asked[m.end() :]
    return np.array(
        [
            e.top_probability,
            e.second_probability,
            e.top_dense_similarity,
            e.top_enrichment_similarity,
            e.keyword_coverage,
            e.unknown_word_share,
            min(e.numbers_uncovered, 3),
            min(e.numbers_asked, 3),
            min(_asked_unknown_names(e.unknown_names, where_from, a.foreign_jurisdictions + a.jurisdictions), 2),
            float(bool(a.named_in_question)),
            float(bool(result.lookup_hits)),
            float(bool(a.jurisdictions)),
            float(bool(a.foreign_jurisdictions) and not incidental),
            float(bool(guard.companies.search(question) and guard.enforcement.search(question))),
            float(bool(guard.statistics.search(question))),
            float(bool(guard.amendment.search(question))),
            float(a.language == "zh"),
            float(a.is_follow_up),
            math.log1p(e.question_words),
            kind.score(asked) if kind is not None else 0.0,
        ],
        dtype=np.float64,
    )


@dataclass(frozen=True)
class AnswerabilityModel:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float  # decline below this probability
    kind: QuestionKindModel | None = None
    named_threshold: float = 0.0  # the same when the question (or the conversation it continues) names a document
    #                               but no clause found by number: 0 = never

    def probability_of(self, result: RetrievalResult, guard: GuardPolicy) -> float:
        return self.probability(features(result, guard, self.kind))

    def probability(self, x: np.ndarray) -> float:
        z = float(((x - self.mean) / self.scale) @ self.coef + self.intercept)
        return 1.0 / (1.0 + math.exp(-z))

    def to_dict(self) -> dict:
        return {
            "features": list(FEATURES),
            "mean": self.mean.round(6).tolist(),
            "scale": self.scale.round(6).tolist(),
            "coef": self.coef.round(6).tolist(),
            "intercept": round(self.intercept, 6),
            "threshold": round(self.threshold, 4),
            "named_threshold": round(self.named_threshold, 4),
            "question_kind": self.kind.to_dict() if self.kind is not None else None,
        }


@lru_cache(maxsize=4)
def load_model(path: str = str(MODEL_FILE)) -> AnswerabilityModel | None:
    """The model, or None when the file does not exist (the guard then uses its two thresholds)."""
    file = Path(path)
    if not file.exists():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise AnswerabilityError(
                f"{file}: trained on other features than this code computes; retrain with `regqa train-answerability`"
            )
        return AnswerabilityModel(
            np.array(data["mean"], dtype=np.float64),
            np.array(data["scale"], dtype=np.float64),
            np.array(data["coef"], dtype=np.float64),
            float(data["intercept"]),
            float(data["threshold"]),
            QuestionKindModel.from_dict(data["question_kind"]) if data.get("question_kind") else None,
            float(data.get("named_threshold", 0.0)),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, AnswerabilityError):
            raise
        raise AnswerabilityError(f"{file}: not an answerability model ({exc})") from exc
