"""Hybrid clause retrieval: dense (Chroma) + BM25 (jieba) fused by weighted scores, with direct clause lookup,
document routing, priors from the structure of legal texts (non-operative, definition and scope units, final
provisions), revoked-version handling, filters and cross-reference expansion.

``ClauseIndex`` is the in-memory view of the indexed collection (rows, unit map, keyword index, document
resolver); ``HybridRetriever.run(question, …) -> RetrievalResult`` is the retrieval stage;
``ClauseRetriever`` exposes it as a LangChain ``BaseRetriever``.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.comparison import Side, comparison_sides, interleave, side_mask
from assistant.comparison import policy as comparison_policy
from common.documents import NO_LONGER_IN_FORCE as REVOKED_STATUSES
from common.settings import Settings
from assistant.metrics import unit_norm
from assistant.query import ClauseRef, DocInfo, DocResolver, QueryAnalysis, analyse, int_to_cn
from ingest.catalog import load_catalog
from ingest.embeddings import Embedder, load_embedder
from ingest.keyword_index import KeywordIndex, keyword_text, sync_keyword_index, tokenize
from ingest.pipeline import keyword_dir, sorted_rows
from ingest.roles import roles_of
from ingest.store import ClauseStore, IndexUnavailable

# Fusion weights (chosen on the dev set as round values in the middle of a flat optimum, not per question):
# score = bm25/max(bm25) + DENSE_WEIGHT * dense_similarity rescaled from DENSE_FLOOR..max to 0..1.
DENSE_WEIGHT = 0.5
DENSE_FLOOR = 0.2
DENSE_CANDIDATES = 200
NAMED_DOC_BOOST = 2.0
JURISDICTION_BOOST = 1.5
LANGUAGE_BOOST = 1.2
NON_OPERATIVE_FACTOR = 0.7  # recitals, preambles, promulgation notices
REVOKED_FACTOR = 0.5
INTENT_FACTOR = 1.5
MAX_PIECES_PER_UNIT = 2
PURE_LOOKUP_MAX_WORDS = 3  # "What does Article 56 of the AI Act deal with?" asks for the whole unit
COVERAGE_WEIGHT = 1.0  # + share of the question's rare words a candidate contains (flat optimum 1.0-1.5 on dev)
COVERAGE_CANDIDATES = 50  # a question about penalties (or entry into force) favours the liability (final) provisions
OLD_VERSION_BOOST = 1.5
FRAMING_FACTOR = 0.7  # definition lists and scope articles, unless the question asks for one (then x BOOST)
FRAMING_BOOST = 1.2


@dataclass(frozen=True)
class Filters:
    jurisdictions: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    @classmethod
    def of(cls, value: "Filters | dict | None") -> "Filters":
        if value is None:
            return cls()
        if isinstance(value, Filters):
            return value

        def tup(v):
            if not v:
                return ()
            return (v,) if isinstance(v, str) else tuple(v)

        return cls(jurisdictions=tup(value.get("jurisdiction") or value.get("jurisdictions")),
                   doc_ids=tup(value.get("doc_id") or value.get("doc_ids") or value.get("document")),
                   statuses=tup(value.get("status") or value.get("statuses")))

    def __bool__(self) -> bool:
        return bool(self.jurisdictions or self.doc_ids or self.statuses)


@dataclass
class RetrievedClause:
    chunk_id: str
    doc_id: str
    unit: str
    locator: str
    text: str
    meta: dict
    score: float
    signals: dict = field(default_factory=dict)  # which searches found it, at which rank

    @property
    def title(self) -> str:
        return self.meta.get("title", self.doc_id)

    @property
    def status(self) -> str:
        return self.meta.get("status", "")

    @property
    def revoked(self) -> bool:
        return self.status in REVOKED_STATUSES


@dataclass
class RetrievalResult:
    analysis: QueryAnalysis
    clauses: list[RetrievedClause]
    lookup_hits: list[RetrievedClause] = field(default_factory=list)  # clauses the question named exactly
    missing_refs: list[tuple[str, ClauseRef]] = field(default_factory=list)  # named clauses that don't exist
    sides: list[Side] = field(default_factory=list)  # a comparison's sides (documents or jurisdictions)
    top_dense_similarity: float = 0.0
    keyword_coverage: float = 0.0  # rarity-weighted share of the question's words found in the best clauses
    timings: dict = field(default_factory=dict)


class ClauseIndex:
    """What the collection holds, in memory: chunk rows, (doc, unit) map, keyword index, documents."""

    def __init__(self, settings: Settings, store: ClauseStore | None = None) -> None:
        self.settings = settings
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
        with self._lock:
            self.ids = [r[0] for r in rows]
            self.metas = [r[1] for r in rows]
            self.texts = [r[2] or "" for r in rows]
            self.position = {cid: i for i, cid in enumerate(self.ids)}
            self.vectors = self.store.vectors(self.ids)  # unit-length rows, for exact (deterministic) dense search
            self._tokens: dict[int, set[str]] = {}
            self._lower_text: str | None = None
            self.keyword: KeywordIndex = keyword
            self.doc_of = np.array([m.get("doc_id", "") for m in self.metas], dtype=object)
            self.status_of = np.array([m.get("status", "") for m in self.metas], dtype=object)
            roles = [roles_of(m) for m in self.metas]  # decided at split time (ingest/roles.py)
            self.is_penalty = np.array(["penalty" in r for r in roles], dtype=bool)
            self.is_final = np.array(["final_provision" in r for r in roles], dtype=bool)
            self.is_definitions = np.array(["definitions" in r for r in roles], dtype=bool)
            self.is_scope = np.array(["scope" in r for r in roles], dtype=bool)
            self.is_non_operative = np.array([bool(r & {"recital", "preamble"}) for r in roles], dtype=bool)
            self.is_signature = np.array(["signature_block" in r for r in roles], dtype=bool)
            self.language_of = np.array([m.get("language", "") for m in self.metas], dtype=object)
            self.languages = sorted(set(self.language_of))
            self.jurisdiction_of = np.array([m.get("jurisdiction", "") for m in self.metas], dtype=object)
            self.unit_rows: dict[tuple[str, str], list[int]] = {}
            units_by_doc: dict[str, set[str]] = {}
            first_meta: dict[str, dict] = {}
            for i, m in enumerate(self.metas):
                self.unit_rows.setdefault((m["doc_id"], unit_norm(m["unit"])), []).append(i)
                units_by_doc.setdefault(m["doc_id"], set()).add(m["unit"])
                first_meta.setdefault(m["doc_id"], m)
            self.docs = {}
            for doc_id, m in first_meta.items():
                entry = catalog.get(doc_id)
                self.docs[doc_id] = DocInfo(
                    doc_id=doc_id, title=m.get("title", doc_id), title_en=m.get("title_en", ""),
                    aliases=entry.aliases if entry else (), jurisdiction=m.get("jurisdiction", ""),
                    language=m.get("language", ""), status=m.get("status", ""), issued=m.get("issued", ""),
                    text_year=max([int(d[:4]) for d in (m.get("issued", ""), m.get("effective", ""),
                                                         entry.version_date if entry else "") if d[:4].isdigit()],
                                  default=0),
                    units=frozenset(units_by_doc[doc_id]))
            self.resolver = DocResolver(list(self.docs.values()))
            self.fingerprint = keyword.fingerprint
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
        if self._lower_text is None:
            self._lower_text = "\n".join(self.texts).lower()
        return name.lower() in self._lower_text

    def is_framing(self, chunk_id: str) -> bool:
        """Text that frames rather than rules: a definition list, a recital, a preamble or promulgation notice,
        a signature block. Quoted only when it holds the answer."""
        row = self.position.get(chunk_id)
        if row is None:
            return False
        return bool(self.is_definitions[row] or self.is_non_operative[row] or self.is_signature[row])

    def tokens_of(self, row: int) -> set[str]:
        """The keyword tokens of a chunk (computed on first use, then cached)."""
        tokens = self._tokens.get(row)
        if tokens is None:
            tokens = self._tokens[row] = set(tokenize(keyword_text(self.texts[row], self.metas[row])))
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


# Question intents that map onto the standard structure of legal texts.
_PENALTY_QUESTION = re.compile(r"处罚|罚款|罚多少|罚到|怎么罚|如何罚|会罚|被罚|罚吗|罚不罚|法律责任|后果|拒不改正|不改|放任|追究|吊销|\bfines?\b|\bfined\b|penalt|"
                               r"sanction|liabilit|consequence|punish|(do not|don't|fail to|failing to) comply", re.I)
_IN_FORCE_QUESTION = re.compile(r"施行|生效|起适用|何时起|什么时候开始|哪天|entry into force|enter into force|"
                                r"(from|as of|by) what date|when do(es)? .{0,60}\b(apply|take effect|start)", re.I)
# Framing clauses: definition lists (用语含义, Article 3 'Definitions') and scope articles (第二条 适用本规定,
# Article 2 'Scope') hold most of a text's vocabulary, so they match many questions by their words alone. They are
# the answer when the question asks what something means / whether it counts, or whether the text applies.
_DEFINITION_QUESTION = re.compile(
    r"指的是|是指|指谁|指什么|什么是|是什么意思|含义|定义|界定|算不算|算是|也算|算(?!法).{0,20}吗|属于|什么叫|认定|"
    r"defin|\bmeans?\b|\bmeaning\b|counts? as|\bwhat is an?\b|\bclass(ed|ify|ified)?\b|"
    r"qualif(y|ies|ied) as|considered (an?|as)|\bterm\b|"
    r"(里|中)(说|讲|提)的[“\"‘'][^”\"’']{2,20}[”\"’']|[“\"‘'][^”\"’']{2,20}[”\"’'](是|指|算|包括)", re.I)
_SCOPE_QUESTION = re.compile(
    r"适用|管到|管得|管辖|范围|涵盖|覆盖|域外|境外|境内|(也|还|是否|要不要|需不需要)(要|需要|得|必须)?遵守|受.{0,12}(约束|管)|"
    r"不对外|内部使用|内部用|自用|仅供内部|只给自家|internal(ly)? use|only internally|in-house only|"
    r"bound by|in scope|out of scope|\bappl(y|ies|icable|ication)\b|\bscope\b|\bcover(ed|s)?\b|"
    r"fall(s|ing)? (under|within|outside)|subject to|extraterritorial|exempt|exclud", re.I)


def asks_definition(question: str) -> bool:
    """Whether a question asks what something means or whether it counts as something."""
    return bool(_DEFINITION_QUESTION.search(question))


def asks_scope(question: str) -> bool:
    """Whether a question asks whether (or to whom) a text applies."""
    return bool(_SCOPE_QUESTION.search(question))


def _is_pure_lookup(analysis: QueryAnalysis) -> bool:
    """The question names a clause and asks little else (at most a few words besides document and clause)."""
    rest = analysis.topic_text or analysis.search_text
    for ref in analysis.clause_refs:
        rest = rest.replace(ref.raw, " ")
    rest = re.sub(r"\b(?:paragraphs?|paras?\.?|articles?|recitals?|and|to|please|show|give|quote|read|full|"
                  r"whole|entire|text|wording|content)\b|\d+|原文|全文|内容|完整", " ", rest, flags=re.I)
    return len(tokenize(rest)) <= PURE_LOOKUP_MAX_WORDS


def _point_key(point: str) -> list[tuple[int, str]]:
    """"(1)(e)" -> [(1, ""), (0, "e")]: comparable paragraph/point positions (numbers, then letters/roman)."""
    key = []
    for part in re.findall(r"\(([^)]+)\)", point):
        key.append((int(part), "") if part.isdigit() else (0, part))
    return key


def _piece_holding(rows: list[int], locators: list[str], unit: str, point: str) -> int | None:
    """Of a unit's pieces (in document order), the last one that starts at or before ``point``."""
    wanted = _point_key(point)
    best = None
    for row, locator in sorted(zip(rows, locators)):  # row order is document order
        if locator.startswith(unit):
            if _point_key(locator[len(unit):]) > wanted:
                break
            best = row
    return best


def _ranks(scores: np.ndarray, keep: np.ndarray, limit: int) -> list[int]:
    """Row indices of the best ``limit`` positive scores among kept rows."""
    scores = np.where(keep, scores, 0.0)
    positive = np.flatnonzero(scores > 0)
    if positive.size == 0:
        return []
    top = positive[np.argsort(-scores[positive], kind="stable")[:limit]]
    return top.tolist()


_XREF_CN = re.compile(r"(?:《([^》]+)》)?第([一二三四五六七八九十百零]+)条")
_XREF_EN = re.compile(r"\bArticles?\s+(\d+)(?:\(\d+\))?")
_APPLIES_FROM = re.compile(r"appl(?:y|ies) from|enter(?:s)? into force|起施行|施行", re.I)
_CHAPTER_OF_PATH = re.compile(r"CHAPTER ([IVXLC]+)\b", re.I)
_CHAPTERS_NAMED = re.compile(r"\bChapters? ([IVXLC]+(?:(?:,\s*|\s+and\s+)[IVXLC]+)*)\b")
_BOOK_OR_ARTICLE = re.compile(r"《[^》]+》|第[一二三四五六七八九十百零]+条")
_XREF_DOC = re.compile(r"《([^》]+)》(?!\s*第[一二三四五六七八九十百零]+条)")


class HybridRetriever:
    """The retrieval stage: ``run(question, history, filters, k) -> RetrievalResult``."""

    def __init__(self, settings: Settings, index: ClauseIndex | None = None,
                 embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.index = index or ClauseIndex(settings)
        self.embedder = embedder or load_embedder(settings.embedding_model)

    # -- the stages --------------------------------------------------------------------------------------
    def analyse(self, question: str, history: list[dict] | None = None) -> QueryAnalysis:
        return analyse(question, self.index.resolver, history)

    def _dense(self, vector: np.ndarray, mask: np.ndarray | None, limit: int) -> tuple[list[int], dict[int, float]]:
        """The ``limit`` chunks nearest to a query vector among the rows in ``mask`` (all rows when None):
        (rows in rank order, {row: cosine similarity}). Exact search over the stored embeddings: Chroma's HNSW
        search is approximate (its top 200 missed up to 9 of the true top 200 here) and could rank differently in
        two processes reading the same index; at a few thousand clauses the exact product takes well under 1 ms."""
        vectors = self.index.vectors
        if not len(self.index) or not vectors.size:
            return [], {}
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        sims = vectors @ (query / norm if norm else query)
        candidates = np.flatnonzero(mask) if mask is not None else np.arange(len(sims))
        order = candidates[np.argsort(-sims[candidates], kind="stable")[:limit]]
        rows = [int(i) for i in order]
        return rows, {i: float(sims[i]) for i in rows}

    def _lookup(self, analysis: QueryAnalysis, keep: np.ndarray) -> tuple[list[int], list[tuple[str, ClauseRef]]]:
        hits: list[int] = []
        missing: list[tuple[str, ClauseRef]] = []
        docs = self.index.docs
        for ref in analysis.clause_refs:
            candidates = [ref.unit]
            number = re.fullmatch(r"Article (\d+)", ref.unit)
            if number:
                candidates.append(f"第{int_to_cn(int(number.group(1)))}条")
            if ref.kind == "section":
                candidates.append("Section " + ref.unit.split(" ", 1)[1])
            targets = analysis.doc_ids or [d for d in docs if any(self.index.rows_of_unit(d, u) for u in candidates)]
            if not analysis.doc_ids and len(targets) != 1:
                continue  # e.g. 第十七条 with no document named: ambiguous, leave it to search
            for doc_id in targets:
                rows = [r for u in candidates for r in self.index.rows_of_unit(doc_id, u)]
                rows = [r for r in rows if keep[r]]
                if ref.point:  # Article 5(1)(e): the piece holding that paragraph/point first
                    holder = _piece_holding(rows, [self.index.metas[r].get("locator", "") for r in rows],
                                            ref.unit, ref.point)
                    if holder is not None:
                        rows.remove(holder)
                        rows.insert(0, holder)
                if rows:
                    hits += rows
                elif doc_id in analysis.named_in_question and not ref.listed and \
                        ref.kind in ("cn-article", "article", "recital", "annex", "outcome", "para") and \
                        not any(self.index.rows_of_unit(d, u) for d in analysis.named_in_question for u in candidates):
                    missing.append((doc_id, ref))  # the question names a clause its named document does not have
        return list(dict.fromkeys(hits)), missing

    def _cross_references(self, rows: list[int], keep: np.ndarray, limit: int = 3) -> list[int]:
        """Clauses referred to by the given clauses (same document unless another one is named)."""
        out: list[int] = []
        for i in rows:
            meta, text = self.index.metas[i], self.index.texts[i]
            for m in _XREF_CN.finditer(text):
                doc_id = self.index.resolver.resolve_title(m.group(1)) if m.group(1) else meta["doc_id"]
                unit = f"第{m.group(2)}条"
                if doc_id and unit != meta["unit"]:
                    out += [r for r in self.index.rows_of_unit(doc_id, unit)[:1] if keep[r]]
            for m in _XREF_DOC.finditer(text):  # 按照《互联网信息服务深度合成管理规定》…: its best matching clause
                doc_id = self.index.resolver.resolve_title(m.group(1))
                if doc_id and doc_id != meta["doc_id"]:
                    topic = _BOOK_OR_ARTICLE.sub(" ", text)  # what the clause is about, not whom it cites
                    scores = np.where(keep & (self.index.doc_of == doc_id), self.index.keyword.scores(topic), 0.0)
                    if scores.max() > 0:
                        out.append(int(scores.argmax()))
            for m in _XREF_EN.finditer(text):
                unit = f"Article {m.group(1)}"
                if unit != meta["unit"]:
                    out += [r for r in self.index.rows_of_unit(meta["doc_id"], unit)[:1] if keep[r]]
        return [r for r in dict.fromkeys(out) if r not in rows][:limit]

    def _date_of_application(self, score: np.ndarray, keep: np.ndarray, top: int = 2) -> None:
        """"When do the bans apply?": the best clauses sit in a chapter (CHAPTER II > Article 5), and a final
        provision that names that chapter ("Chapters I and II shall apply from …") is the answer — rank it first."""
        index = self.index
        best = [int(i) for i in np.argsort(-score)[:top] if score[i] > 0 and not index.is_final[i]]
        chapters = {(index.doc_of[i], m.group(1).upper())
                    for i in best for m in [_CHAPTER_OF_PATH.match(index.metas[i].get("path", ""))] if m}
        if not chapters:
            return
        top_score = float(score.max())
        docs = list({doc for doc, _ in chapters})
        for i in np.flatnonzero(index.is_final & keep & np.isin(index.doc_of, docs)):
            if not _APPLIES_FROM.search(index.texts[i]):
                continue  # e.g. amendments to other acts that mention a chapter
            named = {(index.doc_of[i], n.upper()) for m in _CHAPTERS_NAMED.finditer(index.texts[i])
                     for n in re.split(r",\s*|\s+and\s+", m.group(1))}
            if named & chapters:
                score[i] = max(score[i], top_score * 1.05)

    def run(self, question: str, history: list[dict] | None = None, filters: Filters | dict | None = None,
            k: int = 10, analysis: QueryAnalysis | None = None) -> RetrievalResult:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        filters = Filters.of(filters)
        self.index.refresh_if_changed()
        index = self.index
        analysis = analysis or self.analyse(question, history)
        for name in analysis.unknown_if_unmentioned:  # "the Defense Production Act" is cited by EO 14110
            if not index.mentions(name) and name not in analysis.unknown_titles:
                analysis.unknown_titles.append(name)
        keep = index.mask(filters)
        timings["analyse_ms"] = (time.perf_counter() - t0) * 1000

        t = time.perf_counter()
        lookup_rows, missing = self._lookup(analysis, keep)

        # Keyword search over the question plus its glossary translations (the other language's terms),
        # so that an English question can match a Chinese clause and vice versa.
        query_text = " ".join([analysis.topic_text or analysis.search_text, *analysis.expansions])
        bm25 = np.where(keep, index.keyword.scores(query_text), 0.0)
        # Scores relative to the best match within a group: each language (jieba's overlapping search-mode words
        # would let Chinese outscore English), then each named document (its best match counts as a full match
        # even when another document or language scores higher overall).
        keyword_part = np.zeros_like(bm25)
        groups = [index.language_of == language for language in index.languages]
        groups += [index.doc_of == doc_id for doc_id in analysis.doc_ids]
        for group in groups:
            best = bm25[group].max() if group.any() else 0.0
            if best > 0:
                keyword_part = np.where(group, bm25 / best, keyword_part)
        timings["keyword_ms"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        named = [d for d in analysis.doc_ids if d in index.docs]
        sims: dict[int, float] = {}
        vector = self.embedder.embed_query(analysis.search_text)
        dense_rows, found = self._dense(vector, keep, DENSE_CANDIDATES)
        sims.update(found)
        if named:  # the named documents' own nearest clauses, whatever their global rank
            _, found = self._dense(vector, keep & np.isin(index.doc_of, named), DENSE_CANDIDATES // 4)
            sims.update(found)
        dense_part = np.zeros(len(index), dtype=np.float32)
        if sims:
            rows = np.fromiter(sims.keys(), dtype=int)
            values = np.fromiter(sims.values(), dtype=np.float32)
            top = max(float(values.max()), DENSE_FLOOR + 1e-6)
            dense_part[rows] = np.clip((values - DENSE_FLOOR) / (top - DENSE_FLOOR), 0.0, 1.0)
        timings["dense_ms"] = (time.perf_counter() - t) * 1000

        # Score fusion, then priors: named documents and jurisdictions up, recitals (non-operative) and
        # revoked texts (unless asked for) down.
        score = keyword_part + DENSE_WEIGHT * dense_part
        if COVERAGE_WEIGHT:  # reward the best candidates for covering more of the question's distinct (rare) words
            q_weights = {t: index.keyword.idf(t) for t in set(tokenize(query_text))}
            total = sum(q_weights.values())
            candidates = np.argsort(-score)[:COVERAGE_CANDIDATES]
            for i in candidates:
                if score[i] > 0 and total:
                    tokens = index.tokens_of(int(i))
                    score[i] += COVERAGE_WEIGHT * sum(w for t, w in q_weights.items() if t in tokens) / total
        if named:
            score *= np.where(np.isin(index.doc_of, named), NAMED_DOC_BOOST, 1.0)
        elif analysis.jurisdictions:
            score *= np.where(np.isin(index.jurisdiction_of, analysis.jurisdictions), JURISDICTION_BOOST, 1.0)
        else:
            score *= np.where(index.language_of == analysis.language, LANGUAGE_BOOST, 1.0)
        score *= np.where(index.is_non_operative, NON_OPERATIVE_FACTOR, 1.0)
        for rows, intent in ((index.is_definitions, _DEFINITION_QUESTION), (index.is_scope, _SCOPE_QUESTION)):
            score *= np.where(rows, FRAMING_BOOST if intent.search(analysis.question) else FRAMING_FACTOR, 1.0)
        if _PENALTY_QUESTION.search(analysis.search_text):
            score *= np.where(index.is_penalty, INTENT_FACTOR, 1.0)
        asks_when_in_force = bool(_IN_FORCE_QUESTION.search(analysis.question))
        if asks_when_in_force:
            score *= np.where(index.is_final, INTENT_FACTOR, 1.0)
        revoked = np.isin(index.status_of, list(REVOKED_STATUSES))
        if analysis.wants_old_version:
            score *= np.where(revoked, OLD_VERSION_BOOST, 1.0)
        else:
            exempt = np.isin(index.doc_of, analysis.named_in_question)
            score *= np.where(revoked & ~exempt, REVOKED_FACTOR, 1.0)
        score = np.where(keep, score, 0.0)
        if asks_when_in_force:
            self._date_of_application(score, keep)
        signals: dict[int, dict] = {}
        for rank, i in enumerate(lookup_rows):
            score[i] += 10.0 + (5.0 if rank == 0 else 0.0)  # the first row of a lookup is the piece asked for
            signals.setdefault(i, {})["lookup"] = 1
        candidates = np.flatnonzero(score > 0)
        order = candidates[np.argsort(-score[candidates], kind="stable")]
        sides = comparison_sides(analysis.question, analysis.doc_ids, analysis.jurisdictions,
                                 {d: info.jurisdiction for d, info in index.docs.items()})
        if sides:  # a comparison: each side's best clauses first, side by side
            order = interleave(order, [side_mask(side, index.doc_of, index.jurisdiction_of) for side in sides],
                               lambda row: (index.doc_of[row], index.metas[row]["unit"]),
                               comparison_policy().clauses_per_side)
        fused: dict[int, float] = {}
        per_unit: dict[tuple[str, str], int] = {}
        # At most MAX_PIECES_PER_UNIT pieces of one unit, so that other clauses get a place — except a unit the
        # question asks for and nothing else ("What does Article 56 say?"): all its pieces come first.
        whole_units = {(index.doc_of[i], index.metas[i]["unit"]) for i in lookup_rows} \
            if lookup_rows and _is_pure_lookup(analysis) else set()
        for i in order[: k * 20]:
            key = (index.doc_of[i], index.metas[i]["unit"])
            if per_unit.get(key, 0) < MAX_PIECES_PER_UNIT or key in whole_units:
                per_unit[key] = per_unit.get(key, 0) + 1
                fused[int(i)] = float(score[i])
                if len(fused) == k:
                    break
        for i in fused:
            signals.setdefault(i, {}).update(bm25=round(float(keyword_part[i]), 3),
                                             dense=round(float(sims.get(i, 0.0)), 3))

        ranked = list(fused)
        xrefs = self._cross_references(lookup_rows or ranked[:2], keep) if ranked else []

        def clause(i: int, score: float) -> RetrievedClause:
            meta = index.metas[i]
            return RetrievedClause(chunk_id=index.ids[i], doc_id=meta["doc_id"], unit=meta["unit"],
                                   locator=meta.get("locator", meta["unit"]), text=index.texts[i], meta=meta,
                                   score=round(score, 5), signals=signals.get(i, {}))

        clauses = [clause(i, fused[i]) for i in ranked]
        for i in xrefs:
            if i not in ranked:
                c = clause(i, 0.0)
                c.signals["cross_reference"] = 1
                clauses.append(c)

        best = ranked[0] if ranked else None
        coverage = 0.0
        if ranked:  # rarity-weighted share of the question's words that the best clauses contain
            q_tokens = set(tokenize(" ".join([analysis.question, *analysis.expansions])))
            top_tokens = set(tokenize(" ".join(keyword_text(index.texts[i], index.metas[i]) for i in ranked[:3])))
            weights = {t: index.keyword.idf(t) for t in q_tokens}
            total = sum(weights.values())
            coverage = sum(w for t, w in weights.items() if t in top_tokens) / total if total else 0.0
        timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000
        return RetrievalResult(
            analysis=analysis,
            clauses=clauses,
            lookup_hits=[clause(i, float(score[i])) for i in lookup_rows],
            missing_refs=missing,
            sides=sides,
            top_dense_similarity=round(max(sims.values(), default=0.0), 4),
            keyword_coverage=round(min(coverage, 1.0), 3),
            timings=timings,
        )


class ClauseRetriever(BaseRetriever):
    """LangChain face of ``HybridRetriever``: documents carry the clause metadata and fused score."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    engine: HybridRetriever
    k: int = 10
    filters: Filters | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self.engine.run(query, filters=self.filters, k=self.k)
        return [Document(page_content=c.text, id=c.chunk_id,
                         metadata={**c.meta, "score": c.score, "signals": dict(c.signals)})
                for c in result.clauses]
