"""The indexed documents as query analysis sees them (``DocInfo``) and the resolver of document names
(full titles, short names, aliases) in free text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.retrieval.dictionary import name_matches
from assistant.retrieval.dictionary import policy as dictionary_policy
from assistant.retrieval.glossary import CJK, find_names
from assistant.retrieval.policy import NamesPolicy, default_policy
from common.documents import NO_LONGER_IN_FORCE, DocumentMeta

REVOKED_STATUSES = NO_LONGER_IN_FORCE  # the one status vocabulary: common/documents.py
_TRAILING_NOTE = re.compile(r"[（(][^）)]*[）)]\s*$")  # a trailing "(2021-11-25)", "（试行）", "（一）"


@dataclass(frozen=True, kw_only=True)
class DocInfo(DocumentMeta):
    """A document as the resolver and the ranking see it: its ``DocumentMeta`` plus the catalog's aliases, the
    year of the newest version its text includes, and the unit labels present in the index."""

    aliases: tuple[str, ...] = ()
    not_included: tuple[str, ...] = ()  # the catalog's: texts the file says it does not include
    text_year: int = 0
    amended_year: int = 0  # the year of the latest amendment the text includes (catalog version_date, else as ingested)
    units: frozenset[str] = frozenset()


class DocResolver:
    """Resolves document names (full titles, short names, aliases) in free text to doc_ids."""

    def __init__(self, docs: list[DocInfo], policy: NamesPolicy | None = None):
        self.policy = policy or default_policy().names
        self.docs = {d.doc_id: d for d in docs}
        # A name shared by several versions (网络安全法 2016 and 2025) resolves to the one in force.
        by_name: dict[str, str] = {}
        self.names_of: dict[str, tuple[str, ...]] = {}  # doc_id -> every name it is known by, lower-case
        for name, doc_id in sorted(set(self._names_of(docs))):
            self.names_of[doc_id] = (*self.names_of.get(doc_id, ()), name)
            current = by_name.get(name)
            if current is None or (
                self.docs[current].status in REVOKED_STATUSES and self.docs[doc_id].status not in REVOKED_STATUSES
            ):
                by_name[name] = doc_id
        self._names = sorted(by_name.items(), key=lambda p: -len(p[0]))
        self.names_text = "\n".join(name for name, _ in self._names)  # every name, lower-case, one per line
        self.names_text_unspaced = self.names_text.replace(" ", "")  # the same without spaces (standard numbers)
        self._same_title: dict[str, list[str]] = {}
        for d in docs:
            self._same_title.setdefault(d.title, []).append(d.doc_id)
        # the documents held in more than one version (网络安全法 2016 and 2025)
        self.with_other_versions = frozenset(d for ids in self._same_title.values() if len(ids) > 1 for d in ids)
        # the year of the newest version held of each text (网络安全法（2016年原文） is held in its 2025 amended
        # version too), and the texts held only in a version amended after they were issued: (year issued, amended)
        self.newest_year = {
            d.doc_id: max(self.docs[v].text_year for v in self.versions_of(d.doc_id)) for d in docs if d.text_year
        }
        self.held_only_amended = {
            d.doc_id: (int(d.issued[:4]), d.amended_year)
            for d in docs
            if (d.issued or "")[:4].isdigit()
            and 0 < int(d.issued[:4]) < d.amended_year
            and len(self.versions_of(d.doc_id)) == 1
        }
        # what each document's file leaves out, by its version note (the catalog's not_included)
        self.not_included = {d.doc_id: d.not_included for d in docs if d.not_included}
        # (doc_id, bare title) of the documents with no name in Latin letters
        self._named_only_in_chinese = [
            (d.doc_id, self._bare_title(d.title))
            for d in docs
            if not any(re.search(r"[A-Za-z]{2,}", name or "") for name in (d.title, d.title_en, *d.aliases))
        ]
        # Only when some document has a Chinese name (title or alias) to compare with does a Chinese title that
        # matches none show a text the collection does not hold: in a collection of English rulebooks, a Chinese
        # title is a translation no name can match.
        self.names_documents_in_chinese = any(
            any(CJK.search(name or "") for name in (d.title, d.title_en, *d.aliases)) for d in docs
        )

        self._loose = _LooseNames(docs, self.policy)
        # (doc_id, Chinese title without the country prefix and a trailing note), for shortened titles; not the
        # catalog's aliases, which are names users say already (人工智能基本法 of the Korean act is no 人工智能法)
        self._chinese_titles = [
            (d.doc_id, bare) for d in docs if CJK.search(d.title or "") and (bare := self._bare_title(d.title))
        ]

    def _bare_title(self, title: str) -> str:
        """A title without the country prefix (中华人民共和国) and a trailing note ("(2021-11-25)", "（试行）")."""
        return _TRAILING_NOTE.sub("", re.sub(self.policy.strip_prefix, "", title)).strip()

    def find_loosely(self, name: str) -> str | None:
        """The document an English name that none of our names matches names loosely ("the NDS Regulation",
        "the Network Data Security Regulation"; see ``_LooseNames``), if exactly one does (or one in force among
        versions of one title)."""
        return self._one_title(self._loose.find(name))

    def find_abbreviated(self, name: str) -> str | None:
        """The document a shortened Chinese title names (浙江公共信用条例 for 浙江省公共信用信息管理条例, 浙江电商条例 for
        浙江省电子商务条例): the one title (or versions of one) holding its characters in the same order, from the
        title's first character to the same ending (``title_endings``)."""
        name = re.sub(self.policy.strip_prefix, "", re.sub(r"\s", "", name))
        if len(name) < self.policy.min_abbreviation_chars or not CJK.search(name):
            return None
        found = [doc_id for doc_id, title in self._chinese_titles if _shortens(name, title, self.policy.title_endings)]
        return self._one_title(found)

    def find_shortened(self, text: str) -> list[tuple[str, str]]:
        """(doc_id, name) of each shortened Chinese title in ``text`` (电商法, 浙江电商条例: see ``find_abbreviated``),
        in order of appearance; a name that shortens the titles of several texts names none."""
        endings = self.policy.title_endings
        hits: dict[int, tuple[str, str]] = {}
        for title in dict.fromkeys(t for _, t in self._chinese_titles):
            one_char_ending = len(_ending(title, endings)) == 1
            for i in (k for k, char in enumerate(text) if char == title[0] and k not in hits):
                for j in range(i + self.policy.min_abbreviation_chars, min(len(text), i + len(title) - 1) + 1):
                    name = text[i:j]
                    if one_char_ending and text[j : j + 1] in self.policy.not_after_title:
                        continue  # 网安法规, 个保法律: the ending 法 starts a longer word
                    if _shortens(name, title, endings):
                        doc_id = self.find_abbreviated(name)
                        if doc_id is not None:
                            hits[i] = (doc_id, name)
                        break
        return [hits[i] for i in sorted(hits)]

    def find_interpretations(self, text: str) -> list[tuple[str, str]]:
        """(doc_id, topic) of each court interpretation named by its topic ("人脸识别司法解释": ``interpretation_words``):
        the one document issued by one of ``interpretation_issuers`` whose title holds the longest tail (at least
        ``min_abbreviation_chars`` + 1 characters) of the words right before."""
        p = self.policy
        issued = [(d, t) for d, t in self._chinese_titles if t.startswith(p.interpretation_issuers)]
        if not issued or not p.interpretation_words:
            return []
        found: list[tuple[str, str]] = []
        words = "|".join(map(re.escape, p.interpretation_words))
        for m in re.finditer(rf"([\u4e00-\u9fff]+?)(?:这部|那部|这个|该|的)?(?:{words})", text):
            before = m.group(1)
            for start in range(len(before) - p.min_abbreviation_chars):
                topic = before[start:]
                doc_id = self._one_title([d for d, t in issued if topic in t])
                if doc_id is not None:
                    found.append((doc_id, topic))
                    break
        return found

    def _one_title(self, found: list[str]) -> str | None:
        """The one document of ``found`` (the one in force among versions of one title), None when they are several
        or none."""
        if len({self.docs[d].title for d in found}) != 1:
            return None
        in_force = [d for d in found if self.docs[d].status not in REVOKED_STATUSES]
        return (in_force or found)[0]

    def _names_of(self, docs: list[DocInfo]) -> list[tuple[str, str]]:
        """(lower-case name, doc_id) for every name of every document, also without the country prefix."""
        names: list[tuple[str, str]] = []
        for d in docs:
            for name in {d.title, d.title_en, d.doc_id, *d.aliases}:
                name = (name or "").strip()
                if len(name) >= self.policy.min_chars:
                    names.append((name.lower(), d.doc_id))
                    bare = re.sub(self.policy.strip_prefix, "", name)
                    if bare != name and len(bare) >= self.policy.min_bare_chars:
                        names.append((bare.lower(), d.doc_id))
        return names

    def find_translated(self, name: str) -> str | None:
        """The document an English law name ("China's E-Commerce Law") names by translation, among the documents
        named only in Chinese (a user's 电子商务法 without an English title): the one whose title it matches best,
        if it matches well enough and no other as well."""
        if not self._named_only_in_chinese:
            return None  # (so the dictionary is loaded only for a collection that has such documents)
        scores = sorted(
            ((name_matches(name, title), doc_id) for doc_id, title in self._named_only_in_chinese), reverse=True
        )
        best, doc_id = scores[0]
        if best < dictionary_policy().name_share or (len(scores) > 1 and scores[1][0] == best):
            return None
        return doc_id

    def versions_of(self, doc_id: str) -> list[str]:
        """The documents sharing this one's title (网络安全法 2016 and 2025), itself included."""
        info = self.docs.get(doc_id)
        return self._same_title.get(info.title, [doc_id]) if info is not None else [doc_id]

    def old_version_of(self, doc_id: str) -> str:
        """The revoked/superseded document that shares this one's title (网络安全法 2016 for 2025), or itself."""
        info = self.docs.get(doc_id)
        if info is None or info.status in REVOKED_STATUSES:
            return doc_id
        for other in self._same_title.get(info.title, []):
            if other != doc_id and self.docs[other].status in REVOKED_STATUSES:
                return other
        return doc_id

    def find(self, text: str) -> list[tuple[str, str]]:
        """(doc_id, matched name) in order of appearance; longer names win over names inside them."""
        lower = text.lower()
        taken = [False] * len(lower)
        hits: list[tuple[int, str, str]] = []
        for name, doc_id in self._names:
            for m in find_names(name, lower):
                if any(taken[m.start() : m.end()]):
                    continue
                for i in range(m.start(), m.end()):
                    taken[i] = True
                hits.append((m.start(), doc_id, text[m.start() : m.end()]))
        hits.sort()
        seen, out = set(), []
        for _, doc_id, name in hits:
            if doc_id not in seen:
                seen.add(doc_id)
                out.append((doc_id, name))
        return out

    def without_names(self, text: str) -> str:
        """``text`` with every document name blanked out (what is left is the question's topic)."""
        lower = text.lower()
        keep = list(text)
        for name, _ in self._names:
            for m in find_names(name, lower):
                for i in range(m.start(), m.end()):
                    keep[i] = " "
        return "".join(keep)

    def names_part_of_a_title(self, name: str) -> bool:
        """Whether the last (two) words of an English name occur in one of our titles or aliases ("the Framework
        Convention", "the AI Convention", "the Framework Act" are ours, loosely named)."""
        tail_words = self.policy.title_tail_words
        words = re.findall(r"[a-z0-9]+", name.lower())[-tail_words:]
        if len(words) < tail_words:
            return False
        tail = " ".join(words)
        return any(tail in " ".join(re.findall(r"[a-z0-9]+", n)) for n, _ in self._names if not CJK.search(n))

    def resembles_a_title(self, name: str) -> bool:
        """Whether ``name`` looks like one of our documents' names written loosely (网络数据条例 for
        网络数据安全管理条例): character-bigram overlap with any title or alias."""
        grams = _bigrams(name)
        threshold = self.policy.resemblance
        return any(
            grams and len(grams & _bigrams(n)) / len(grams | _bigrams(n)) >= threshold
            for n, _ in self._names
            if CJK.search(n)
        )

    def resolve_title(self, title: str) -> str | None:
        found = self.find(title)
        return found[0][0] if found else None


def _ending(title: str, endings: tuple[str, ...]) -> str:
    return max((e for e in endings if title.endswith(e)), key=len, default=title[-1:])


def _shortens(name: str, title: str, endings: tuple[str, ...]) -> bool:
    """Whether ``name`` is ``title`` shortened: its characters in the title's order, the first the title's first, the
    same ending, and a character left out before the last one it keeps (数据安全法 is shortened as 数安法, not as the
    word 数据 plus 法)."""
    if name == title or len(name) >= len(title) or name[0] != title[0]:
        return False
    ending = _ending(title, endings)
    if not name.endswith(ending) or _ending(name, endings) != ending:
        return False
    core, title_core = name[: len(name) - len(ending)], title[: len(title) - len(ending)]
    if title_core.startswith(core):
        return False  # only the tail before the ending left out: a word and a kind of text, not a name
    rest = iter(title_core[1:])
    return all(char in rest for char in core[1:])


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"[^\u4e00-\u9fff]", "", text)
    return {text[i : i + 2] for i in range(len(text) - 1)}


_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][sS])?")


class _LooseNames:
    """English names matched word by word, in two safe cases: the name is one of the document's names once words are
    put in the singular and stop words left out ("the Network Data Security Regulation"), or each of its words is a
    word of the document's names or the initials of a run of them, and one of its words is initials that only this
    document's names have (NDS: Network Data Security; not "AI", which every title spells out). A name of other words
    ("the California AI Transparency Act", "the Vilnius Convention") is another text."""

    def __init__(self, docs: list[DocInfo], policy: NamesPolicy) -> None:
        self.stop = frozenset(policy.loose_stop_words)
        self.words: dict[str, set[str]] = {}  # doc_id -> its names' words and initials
        self.initials: dict[str, set[str]] = {}  # doc_id -> the initials of runs of its names' words
        self.phrases: dict[str, set[tuple[str, ...]]] = {}  # doc_id -> its names, singular, without stop words
        for d in docs:
            words: set[str] = set()
            initials: set[str] = set()
            phrases: set[tuple[str, ...]] = set()
            for name in {d.title, d.title_en, *d.aliases}:
                if not name or CJK.search(name):
                    continue
                tokens = self._tokens(name)
                content = [t for t in tokens if t not in self.stop]
                words |= set(content)
                phrases.add(tuple(content))
                for run in (tokens, content):
                    for size in range(2, 6):
                        initials |= {"".join(t[0] for t in run[i : i + size]) for i in range(len(run) - size + 1)}
            if words:
                self.words[d.doc_id] = words | initials
                self.initials[d.doc_id] = initials - words
                self.phrases[d.doc_id] = phrases
        self.documents_with: dict[str, int] = {}
        for known in self.words.values():
            for w in known:
                self.documents_with[w] = self.documents_with.get(w, 0) + 1

    @staticmethod
    def _tokens(text: str) -> list[str]:
        out = []
        for token in _LATIN_WORD.findall(text):
            word = re.sub(r"['’]s$", "", token.lower())
            if len(word) > 3 and word.endswith("ies"):
                word = word[:-3] + "y"
            elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
            out.append(word)
        return out

    def find(self, name: str) -> list[str]:
        words = [t for t in self._tokens(name) if t not in self.stop]
        if len(words) < 2:
            return []
        as_phrase = [d for d, phrases in self.phrases.items() if tuple(words) in phrases]
        if as_phrase:
            return as_phrase
        return [
            doc_id
            for doc_id, known in self.words.items()
            if all(w in known for w in words)
            and any(w in self.initials[doc_id] and self.documents_with.get(w) == 1 for w in words)
        ]
