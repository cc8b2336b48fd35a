"""Composition: everything an answer says that is built from the retrieved clauses, without an LLM.

The extractive answer (a lead of verbatim sentences with their [n], the line naming the quoted provisions, then
the cited clauses quoted verbatim, grouped by document), the citations both answer modes offer, the refusal text
with its "possibly related" clauses, and the notices, date lines, interpretation and follow-ups around an answer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

from assistant import dates
from assistant.answering.comparison import comparison_opening, side_name
from assistant.answering.follow_ups import suggest_follow_ups
from assistant.answering.guard import RefusalDecision
from assistant.answering.lead import Lead, LeadQuestion, Piece, asked_span, compose_lead, lead_model
from assistant.answering.lead import policy as lead_policy
from assistant.answering.lead_scoring import LeadModel, SentenceSimilarity
from assistant.answering.models import Citation
from assistant.answering.naming import DocumentNames, join_en
from assistant.answering.policy import policy
from assistant.answering.selection import cited_clauses
from assistant.retrieval import HybridRetriever, RetrievalResult, RetrievedClause
from assistant.retrieval.comparison import side_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extractive:
    """An extractive answer: its text (the lead, then the body), its citations and its lead sentences."""

    text: str
    citations: list[Citation]
    lead: str


@dataclass(frozen=True)
class Refusal:
    """A refusal: its text (the reason, then the labels of possibly related clauses) and those clauses."""

    text: str
    related: list[Citation]


def notice_lines(notices: list[str]) -> str:
    """Notices as the answer shows them: one ``> ⚠ …`` line each."""
    return "\n".join(f"> ⚠ {n}" for n in notices)


def first_paragraph(text: str) -> str:
    """The lead of a generated answer: its first paragraph (the prompt asks the model to answer first)."""
    for block in re.split(r"\n\s*\n", text.strip()):
        if block.strip() and not block.lstrip().startswith(("|", ">", "#")):
            return block.strip()
    return ""


class Composer:
    """Builds answer text from a ``RetrievalResult`` over the retriever's index (read on each call)."""

    def __init__(
        self, retriever: HybridRetriever, names: DocumentNames, max_cited_units: int, with_lead_model: bool = True
    ) -> None:
        self.retriever = retriever
        self.names = names
        self.max_cited_units = max_cited_units
        self.similarity = SentenceSimilarity(
            retriever.embedder, lambda text: retriever.index.sentence_vectors.get(text)
        )
        # loaded once: a missing or unusable model file fails at start, not per answer (``with_lead_model`` False:
        # the rule score, for `regqa train-lead`, which must run when the shipped model no longer fits the features)
        self.lead_model = lead_model() if with_lead_model else None
        trained_with = self.lead_model.embedding_model if self.lead_model else ""
        if trained_with and trained_with != retriever.settings.embedding_model:
            log.warning(
                "the lead's sentence model was trained with embedding model %s, the index uses %s: its similarity "
                "features mean something else; retrain it with `regqa train-lead`",
                trained_with,
                retriever.settings.embedding_model,
            )

    # ---- citations --------------------------------------------------------------------------------------------
    def cited_clauses(self, result: RetrievalResult) -> list[RetrievedClause]:
        """The clauses an answer cites, in citation order (``selection.py``)."""
        docs = self.retriever.index.docs
        return cited_clauses(
            result,
            self.max_cited_units,
            self.retriever.index.is_framing,
            lambda d: docs[d].jurisdiction if d in docs else "",
        )

    def citations(self, result: RetrievalResult, language: str) -> list[Citation]:
        """The citations of the cited clauses, numbered from 1 (what the LLM is offered, what dates are read from)."""
        return [self.names.citation(n, c, language) for n, c in enumerate(self.cited_clauses(result), 1)]

    # ---- the extractive answer ----------------------------------------------------------------------------------
    def extractive(self, result: RetrievalResult, language: str) -> Extractive:
        """The lead sentences, then the line naming the provisions (or a comparison's table), then the clauses."""
        clauses = self.cited_clauses(result)
        citations = [self.names.citation(n, c, language) for n, c in enumerate(clauses, 1)]
        lead = self.sentence_lead(result, clauses, citations, language)
        if result.sides:
            lines = comparison_opening(
                result.analysis.question, language, self.side_names(result, language), result.sides, citations
            )
        elif language == "zh":
            lines = ["以下为" + "和".join(self._named_provisions(clauses, language)) + "的原文：", ""]
        else:  # "the text of", not "the governing provisions": some cited clauses are only related (about half)
            lines = ["The text of " + join_en(self._named_provisions(clauses, language)) + ":", ""]
        lines += self._quoted_by_document(citations, language)
        body = "\n".join(lines).rstrip() + "\n"
        return Extractive(lead + "\n\n" + body if lead else body, citations, lead)

    def _named_provisions(self, clauses: list[RetrievedClause], language: str) -> list[str]:
        """Each cited document with its cited units: 《…》第九条、第十条, EU AI Act Article 50, Article 52."""
        units_by_doc: dict[str, list[str]] = {}
        for c in clauses:
            units = units_by_doc.setdefault(c.doc_id, [])
            if c.unit not in units:
                units.append(c.unit)
        named = []
        for doc_id, units in units_by_doc.items():
            title = self.names.document_title(doc_id)
            sep = "、" if language == "zh" else ", "
            joined = sep.join(units) if title.startswith("《") else " " + ", ".join(units)
            revoked = any(c.revoked for c in clauses if c.doc_id == doc_id)
            named.append(f"{title}{joined}{policy().revoked_suffix(language) if revoked else ''}")
        return named

    def _quoted_by_document(self, citations: list[Citation], language: str) -> list[str]:
        """Per document a bold heading, then its cited clauses as block quotes, each ending with its [n]."""
        by_doc: dict[str, list[Citation]] = {}
        for cit in citations:
            by_doc.setdefault(cit.doc_id, []).append(cit)
        lines = []
        for doc_id, cits in by_doc.items():
            heading = f"**{self.names.document_title(doc_id)}**"
            if cits[0].status in policy().revoked_statuses:
                heading += policy().revoked_suffix(language)
            lines.append(heading)
            for cit in cits:
                lines.append(f"{quote_block(cit.quote)} [{cit.n}]")
                lines.append("")
        return lines

    def sentence_lead(
        self, result: RetrievalResult, clauses: list[RetrievedClause], citations: list[Citation], language: str
    ) -> str:
        """The lead sentences (``lead.py``); sets each citation's ``spans`` (and ``unit_text`` for a unit cut into
        several pieces, so that the panel shows all of it with the quoted sentences marked)."""
        index = self.retriever.index
        question, groups = self.lead_choices(result, language, clauses, citations)
        lead = self.compose_groups(question, groups, self.lead_model)
        for cit, clause in zip(citations, clauses):
            shown = cit.quote
            if clause.meta.get("parts", 1) > 1:
                texts = [index.texts[r] for r in index.rows_of_unit(clause.doc_id, clause.unit)]
                shown = cit.unit_text = "\n\n".join(texts)
            offset = max(shown.find(clause.own_text), 0)  # the lead's sentences are of the clause's own unit
            cit.spans = [(offset + a, offset + b) for a, b in lead.spans.get(cit.n, [])]
        return lead.text

    def lead_choices(
        self,
        result: RetrievalResult,
        language: str,
        clauses: list[RetrievedClause] | None = None,
        citations: list[Citation] | None = None,
    ) -> tuple[LeadQuestion, list[tuple[list[Piece], int]]]:
        """What the lead is chosen from (also what ``regqa train-lead`` fits): the question, and the cited clauses
        in groups, each with its number of sentences — all of them, or for a comparison each side's. The clauses
        and citations default to the ones the answer cites."""
        if clauses is None:
            clauses = self.cited_clauses(result)
        if citations is None:
            citations = [self.names.citation(n, c, language) for n, c in enumerate(clauses, 1)]
        index = self.retriever.index
        best = max((c.score for c in clauses), default=0.0)
        named = {(c.doc_id, c.unit) for c in result.lookup_hits}
        pieces = [
            Piece(
                cit.n,
                clause.own_text,
                index.is_framing(clause.chunk_id),
                clause.score / best if best > 0 else 1.0,
                named=(clause.doc_id, clause.unit) in named,
                position=(clause.doc_id, clause.unit, int(clause.meta.get("part", 0) or 0)),
                asked_at=asked_span(clause.own_text, result.analysis.question, clause.unit, result.analysis.clause_refs)
                if (clause.doc_id, clause.unit) in named
                else None,
            )
            for cit, clause in zip(citations, clauses)
        ]
        question = LeadQuestion(
            " ".join([result.analysis.question, *result.analysis.expansions]),
            language,
            asked=result.analysis.question,
            wants_definition="definition" in result.analysis.intents,
            comparison=bool(result.sides),
            documents=tuple(result.analysis.doc_ids),
        )
        if not result.sides:
            return question, [(pieces, lead_policy().max_sentences)]
        sides = [
            [p for p, cit in zip(pieces, citations) if side_of(cit.doc_id, cit.jurisdiction, result.sides) == n]
            for n in range(len(result.sides))
        ]
        return question, [(side, lead_policy().max_sentences_per_side) for side in sides]

    def compose_groups(
        self, question: LeadQuestion, groups: list[tuple[list[Piece], int]], model: LeadModel | None
    ) -> Lead:
        """The best sentences of each group, joined (``model`` None: the rule score)."""
        weight_of = self.retriever.index.keyword.idf
        lead = Lead()
        joiner = "" if question.language == "zh" else " "
        for group, limit in groups:
            part = compose_lead(question, group, weight_of, model, self.similarity, max_sentences=limit)
            lead.text = (lead.text + joiner + part.text).strip() if part.text else lead.text
            for k, spans in part.spans.items():
                lead.spans.setdefault(k, []).extend(spans)
        return lead

    def side_names(self, result: RetrievalResult, language: str) -> list[str]:
        """The names of a comparison's sides (documents or jurisdictions); empty for other questions."""
        return [side_name(side, self.names.document_title, language) for side in result.sides]

    # ---- a refusal ----------------------------------------------------------------------------------------------
    def refusal(self, result: RetrievalResult, decision: RefusalDecision, language: str) -> Refusal:
        """Why the corpus does not cover the question, and up to three retrieved units as possibly related."""
        related_clauses: list[RetrievedClause] = []
        seen = set()
        for c in result.clauses:
            if (c.doc_id, c.unit) not in seen:
                seen.add((c.doc_id, c.unit))
                related_clauses.append(c)
            if len(related_clauses) == policy().related_on_refusal:
                break
        related = [self.names.citation(n, c, language) for n, c in enumerate(related_clauses, 1)]
        if language == "zh":
            lines = [f"语料库未涵盖这个问题：{decision.reason}"]
            if related:
                lines += ["", "可能相关的条款（并非对该问题的回答）："] + [f"- {r.label}" for r in related]
        else:
            lines = [f"The corpus does not cover this question: {decision.reason}"]
            if related:
                lines += ["", "Possibly related clauses (they do not answer the question):"] + [
                    f"- {r.label}" for r in related
                ]
        return Refusal("\n".join(lines) + "\n", related)

    # ---- around the answer ----------------------------------------------------------------------------------------
    def version_notices(self, result: RetrievalResult, language: str) -> list[str]:
        """A notice per revoked document the answer quotes, in citation order (one cited last is as much a quote)."""
        notices = []
        for doc_id in dict.fromkeys(c.document.doc_id for c in self.citations(result, language)):
            info = self.retriever.index.docs.get(doc_id)
            if info and info.status in policy().revoked_statuses:
                title = self.names.document_title(doc_id)
                notices.append(
                    f"{title}已废止，引用时请以现行文本为准。"
                    if language == "zh"
                    else f"{title} is revoked; it is quoted for reference only."
                )
        return notices

    def date_lines(self, question: str, result: RetrievalResult, language: str, day: date) -> tuple[str, list[str]]:
        """The date lead of a "when does … apply" question, and a notice per cited provision not in effect on
        ``day`` (from the clauses the answer will cite)."""
        cited = self.citations(result, language)
        dates.mark_in_effect(cited, day)
        lead = ""
        if dates.asks_when(question):
            lead = dates.when_lead(
                cited, language, self.names.unit_label, self.names.document_title, self.names.effective_date
            )
        return lead, dates.date_notices(cited, day, language, self.names.unit_label)

    def interpretation(self, result: RetrievalResult, language: str) -> str:
        """How a follow-up was read, when the conversation supplied what it is about; else ""."""
        analysis = result.analysis
        carried = [d for d in analysis.doc_ids if d not in analysis.named_in_question]
        if not analysis.is_follow_up or not carried:
            return ""
        titles = ("、" if language == "zh" else ", ").join(self.names.document_title(d) for d in carried)
        return f"{analysis.question}（关于{titles}）" if language == "zh" else f"{analysis.question} (about {titles})"

    def follow_ups(self, result: RetrievalResult, language: str, citations: list[Citation]) -> list[str]:
        """Suggested next questions about the first cited document (``follow_ups.py``)."""
        return suggest_follow_ups(
            result.analysis.question, language, [self.names.document_title(c.doc_id) for c in citations]
        )


def quote_block(text: str) -> str:
    """Verbatim clause text as a Markdown quote (heading markers become bold lines)."""
    out = []
    for line in text.strip().splitlines():
        line = re.sub(r"^#{1,6}\s+(.*)$", r"**\1**", line)
        out.append("> " + line if line.strip() else ">")
    return "\n".join(out)
