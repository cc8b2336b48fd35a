"""The keyword index beside Chroma: BM25 over jieba tokens (Chinese) and plain word tokens (English).

It is derived from the Chroma collection, never written independently: it is rebuilt from the collection's
rows and saved under ``<index_dir>/keyword`` with a fingerprint of those rows (ids + content hashes). On
load the fingerprint is compared with the collection; on any mismatch (an ingest killed before the keyword
step, another process that changed a shared Chroma server) it is rebuilt, so it is always consistent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .models import ENRICHMENT_KEYS, ChunkRow

if TYPE_CHECKING:  # for the annotation only: build() and load() import bm25s where they use it
    import bm25s

log = logging.getLogger(__name__)

_TERMS_FILE = Path(__file__).with_name("resources") / "regulatory_terms.txt"
_TOKEN = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+(?:[.\-'][a-z0-9]+)*")
_CJK = re.compile(r"[\u3400-\u9fff]")

CN_STOPWORDS = set(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "是",
        "在",
        "对",
        "为",
        "以",
        "等",
        "其",
        "之",
        "并",
        "由",
        "从",
        "向",
        "被",
        "把",
        "将",
        "也",
        "而",
        "且",
        "于",
        "中",
        "上",
        "下",
        "有",
        "无",
        "不",
        "要",
        "会",
        "能",
        "可",
        "吗",
        "呢",
        "吧",
        "啊",
        "么",
        "什么",
        "怎么",
        "哪些",
        "哪个",
        "如何",
        "是否",
        "这",
        "那",
        "这个",
        "那个",
        "我",
        "我们",
        "你",
        "他",
        "她",
        "它",
        "们",
        "一个",
        "需要",
        "应该",
        "什么样",
        "多少",
        "请问",
        "规定",
        "要求",
    ]
)
EN_STOPWORDS = set(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "by",
        "with",
        "as",
        "at",
        "from",
        "into",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "how",
        "why",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "may",
        "might",
        "must",
        "shall",
        "will",
        "not",
        "no",
        "nor",
        "than",
        "then",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "about",
        "under",
        "over",
        "if",
        "any",
        "all",
        "each",
        "such",
        "so",
        "also",
        "other",
        "more",
        "most",
        "some",
        "only",
        "own",
        "same",
        "very",
        "just",
        "both",
        "between",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "up",
        "down",
        "out",
        "off",
        "again",
        "further",
        "once",
        "here",
        "s",
        "t",
    ]
)

_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _jieba_lock:
        jieba.initialize()
        jieba.load_userdict(str(_TERMS_FILE))
    return jieba


def jieba_tokenizer():
    """jieba, initialised once with the glossary's terms (for other uses than tokens: part-of-speech tags)."""
    return _jieba()


# Bump when tokenization changes: it is part of the fingerprint, so saved keyword indexes are rebuilt.
TOKENIZER_VERSION = "3"


@lru_cache(maxsize=1)
def _english_stemmer():
    import Stemmer  # PyStemmer: the Snowball English stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """Snowball stem of an English word: labelling/labelled/labels -> label, decommissioning -> decommiss."""
    return _english_stemmer().stemWord(word)


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: jieba search-mode words for Chinese runs, lower-cased light-stemmed English words."""
    tokens: list[str] = []
    for run in _TOKEN.findall(text.lower()):
        if _CJK.match(run):
            for tok in _jieba().cut_for_search(run):
                if tok not in CN_STOPWORDS and (len(tok) > 1 or len(run) == 1):
                    tokens.append(tok)
        elif run not in EN_STOPWORDS:
            tokens.append(_stem(run))
    return tokens


def keyword_text(text: str, meta: dict) -> str:
    """What the keyword index sees of a chunk: document titles, heading path, the clause text and its unit's
    enrichment (questions and paraphrases it answers: ingest/enrichment.py)."""
    return "\n".join(
        [
            meta.get("title", ""),
            meta.get("title_en", ""),
            meta.get("path", ""),
            text,
            *(meta.get(key, "") for key in ENRICHMENT_KEYS),
        ]
    )


def fingerprint(rows: Iterable[tuple[str, dict]]) -> str:
    digest = hashlib.sha256(f"tokenizer {TOKENIZER_VERSION}\n".encode())
    for cid, meta in sorted(rows, key=lambda r: r[0]):
        keyed = f"{cid}\t{meta.get('sha256', '')}\t{meta.get('embed_sha', '')}\t{meta.get('ingest_key', '')}\n"
        digest.update(keyed.encode())  # the ingest key covers the unit's enrichment texts
    return digest.hexdigest()


@dataclass
class KeywordIndex:
    ids: list[str]
    fingerprint: str
    _bm25: bm25s.BM25 | None = None
    df: dict[str, int] | None = None  # document frequency of each token (for rarity-weighted coverage)
    tokens: list[list[str]] | None = None  # each chunk's distinct tokens (for coverage, without re-tokenizing)

    def idf(self, token: str) -> float:
        """Inverse document frequency; a token no chunk contains gets the highest value."""
        n = len(self.ids) or 1
        return math.log(1.0 + n / (1 + (self.df or {}).get(token, 0)))

    @classmethod
    def build(cls, rows: list[ChunkRow], fp: str) -> KeywordIndex:
        import bm25s

        ids = [cid for cid, _, _ in rows]
        corpus = [tokenize(keyword_text(text or "", meta)) or ["<empty>"] for _, meta, text in rows]
        bm25 = None
        if ids:
            bm25 = bm25s.BM25(k1=1.2, b=0.5)
            bm25.index(corpus, show_progress=False)
        df: dict[str, int] = {}
        for tokens in corpus:
            for tok in set(tokens):
                df[tok] = df.get(tok, 0) + 1
        return cls(ids=ids, fingerprint=fp, _bm25=bm25, df=df, tokens=[sorted(set(t)) for t in corpus])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (aligned with ``ids``); all zeros when nothing matches."""
        tokens = tokenize(query)
        if self._bm25 is None or not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        vocab = self._bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def save(self, directory: Path) -> None:
        """Atomic save: write a sibling temp directory, then swap it in."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".keyword-", dir=directory.parent))
        try:
            if self._bm25 is not None:
                self._bm25.save(str(tmp / "bm25"), show_progress=False)
            (tmp / "index.json").write_text(
                json.dumps({"fingerprint": self.fingerprint, "ids": self.ids, "df": self.df or {}}, ensure_ascii=False)
            )
            (tmp / "tokens.json").write_text(json.dumps(self.tokens or [], ensure_ascii=False))
            old = directory.with_name(directory.name + ".old")
            if directory.exists():
                shutil.rmtree(old, ignore_errors=True)
                os.replace(directory, old)
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> KeywordIndex | None:
        import bm25s

        try:
            info = json.loads((directory / "index.json").read_text())
            bm25 = bm25s.BM25.load(str(directory / "bm25"), show_progress=False) if info["ids"] else None
            tokens = json.loads((directory / "tokens.json").read_text())
            if len(tokens) != len(info["ids"]):
                raise ValueError("tokens.json does not match the index")
            return cls(ids=info["ids"], fingerprint=info["fingerprint"], _bm25=bm25, df=info["df"], tokens=tokens)
        except (OSError, ValueError, KeyError) as exc:
            log.info("keyword index at %s not loadable (%s): will rebuild", directory, exc)
            return None


def sync_keyword_index(rows: list[ChunkRow], directory: Path) -> tuple[KeywordIndex, bool]:
    """Return a keyword index consistent with ``rows`` (loading it or rebuilding it); and whether it was rebuilt."""
    fp = fingerprint((cid, meta) for cid, meta, _ in rows)
    existing = KeywordIndex.load(directory) if directory.exists() else None
    if existing is not None and existing.fingerprint == fp and existing.ids == [r[0] for r in rows]:
        return existing, False
    index = KeywordIndex.build(rows, fp)
    try:
        index.save(directory)
    except OSError as exc:  # read-only index dir: serve from memory, say so in the log
        log.warning("could not save keyword index to %s: %s", directory, exc)
    return index, True
