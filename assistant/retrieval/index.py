"""``ClauseIndex``: what the collection holds, in memory — chunk rows, stored embeddings, the (doc, unit) map,
the keyword index, each unit's role and the documents (with their name resolver). Reloaded when the collection
changes (also when another process re-indexed it)."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import numpy as np

from assistant.metrics import unit_norm
from assistant.retrieval.documents import DocInfo, DocResolver
from assistant.retrieval.policy import RankingPolicy, default_policy
from assistant.retrieval.references import units_cited
from assistant.retrieval.types import Filters
from common.documents import DocumentMeta
from common.settings import Settings
from ingest.catalog import CatalogEntry, load_catalog
from ingest.enrichment import EnrichmentVectors
from ingest.keyword_index import KeywordIndex, keyword_text, sync_keyword_index, tokenize
from ingest.pipeline import keyword_dir, load_sentences, sorted_rows, sync_enrichment
from ingest.roles import defined_terms, roles_of
from ingest.sentences import SentenceVectors
from ingest.store import ClauseStore

QUOTES = "“”\"'‘’「」『』"  # around a term a question asks about


def _defined_terms(texts: list[str]) -> dict[str, list[int]]:
    """Each term the clauses define (``ingest.roles.defined_terms``) -> the rows defining it."""
    defined: dict[str, list[int]] = {}
    for row, text in enumerate(texts):
        for term in defined_terms(text):
            defined.setdefault(term, []).append(row)
    return defined


@dataclass(frozen=True)
class UnitRoles:
    """Per row: the role of the unit it belongs to."""

    penalty: np.ndarray  # liability provisions (法律责任, Penalties, "违反本办法规定的…")
    final: np.ndarray  # final provisions (附则, Entry into force)
    definitions: np.ndarray  # definition lists (用语含义, Article 3 'Definitions')
    scope: np.ndarray  # scope articles (第二条 适用本规定, Article 2 'Scope')
    non_operative: np.ndarray  # recitals, preambles, promulgation notices
    signature: np.ndarray  # signature blocks, lists of signatories


def unit_roles(metas: list[dict]) -> UnitRoles:
    """Each row's unit roles, as decided at split time (ingest/roles.py; a definitions article among the final
    provisions holds both roles)."""
    roles = [roles_of(m) for m in metas]

    def having(*names: str) -> np.ndarray:
        return np.array([bool(r & set(names)) for r in roles], dtype=bool)

    return UnitRoles(
        penalty=having("penalty"),
        final=having("final_provision"),
        definitions=having("definitions"),
        scope=having("scope"),
        non_operative=having("recital", "preamble"),
        signature=having("signature_block"),
    )


def _documents(metas: list[dict], catalog: dict[str, CatalogEntry]) -> dict[str, DocInfo]:
    units_by_doc: dict[str, set[str]] = {}
    first_meta: dict[str, dict] = {}
    for m in metas:
        units_by_doc.setdefault(m["doc_id"], set()).add(m["unit"])
        first_meta.setdefault(m["doc_id"], m)
    docs = {}
    for doc_id, m in first_meta.items():
        entry = catalog.get(doc_id)
        amended = (entry.version_date if entry else "") or str(m.get("amended") or "")
        dates = (m.get("issued", ""), m.get("effective", ""), amended)
        document = DocumentMeta.from_metadata(m)
        docs[doc_id] = DocInfo(
            **{**vars(document), "title": document.title or doc_id},
            aliases=entry.aliases if entry else (),
            not_included=entry.not_included if entry else (),
            text_year=max([int(d[:4]) for d in dates if d[:4].isdigit()], default=0),
            amended_year=int(amended[:4]) if amended[:4].isdigit() else 0,
            units=frozenset(units_by_doc[doc_id]),
        )
    return docs


class ClauseIndex:
    """What the collection holds, in memory: chunk rows, (doc, unit) map, keyword index, documents."""

    # set together by ``refresh``
    ids: list[str]
    metas: list[dict]
    texts: list[str]
    position: dict[str, int]
    vectors: np.ndarray
    enrichment: EnrichmentVectors
    sentence_vectors: SentenceVectors
    _tokens: dict[int, set[str]]
    _heading_tokens: dict[int, set[str]]
    _title_tokens: dict[str, set[str]]
    _cited: dict[int, dict[str, frozenset[str]]]
    _lower_text: str | None  # the clause texts, lower-cased (mentions, mentions_number)
    _described_text: str | None  # each document's id, titles, issuer and aliases, lower-cased (mentions_number)
    _defined: dict[str, list[int]]  # each term a clause defines (lower case) -> the rows defining it
    keyword: KeywordIndex
    doc_of: np.ndarray
    status_of: np.ndarray
    roles: UnitRoles
    language_of: np.ndarray
    languages: list[str]
    jurisdiction_of: np.ndarray
    unit_rows: dict[tuple[str, str], list[int]]
    docs: dict[str, DocInfo]
    resolver: DocResolver

    def __init__(
        self, settings: Settings, store: ClauseStore | None = None, policy: RankingPolicy | None = None
    ) -> None:
        self.settings = settings
        self.policy = policy or default_policy()
        self.store = store or ClauseStore(settings)
        self._lock = threading.Lock()
        self.fingerprint = ""
        self._checked = time.monotonic()
        self._published_seen = ""
        self.refresh()

    def refresh(self) -> bool:
        """Reload from the collection if it changed. Returns True when something was reloaded."""
        rows = sorted_rows(self.store)
        keyword, _ = sync_keyword_index(rows, keyword_dir(self.settings))
        if keyword.fingerprint == self.fingerprint:
            return False
        catalog = load_catalog(self.settings.catalog_path)
        # Everything is computed first and then assigned in one go: requests read the index without the lock, and
        # must not meet new rows beside an old keyword index while the vectors load.
        ids = [r[0] for r in rows]
        metas = [r[1] for r in rows]
        unit_rows: dict[tuple[str, str], list[int]] = {}
        for i, m in enumerate(metas):
            unit_rows.setdefault((m["doc_id"], unit_norm(m["unit"])), []).append(i)
        language_of = np.array([m.get("language", "") for m in metas], dtype=object)
        docs = _documents(metas, catalog)
        state = {
            "ids": ids,
            "metas": metas,
            "texts": [r[2] or "" for r in rows],
            "position": {cid: i for i, cid in enumerate(ids)},
            "vectors": self.store.vectors(ids),  # unit-length rows, for exact (deterministic) dense search
            "enrichment": sync_enrichment(self.settings, metas),  # its rows follow ids
            "sentence_vectors": load_sentences(self.settings),  # saved by ingest, for the lead's sentence model
            "_tokens": {},
            "_heading_tokens": {},
            "_title_tokens": {},
            "_cited": {},
            "_lower_text": None,
            "_described_text": None,
            "_defined": _defined_terms([r[2] or "" for r in rows]),
            "keyword": keyword,
            "doc_of": np.array([m.get("doc_id", "") for m in metas], dtype=object),
            "status_of": np.array([m.get("status", "") for m in metas], dtype=object),
            "roles": unit_roles(metas),
            "language_of": language_of,
            "languages": sorted(set(language_of)),
            "jurisdiction_of": np.array([m.get("jurisdiction", "") for m in metas], dtype=object),
            "unit_rows": unit_rows,
            "docs": docs,
            "resolver": DocResolver(list(docs.values()), self.policy.names),
            "fingerprint": keyword.fingerprint,
        }
        with self._lock:
            self.__dict__.update(state)
        return True

    def refresh_if_changed(self) -> bool:
        """Cheap check (at most every ``index_refresh_s``) whether another process re-indexed; reload if so."""
        now = time.monotonic()
        if now - self._checked < self.settings.index_refresh_s:
            return False
        self._checked = now
        try:
            published = self.store.published_fingerprint()
        except Exception:  # server unreachable: keep serving what we have; the query will report the error
            return False
        if not published or published == self._published_seen:
            return False  # nothing new (also when our fingerprint differs for good, e.g. an older tokenizer's)
        self._published_seen = published
        return published != self.fingerprint and self.refresh()

    def __len__(self) -> int:
        return len(self.ids)

    def mentions(self, name: str) -> bool:
        """Whether any clause mentions ``name`` (case-insensitive): an instrument our texts refer to, such as the
        Defense Production Act in EO 14110, is something the corpus can speak about."""
        return name.lower() in self._clause_text()

    def _clause_text(self) -> str:
        if self._lower_text is None:
            self._lower_text = "\n".join(self.texts).lower()
        return self._lower_text

    def mentions_number(self, number: str) -> bool:
        """Whether any clause, or any document's title, issuer, id or alias, mentions ``number`` as a whole number
        ("14110" in "Executive Order 14110" or in the id us-eo-14110-2023; not "1047" in "10475" or "2019/1047.3")."""
        if self._described_text is None:
            described = (" ".join([d.doc_id, d.title, d.title_en, d.issuer, *d.aliases]) for d in self.docs.values())
            self._described_text = "\n".join(described).lower()
        pattern = re.compile(r"(?<![\d.])" + re.escape(number.lower()) + r"(?![\d]|\.\d)")
        return any(pattern.search(text) for text in (self._clause_text(), self._described_text))

    def rows_defining(self, question: str) -> np.ndarray:
        """The rows that define a term the question asks the meaning of: a term of the collection's definitions
        (``ingest.roles.defined_terms``) in quotes in the question, or right before the words of
        ``asked_term_after``, or right after those of ``asked_term_before`` and ending the phrase ("什么是数据？", not
        "什么是数据出境安全评估" nor "什么是深度合成服务提供者的义务"); of terms inside one another, the longest. Document
        names are left out of the question first (网络安全法 does not ask what 网络安全 means)."""
        rows = np.zeros(len(self.ids), dtype=bool)
        q = self.resolver.without_names(question).lower()
        rules = self.policy.analysis
        present = [t for t in self._defined if t in q]
        for term in present:
            if any(term != other and term in other for other in present):
                continue
            edge = r"\b" if term[:1].isascii() and term[-1:].isascii() else ""
            for m in re.finditer(edge + re.escape(term) + edge, q):
                before, after = q[: m.start()], q[m.end() :]
                quoted = bool(before and after) and before[-1] in QUOTES and after[0] in QUOTES
                ends_phrase = not after or not (after[0].isalnum() or after[0] == "的")
                if (
                    quoted
                    or rules.asked_term_after.match(after)
                    or (ends_phrase and rules.asked_term_before.search(before))
                ):
                    rows[self._defined[term]] = True
                    break
        return rows

    def is_framing(self, chunk_id: str) -> bool:
        """Text that frames rather than rules: a definition list, a recital, a preamble or promulgation notice,
        a signature block. Quoted only when it holds the answer."""
        row = self.position.get(chunk_id)
        if row is None:
            return False
        return bool(self.roles.definitions[row] or self.roles.non_operative[row] or self.roles.signature[row])

    def tokens_of(self, row: int) -> set[str]:
        """The keyword tokens of a chunk (computed on first use, then cached)."""
        tokens = self._tokens.get(row)
        if tokens is None:
            saved = self.keyword.tokens
            tokens = self._tokens[row] = (
                set(saved[row])
                if saved and len(saved) == len(self.ids)
                else set(tokenize(keyword_text(self.texts[row], self.metas[row])))
            )
        return tokens

    def units_cited(self, row: int) -> dict[str, frozenset[str]]:
        """The unit labels a chunk refers to by number, normalised, each with the paragraphs cited ("" the whole
        unit): "违反本法第二十一条…" -> {第二十一条: {""}} (cached)."""
        cited = self._cited.get(row)
        if cited is None:
            cited = self._cited[row] = {unit_norm(u): frozenset(p) for u, p in units_cited(self.texts[row]).items()}
        return cited

    def heading_tokens_of(self, row: int) -> set[str]:
        """The keyword tokens of a chunk's heading path (cached)."""
        tokens = self._heading_tokens.get(row)
        if tokens is None:
            tokens = self._heading_tokens[row] = set(tokenize(self.metas[row].get("path", "")))
        return tokens

    def title_tokens_of(self, doc_id: str) -> set[str]:
        """The keyword tokens of a document's titles (cached)."""
        tokens = self._title_tokens.get(doc_id)
        if tokens is None:
            info = self.docs.get(doc_id)
            titles = [getattr(info, "title", "") or "", getattr(info, "title_en", "") or ""] if info else []
            tokens = self._title_tokens[doc_id] = set(tokenize(" ".join(titles)))
        return tokens

    def rows_of_unit(self, doc_id: str, unit: str) -> list[int]:
        return self.unit_rows.get((doc_id, unit_norm(unit)), [])

    def mask(self, filters: Filters) -> np.ndarray:
        keep = np.ones(len(self.ids), dtype=bool)
        if filters.jurisdictions:
            keep &= np.isin(self.jurisdiction_of, list(filters.jurisdictions))
        if filters.doc_ids:
            keep &= np.isin(self.doc_of, list(filters.doc_ids))
        if filters.statuses:
            keep &= np.isin(self.status_of, list(filters.statuses))
        return keep
