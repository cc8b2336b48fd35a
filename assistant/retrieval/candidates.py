"""Candidate sources: each is ``run(analysis, filters) -> list[Candidate]`` over a ``ClauseIndex``.

- ``LookupSource``: the clauses the question names (第十七条 of a named text, Article 5(1)(e), Annex III);
- ``KeywordSource``: BM25 over the question plus its glossary expansions, relative to the best match of each
  language and of each named document;
- ``DenseSource``: exact nearest neighbours of the question's embedding among the stored embeddings;
- ``EnrichmentSource``: the clauses whose enrichment (questions and paraphrases their unit answers,
  ingest/enrichment.py) is nearest to the question's embedding.
"""

from __future__ import annotations

import re

import numpy as np

from assistant.retrieval.analysis import QueryAnalysis
from assistant.retrieval.index import ClauseIndex
from assistant.retrieval.policy import FusionPolicy, LookupPolicy
from assistant.retrieval.references import ClauseRef, cn_or_arabic, unit_labels
from assistant.retrieval.types import Candidate, Filters, Lookup
from common.numerals import from_roman, to_roman
from ingest.embeddings import Embedder


def _point_key(point: str) -> list[tuple[int, str]]:
    """ "(1)(e)" -> [(1, ""), (0, "e")]: comparable paragraph/point positions (numbers, then letters/roman)."""
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
            if _point_key(locator[len(unit) :]) > wanted:
                break
            best = row
    return best


# Kinds of reference a document may hold without the splitter having made units of them: a number is missing only
# when the document has other units of the family.
_FAMILIES = {"annex": ("Annex ",), "appendix": ("Appendix ", "附录")}


_PARAGRAPH_ASKED = re.compile(r"\((\d+)\)")  # the paragraph of a point: (8) of Article 50(8)(a)
_PARAGRAPH_PRINTED = re.compile(r"(?m)^\s*(?:(\d+)\.|\((\d+)\))\s")  # "7. Where …", "(3) The …" opening a line
_ARTICLE_UNIT = re.compile(r"Article \d|第.+条$")  # a text numbered by articles: 第五条 there is its article


def _aliases(ref: ClauseRef, labels: list[str]) -> list[str]:
    """The labels, the other language's label of an appendix (Appendix B of a Chinese standard is its 附录B) and the
    arabic number of an annex."""
    if ref.kind == "appendix":
        return [*labels, "附录" + ref.unit.split(" ", 1)[1]]
    if ref.kind == "annex":  # Annex I of a text numbering its annexes 1, 2, 3 (the Seoul Declaration) is its Annex 1
        numeral = ref.unit.split(" ", 1)[1]
        number = from_roman(numeral)
        return [*labels, f"Annex {number}"] if number and number < 40 and to_roman(number) == numeral else labels
    return labels


def _sub_provisions(units: frozenset[str], labels: list[str]) -> list[str]:
    """Units numbered under a reference that is not itself a unit: 2.2.4 -> 2.2.4.(1), 2.2.4.(2); 1.2 -> 1.2.1."""
    starts = tuple(f"{label}{sep}" for label in labels if label[-1:].isdigit() for sep in (".", "("))
    return sorted(u for u in units if u.startswith(starts)) if starts else []


class LookupSource:
    def __init__(self, index: ClauseIndex, policy: LookupPolicy) -> None:
        self.index, self.policy = index, policy

    def run(self, analysis: QueryAnalysis, filters: Filters) -> list[Candidate]:
        return self.find(analysis, self.index.mask(filters)).candidates

    def find(self, analysis: QueryAnalysis, keep: np.ndarray) -> Lookup:
        hits: list[int] = []
        missing: list[tuple[str, ClauseRef]] = []
        index = self.index
        for ref in analysis.clause_refs:
            labels = unit_labels(ref)
            if ref.kind == "number" and analysis.doc_ids:  # 第4.5节 of a named order whose units are "Sec. 4.5"
                labels += [f"Sec. {ref.unit}", f"Section {ref.unit}"]
            # with no document named, 第八十条 is looked for as printed: as Article 80 it would also be the AI Act's
            as_printed = [u for u in labels if ref.kind != "cn-article" or not u.startswith("Article ")]
            targets = list(analysis.doc_ids) or [
                d for d in index.docs if any(index.rows_of_unit(d, u) for u in as_printed)
            ]
            if not targets and ref.kind == "number":
                targets = [d for d, info in index.docs.items() if _sub_provisions(info.units, labels)]
            if not analysis.doc_ids and (len(targets) != 1 or analysis.unresolved_laws):
                # 第十七条 with no document named: ambiguous; Article 95 of a law we cannot name: not ours to pick.
                # Leave it to search
                continue
            held_by_named = any(index.rows_of_unit(d, u) for d in analysis.doc_ids for u in labels)
            for doc_id in targets:
                rows = [r for r in (r for u in labels for r in index.rows_of_unit(doc_id, u)) if keep[r]]
                if not rows and analysis.doc_ids and not held_by_named:  # 第五条 of a resolution: its paragraph 5
                    rows = [
                        r for u in self._numbered_instead(doc_id, ref) for r in index.rows_of_unit(doc_id, u) if keep[r]
                    ]
                if not rows and doc_id in index.docs and ref.kind in ("number", "section"):
                    rows = [
                        r
                        for u in _sub_provisions(index.docs[doc_id].units, labels)
                        for r in index.rows_of_unit(doc_id, u)
                        if keep[r]
                    ]
                if ref.point and rows and self._names_a_missing_paragraph(analysis, doc_id, ref, rows):
                    missing.append((doc_id, ref))  # Article 50(8) of an article of seven paragraphs
                    continue
                if ref.point:  # Article 5(1)(e): the piece holding that paragraph/point first
                    holder = _piece_holding(
                        rows, [index.metas[r].get("locator", "") for r in rows], ref.unit, ref.point
                    )
                    if holder is not None:
                        rows.remove(holder)
                        rows.insert(0, holder)
                if rows:
                    if ref.lookup:
                        hits += rows
                elif self._names_a_missing_clause(analysis, doc_id, ref, labels):
                    missing.append((doc_id, ref))
        return Lookup([Candidate(row, 0.0, "lookup") for row in dict.fromkeys(hits)], missing)

    def _may_be_missing(self, analysis: QueryAnalysis, doc_id: str, ref: ClauseRef) -> bool:
        """Whether a reference could name something its document lacks: the document is named in the question, and
        the reference is of a kind that is checked (``missing_clause_kinds``) and not one of a list or range."""
        return doc_id in analysis.named_in_question and not ref.listed and ref.kind in self.policy.missing_clause_kinds

    def _names_a_missing_clause(self, analysis: QueryAnalysis, doc_id: str, ref: ClauseRef, labels: list[str]) -> bool:
        """The question names a clause its named document does not have."""
        if not self._may_be_missing(analysis, doc_id, ref):
            return False
        if ref.kind == "part":  # 第7部分: a text numbered 1, 1.1 … without a clause 7 (a law's chapters are not units)
            named = [self.index.docs[d].units for d in analysis.named_in_question if d in self.index.docs]
            units = self.index.docs[doc_id].units if doc_id in self.index.docs else frozenset()
            return any(u.isdigit() for u in units) and not any(
                ref.unit in held or _sub_provisions(held, [ref.unit]) for held in named
            )
        aliases = _aliases(ref, labels)
        return (
            not self._numbered_instead(doc_id, ref)
            and not any(self.index.rows_of_unit(d, u) for d in analysis.named_in_question for u in aliases)
            and (ref.kind not in _FAMILIES or self._has_family(doc_id, _FAMILIES[ref.kind]))
            and not self._in_another_named_jurisdiction(analysis, doc_id, aliases)
        )

    def _names_a_missing_paragraph(self, analysis: QueryAnalysis, doc_id: str, ref: ClauseRef, rows: list[int]) -> bool:
        """The question names a paragraph beyond the last one its named document's unit prints ("Article 50(8)" of
        an article whose paragraphs run 1. to 7.). A unit printing no paragraph numbers, or numbers that do not run
        1, 2, 3 … without a gap (items of a list, not paragraphs), cannot tell."""
        asked = _PARAGRAPH_ASKED.match(ref.point)
        if asked is None or not self._may_be_missing(analysis, doc_id, ref):
            return False
        printed = {int(a or b) for r in rows for a, b in _PARAGRAPH_PRINTED.findall(self.index.texts[r])}
        return bool(printed) and printed == set(range(1, max(printed) + 1)) and int(asked.group(1)) > max(printed)

    def _numbered_instead(self, doc_id: str, ref: ClauseRef) -> list[str]:
        """第五条 or Article 5 of a text numbered by items or paragraphs, not articles: its item 5 (an initiative's
        proposals), else its paragraph 5 when the text prints that number ("5. Emphasizes …" of a UN resolution; not
        the fifth of a commentary's unnumbered paragraphs). Not for a point of it (Article 5(2))."""
        info = self.index.docs.get(doc_id)
        if info is None or ref.point or ref.kind not in ("cn-article", "article"):
            return []
        number = cn_or_arabic(ref.unit[1:-1] if ref.kind == "cn-article" else ref.unit.split(" ", 1)[1])
        if number is None or any(_ARTICLE_UNIT.match(u) for u in info.units):
            return []
        if f"item {number}" in info.units:
            return [f"item {number}"]
        rows = self.index.rows_of_unit(doc_id, f"para {number}")
        printed = rows and re.match(rf"\s*{number}\.\s", self.index.texts[rows[0]])
        return [f"para {number}"] if printed else []

    def _in_another_named_jurisdiction(self, analysis: QueryAnalysis, doc_id: str, labels: list[str]) -> bool:
        """A document of another jurisdiction the question names has the clause ("China's labelling measures and EU
        Article 50", "国内标识办法…欧盟第50条"): the number is that text's, not one the named document lacks."""
        own = self.index.docs[doc_id].jurisdiction if doc_id in self.index.docs else ""
        return any(
            self.index.rows_of_unit(other, u)
            for other, info in self.index.docs.items()
            if info.jurisdiction in analysis.jurisdictions and info.jurisdiction != own
            for u in labels
        )

    def _has_family(self, doc_id: str, prefixes: tuple[str, ...]) -> bool:
        """The document has units of a family (an annex, an appendix): only then is a number it lacks missing, as
        annexes a splitter did not make units of cannot be told apart from annexes the text does not have."""
        info = self.index.docs.get(doc_id)
        return info is not None and any(u.startswith(prefixes) for u in info.units)


def keyword_query(analysis: QueryAnalysis) -> str:
    """The keyword query: the question's topic plus its glossary translations (the other language's terms), so
    that an English question can match a Chinese clause and vice versa, and its dictionary translations when the
    collection holds no text in the question's language."""
    return " ".join([analysis.topic_text or analysis.search_text, *analysis.expansions, *analysis.translations])


class KeywordSource:
    def __init__(self, index: ClauseIndex) -> None:
        self.index = index

    def run(self, analysis: QueryAnalysis, filters: Filters) -> list[Candidate]:
        return self.scored(analysis, self.index.mask(filters))

    def scored(self, analysis: QueryAnalysis, keep: np.ndarray) -> list[Candidate]:
        """Scores relative to the best match within a group: each language (jieba's overlapping search-mode words
        would let Chinese outscore English), then each named document (its best match counts as a full match
        even when another document or language scores higher overall)."""
        index = self.index
        bm25 = np.where(keep, index.keyword.scores(keyword_query(analysis)), 0.0)
        relative = np.zeros_like(bm25)
        groups = [index.language_of == language for language in index.languages]
        groups += [index.doc_of == doc_id for doc_id in analysis.doc_ids]
        for group in groups:
            best = bm25[group].max() if group.any() else 0.0
            if best > 0:
                relative = np.where(group, bm25 / best, relative)
        return [Candidate(int(row), float(relative[row]), "keyword") for row in np.flatnonzero(relative)]


class DenseSource:
    def __init__(self, index: ClauseIndex, embedder: Embedder, policy: FusionPolicy) -> None:
        self.index, self.embedder, self.policy = index, embedder, policy

    def run(self, analysis: QueryAnalysis, filters: Filters) -> list[Candidate]:
        return self.similar(analysis, self.index.mask(filters))

    def embed(self, analysis: QueryAnalysis) -> np.ndarray:
        return np.asarray(self.embedder.embed_query(analysis.search_text), dtype=np.float32)

    def similar(self, analysis: QueryAnalysis, keep: np.ndarray, vector: np.ndarray | None = None) -> list[Candidate]:
        """The question's nearest clauses, plus the named documents' own nearest clauses whatever their global
        rank (similarity is a cosine)."""
        index = self.index
        vector = self.embed(analysis) if vector is None else vector
        sims: dict[int, float] = {}
        _, found = self.nearest(vector, keep, self.policy.dense_candidates)
        sims.update(found)
        named = [d for d in analysis.doc_ids if d in index.docs]
        if named:
            _, found = self.nearest(vector, keep & np.isin(index.doc_of, named), self.policy.named_dense_candidates)
            sims.update(found)
        return [Candidate(row, sim, "dense") for row, sim in sims.items()]

    def nearest(self, vector: np.ndarray, mask: np.ndarray | None, limit: int) -> tuple[list[int], dict[int, float]]:
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


class EnrichmentSource:
    """Clauses by the similarity of their unit's enrichment texts to the question (the best text of each)."""

    def __init__(self, index: ClauseIndex, dense: DenseSource, policy: FusionPolicy) -> None:
        self.index, self.dense, self.policy = index, dense, policy

    def run(self, analysis: QueryAnalysis, filters: Filters) -> list[Candidate]:
        return self.similar(analysis, self.index.mask(filters))

    def similar(self, analysis: QueryAnalysis, keep: np.ndarray, vector: np.ndarray | None = None) -> list[Candidate]:
        enrichment = self.index.enrichment
        if not enrichment.vectors.size:
            return []
        sims = enrichment.similarities(self.dense.embed(analysis) if vector is None else vector)
        rows = np.flatnonzero(keep & (sims > 0))
        best = rows[np.argsort(-sims[rows], kind="stable")[: self.policy.dense_candidates]]
        return [Candidate(int(r), float(sims[r]), "enrichment") for r in best]
