"""The vocabularies of query analysis: glossary expansions (resources/glossary.tsv) and jurisdiction names
(resources/jurisdictions.tsv), and how a name is found in text (substring for Chinese, whole words otherwise)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from ingest.keyword_index import _stem

_RESOURCES = Path(__file__).resolve().parent.parent / "resources"
CJK = re.compile(r"[\u3400-\u9fff]")


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
def name_pattern(name: str) -> re.Pattern:
    """A compiled pattern for a (lower-case) name: plain substring for Chinese, whole words for the rest."""
    if CJK.search(name):
        return re.compile(re.escape(name))
    return re.compile(r"(?<![a-z0-9])" + re.escape(name) + r"(?![a-z0-9])")


@lru_cache(maxsize=64)
def names_of(codes: tuple[str, ...]) -> re.Pattern:
    """Any name of these jurisdictions (resources/jurisdictions.tsv), longest first, in lower-cased text."""
    names = [name_pattern(n).pattern for n, c in jurisdiction_names() if c in codes]
    return re.compile("|".join(names) or "(?!)")


def codes_named(text_lower: str) -> tuple[str, ...]:
    """The jurisdictions a lower-cased text names by any of their names (no overlap resolution: query analysis
    decides which names count, this only asks which jurisdictions are mentioned)."""
    return tuple(dict.fromkeys(code for name, code in jurisdiction_names() if name_pattern(name).search(text_lower)))


def find_name(name: str, text_lower: str) -> re.Match | None:
    return name_pattern(name).search(text_lower)


def find_names(name: str, text_lower: str):
    return name_pattern(name).finditer(text_lower)


def _stemmed(text: str) -> str:
    """English words stemmed and single-spaced (" labelled deep fakes " -> " label deep fake "), for matching."""
    return " " + " ".join(_stem(w) for w in re.findall(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", text.lower())) + " "


def expand_terms(text: str) -> list[str]:
    """Glossary translations of the question's regulatory terms (EN->ZH and ZH->EN); English terms match
    whatever their inflection (labelled, labels, labelling -> label)."""
    lower = text.lower()
    stemmed = _stemmed(lower)
    out: list[str] = []
    for en, zhs, two_way in glossary():
        hit = bool(find_name(en, lower)) if CJK.search(en) else _stemmed(en) in stemmed
        if hit:
            out += zhs
        elif two_way and any(CJK.search(z) and z in text for z in zhs):  # ZH->EN (English right sides one-way)
            out.append(en)
    return list(dict.fromkeys(out))
