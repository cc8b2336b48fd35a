"""The answer service: the one entry point that the CLI, the web app, the API and the bots call.

``AnswerService.answer(question, history=[], filters=None) -> Answer`` and ``stream(...)`` (text deltas,
then the final ``Answer``). Extractive mode (default, offline): a one-line lead naming the governing
provisions, then the clauses quoted verbatim with numbered citations, grouped by document — no sentence
that is not in a source, no citation to a clause that was not retrieved. Generative mode: an
OpenAI-compatible LLM writes the answer from the same clauses; its citations are checked (see ``llm.py``).
"""
from __future__ import annotations

import re
import time
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date

from assistant import dates
from assistant.comparison import comparison_table, side_name, side_of
from assistant.comparison import policy as comparison_policy
from common.documents import NO_LONGER_IN_FORCE
from common.settings import Settings, get_settings
from assistant.feedback import record_declined
from assistant.followups import suggest_follow_ups
from assistant.lead import Lead, Piece, compose_lead
from assistant.query import question_language
from assistant.refusal import RefusalDecision, decide
from assistant.retrieval import Filters, HybridRetriever, RetrievalResult, RetrievedClause, asks_definition, asks_scope
from ingest.applicability import InvalidDate, applicability_of, parse_as_of
from ingest.catalog import load_catalog

MAX_QUESTION_CHARS = 10_000
REVOKED_LABEL = {"zh": "已废止", "en": "revoked"}


class InvalidQuestion(ValueError):
    """A question that cannot be answered as given; ``str(err)`` is a message for the user."""


class InvalidAsOf(InvalidQuestion):
    """An as-of date that is not YYYY-MM-DD."""


def as_of_date(value: str | date | None) -> date:
    """The as-of date of a request (default today); a malformed one raises ``InvalidAsOf``."""
    try:
        return parse_as_of(value)
    except InvalidDate as exc:
        raise InvalidAsOf(str(exc)) from exc


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    unit: str
    locator: str
    label: str  # how the answer names it: 《生成式人工智能服务管理暂行办法》第十二条, EU AI Act Article 50(2)
    quote: str  # verbatim clause text
    status: str
    source_url: str
    path: str = ""
    issued: str = ""
    jurisdiction: str = ""
    chunk_id: str = ""
    applies_from: str = ""  # ISO date from which the provision applies ("" = no date recorded)
    applies_until: str = ""  # ISO date from which it no longer applies
    in_effect: bool = True  # on the answer's as-of date
    applies_condition: str = ""  # applies only once this is met
    applies_note: str = ""  # a part of the provision has another date
    unit_text: str = ""  # the whole unit (all its pieces), for the clause panel; "" = the quote is the unit
    spans: list[tuple[int, int]] = field(default_factory=list)  # [start, end) in unit_text (else quote) of the
    #                                                             sentences the answer's lead quotes

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    refused: bool
    mode: str  # "extractive" or "generative:<model>"
    language: str
    timings: dict = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # fallbacks, removed citations, version caveats
    related: list[Citation] = field(default_factory=list)  # "possibly related" clauses shown with a refusal
    retrieved: list[RetrievedClause] = field(default_factory=list)
    refusal_kind: str = ""
    lead: str = ""  # one to three sentences that answer the question, each with its [n]; first on every surface
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # for feedback and export
    interpreted_as: str = ""  # the standalone question searched when the history was used, else ""
    follow_ups: list[str] = field(default_factory=list)  # suggested next questions

    def to_dict(self, include_retrieved: bool = False) -> dict:
        out = {
            "answer_id": self.answer_id, "lead": self.lead, "interpreted_as": self.interpreted_as,
            "follow_ups": self.follow_ups,
            "question": self.question, "text": self.text, "refused": self.refused, "mode": self.mode,
            "language": self.language, "timings": self.timings, "notices": self.notices,
            "citations": [c.to_dict() for c in self.citations],
            "related": [c.to_dict() for c in self.related],
            "refusal_kind": self.refusal_kind,
        }
        if include_retrieved:
            out["retrieved"] = [{"doc_id": c.doc_id, "unit": c.unit, "locator": c.locator, "text": c.text,
                                 "score": c.score} for c in self.retrieved]
        return out


def validate_question(question: object) -> str:
    if not isinstance(question, str):
        raise InvalidQuestion("The question must be text.")
    # control characters go, and so do unpaired surrogates (a JSON "\ud800" escape): they cannot be encoded
    cleaned = "".join(ch for ch in question if unicodedata.category(ch) not in ("Cc", "Cs") or ch in "\n\t")
    cleaned = cleaned.strip()
    if not cleaned:
        raise InvalidQuestion("Please type a question (it was empty). / 请输入问题（内容为空）。")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise InvalidQuestion(f"The question is too long ({len(cleaned)} characters; the limit is "
                              f"{MAX_QUESTION_CHARS}). / 问题过长（{len(cleaned)} 字符，上限 {MAX_QUESTION_CHARS}）。")
    if not any(ch.isalnum() for ch in cleaned):
        raise InvalidQuestion("The question has no words in it. / 问题中没有文字。")
    return cleaned


def validate_history(history: list[dict], max_turns: int, max_chars: int) -> None:
    """A conversation longer than the limits is refused with a clear message (it would cost analysis time
    without helping the answer: only the last turns are read)."""
    if len(history) > max_turns:
        raise InvalidQuestion(f"The conversation history is too long ({len(history)} turns; the limit is {max_turns}). "
                              f"Start a new conversation. / 对话历史过长（{len(history)} 轮，上限 {max_turns}），请开始新对话。")
    total = sum(len(turn["content"]) for turn in history)
    if total > max_chars:
        raise InvalidQuestion(f"The conversation history is too long ({total} characters; the limit is {max_chars}). "
                              f"Start a new conversation. / 对话历史过长（{total} 字符，上限 {max_chars}），请开始新对话。")


def recent_history(history: list[dict], max_turns: int, max_chars: int) -> list[dict]:
    """The most recent turns that fit the limits (what a chat surface sends with its next question)."""
    kept: list[dict] = []
    total = 0
    for turn in reversed(history[-max_turns:]):
        total += len(turn.get("content") or "")
        if total > max_chars:
            break
        kept.append(turn)
    return list(reversed(kept))


_POINT_START = re.compile(r"^(?:\(([0-9]+|[a-z]{1,4})\)|([0-9]+)\.|[（(]([一二三四五六七八九十]+)[）)])\s*", re.M)


def _span_end(clause: RetrievedClause) -> str:
    """"–(h)" when a piece labelled from where it starts (Article 5(1)(d)) runs on to further points of the same
    level, so that the label does not claim a single point for text that covers several. The end is of the same
    kind as the start's last part: Article 99(5)–(7) for paragraphs, Article 5(1)(d)–(f) for points; never a
    mixed "Article 99(5)–(a)"."""
    if clause.locator == clause.unit:
        return ""
    start = re.findall(r"\(([^)]+)\)$", clause.locator)
    if not start:
        return ""
    numeric = start[0].isdigit()
    marks = []
    for m in _POINT_START.finditer(clause.text):
        mark = next(g for g in m.groups() if g)
        if mark.isdigit() == numeric and not re.fullmatch(r"[一二三四五六七八九十]+", mark):
            marks.append(mark)
    if len(marks) < 2 or marks[-1] == start[0]:
        return ""
    return f"–({marks[-1]})"


class AnswerService:
    def __init__(self, settings: Settings | None = None, retriever: HybridRetriever | None = None,
                 generator=None) -> None:
        self.settings = settings or get_settings()
        self.retriever = retriever or HybridRetriever(self.settings)
        self._generator = generator
        catalog = load_catalog(self.settings.catalog_path)
        self._short_titles = {k: v.short_title for k, v in catalog.items() if v.short_title}
        self._editions = {k: v.edition for k, v in catalog.items() if v.edition}

    def warm_up(self) -> None:
        """Load the model, tokenizer dictionaries and index caches before the first user question."""
        self.retriever.run("生成式人工智能服务提供者的义务 obligations of providers")

    # ---- helpers ----------------------------------------------------------------------------------------
    @property
    def generator(self):
        if self._generator is None and self.settings.llm_base_url and self.settings.llm_model:
            from assistant.llm import LLMGenerator

            self._generator = LLMGenerator(self.settings)
        return self._generator

    def document_title(self, doc_id: str) -> str:
        info = self.retriever.index.docs.get(doc_id)
        if info is None:
            return doc_id
        if info.language == "zh":
            edition = self._editions.get(doc_id)
            return f"《{info.title}》" + (f"（{edition}）" if edition else "")
        return self._short_titles.get(doc_id) or info.title

    def clause_label(self, clause: RetrievedClause, language: str, locator: str | None = None) -> str:
        title = self.document_title(clause.doc_id)
        locator = locator or clause.locator + _span_end(clause)
        label = f"{title}{locator}" if title.startswith("《") else f"{title} {locator}"
        if clause.revoked:
            label += f"（{REVOKED_LABEL['zh']}）" if language == "zh" else f" ({REVOKED_LABEL['en']})"
        return label

    def _citation(self, n: int, clause: RetrievedClause, language: str) -> Citation:
        m = clause.meta
        citation = Citation(n=n, doc_id=clause.doc_id, title=m.get("title", clause.doc_id), unit=clause.unit,
                            locator=clause.locator, label=self.clause_label(clause, language), quote=clause.text,
                            status=clause.status, source_url=m.get("source_url", ""), path=m.get("path", ""),
                            issued=m.get("issued", ""), jurisdiction=m.get("jurisdiction", ""),
                            chunk_id=clause.chunk_id)
        return _with_dates(citation, m)

    def select_clauses(self, result: RetrievalResult) -> list[RetrievedClause]:
        """The clauses an answer cites: named clauses first, then the strongest units (one or two pieces each)."""
        max_units = self.settings.max_cited_units
        ranked = [c for c in result.clauses if "cross_reference" not in c.signals]
        if not ranked:
            return []
        by_unit: dict[tuple[str, str], list[RetrievedClause]] = {}
        for c in ranked:
            by_unit.setdefault((c.doc_id, c.unit), []).append(c)
        lookups = {(c.doc_id, c.unit) for c in result.lookup_hits}
        searched = [c for c in ranked if (c.doc_id, c.unit) not in lookups]
        best = searched[0].score if searched else 0.0
        chosen: list[tuple[str, str]] = [u for u in by_unit if u in lookups]
        if result.sides:  # a comparison: each side's best units, whatever their score against the other side's
            chosen += self._units_per_side(result, searched, chosen)
        elif not chosen:
            for c in searched:
                key = (c.doc_id, c.unit)
                if key not in chosen and c.score >= 0.6 * best and len(chosen) < max_units:
                    chosen.append(key)
            # every document the question names gets its best clause, if retrieval found one
            for doc_id in result.analysis.doc_ids:
                if not any(d == doc_id for d, _ in chosen):
                    first = next((c for c in searched if c.doc_id == doc_id), None)
                    if first is not None and len(chosen) < max_units + 1:
                        chosen.append((first.doc_id, first.unit))
        chosen = self._without_framing(result, chosen, by_unit, lookups)
        out: list[RetrievedClause] = []
        limit = max(max_units + 1, len(result.sides) * comparison_policy().cited_units_per_side)
        for key in chosen[:limit]:
            pieces = by_unit[key]
            out += pieces[:2] if pieces[0].meta.get("parts", 1) > 1 else pieces[:1]
        return out

    def _without_framing(self, result: RetrievalResult, chosen: list[tuple[str, str]],
                         by_unit: dict[tuple[str, str], list[RetrievedClause]],
                         lookups: set[tuple[str, str]]) -> list[tuple[str, str]]:
        """Definition lists, recitals, preambles and signature blocks are quoted only when they hold the answer:
        when named, ranked first, or when the question asks what something means or whether a text applies."""
        question = result.analysis.question
        if asks_definition(question) or asks_scope(question):
            return chosen
        index = self.retriever.index
        return [key for rank, key in enumerate(chosen)
                if rank == 0 or key in lookups or not index.is_framing(by_unit[key][0].chunk_id)]

    def _units_per_side(self, result: RetrievalResult, searched: list[RetrievedClause],
                        chosen: list[tuple[str, str]]) -> list[tuple[str, str]]:
        per_side = comparison_policy().cited_units_per_side
        docs = self.retriever.index.docs
        picked: list[tuple[str, str]] = []
        for n in range(len(result.sides)):
            count = sum(1 for d, _ in chosen
                        if side_of(d, docs[d].jurisdiction if d in docs else "", result.sides) == n)
            for c in searched:
                key = (c.doc_id, c.unit)
                if count >= per_side:
                    break
                if key not in chosen and key not in picked and \
                        side_of(c.doc_id, c.meta.get("jurisdiction", ""), result.sides) == n:
                    picked.append(key)
                    count += 1
        return picked

    def cited_clauses(self, result: RetrievalResult) -> list[RetrievedClause]:
        """The selected clauses grouped by document, in the order citations are numbered (both answer modes)."""
        selected = self.select_clauses(result)
        doc_order = list(dict.fromkeys(c.doc_id for c in selected))
        return sorted(selected, key=lambda c: doc_order.index(c.doc_id))

    # ---- extractive -------------------------------------------------------------------------------------
    def compose_extractive(self, result: RetrievalResult, language: str) -> tuple[str, list[Citation], str]:
        """(answer text: the lead, then the cited clauses grouped by document; citations; the lead)."""
        clauses = self.cited_clauses(result)
        citations = [self._citation(n, c, language) for n, c in enumerate(clauses, 1)]
        lead = self.extractive_lead(result, clauses, citations, language)
        units_by_doc: dict[str, list[str]] = {}
        for c in clauses:
            units = units_by_doc.setdefault(c.doc_id, [])
            if c.unit not in units:
                units.append(c.unit)
        named = []
        for doc_id, units in units_by_doc.items():
            title = self.document_title(doc_id)
            sep = "、" if language == "zh" else ", "
            joined = sep.join(units) if title.startswith("《") else " " + ", ".join(units)
            revoked = any(c.revoked for c in clauses if c.doc_id == doc_id)
            suffix = (f"（{REVOKED_LABEL['zh']}）" if language == "zh" else f" ({REVOKED_LABEL['en']})") if revoked else ""
            named.append(f"{title}{joined}{suffix}")
        if result.sides:
            lines = self._comparison_lead(result, citations, language)
        elif language == "zh":
            lines = ["根据" + "和".join(named) + "的规定：", ""]
        else:
            lines = ["The governing provisions are " + _join_en(named) + ":", ""]
        by_doc: dict[str, list[Citation]] = {}
        for cit in citations:
            by_doc.setdefault(cit.doc_id, []).append(cit)
        for doc_id, cits in by_doc.items():
            title = self.document_title(doc_id)
            status = cits[0].status
            heading = f"**{title}**"
            if status in NO_LONGER_IN_FORCE:
                heading += f"（{REVOKED_LABEL['zh']}）" if language == "zh" else f" ({REVOKED_LABEL['en']})"
            lines.append(heading)
            for cit in cits:
                quote = _quote_block(cit.quote)
                lines.append(f"{quote} [{cit.n}]")
                lines.append("")
        body = "\n".join(lines).rstrip() + "\n"
        return (lead + "\n\n" + body if lead else body), citations, lead

    def extractive_lead(self, result: RetrievalResult, clauses: list[RetrievedClause], citations: list[Citation],
                        language: str) -> str:
        """The lead sentences (assistant/lead.py); sets each citation's ``spans`` (and ``unit_text`` for a unit
        cut into several pieces, so that the panel shows all of it with the quoted sentences marked)."""
        index = self.retriever.index
        pieces = [Piece(cit.n, cit.quote, index.is_framing(clause.chunk_id)) for cit, clause in zip(citations, clauses)]
        question = " ".join([result.analysis.question, *result.analysis.expansions])
        wants_definition = asks_definition(result.analysis.question)
        if result.sides:  # a comparison: the best sentence of each side
            lead = Lead()
            for n in range(len(result.sides)):
                side = [p for p, cit in zip(pieces, citations) if side_of(cit.doc_id, cit.jurisdiction, result.sides) == n]
                part = compose_lead(question, language, side, index.keyword.idf, wants_definition, max_sentences=1)
                lead.text = (lead.text + ("" if language == "zh" else " ") + part.text).strip() if part.text else lead.text
                for k, spans in part.spans.items():
                    lead.spans.setdefault(k, []).extend(spans)
        else:
            lead = compose_lead(question, language, pieces, index.keyword.idf, wants_definition=wants_definition)
        for cit, clause in zip(citations, clauses):
            offset = 0
            if clause.meta.get("parts", 1) > 1:
                texts = [index.texts[r] for r in index.rows_of_unit(clause.doc_id, clause.unit)]
                cit.unit_text = "\n\n".join(texts)
                found = cit.unit_text.find(cit.quote)
                offset = max(found, 0)
            cit.spans = [(offset + a, offset + b) for a, b in lead.spans.get(cit.n, [])]
        return lead.text

    def side_names(self, result: RetrievalResult, language: str) -> list[str]:
        """The names of a comparison's sides (documents or jurisdictions); empty for other questions."""
        return [side_name(side, self.document_title, language) for side in result.sides]

    def _comparison_lead(self, result: RetrievalResult, citations: list[Citation], language: str) -> list[str]:
        """"Comparison of A and B:", a table (one row per aspect asked about, a verbatim sentence per side), then
        the clauses themselves."""
        names = self.side_names(result, language)
        cells: list[list[tuple[str, int]]] = [[] for _ in result.sides]
        for cit in citations:
            n = side_of(cit.doc_id, cit.jurisdiction, result.sides)
            if n is not None:
                cells[n].append((cit.quote, cit.n))
        lead = ("对比" + "与".join(names) + "：") if language == "zh" else f"Comparison of {_join_en(names)}:"
        missing = [names[n] for n, side_cells in enumerate(cells) if not side_cells]
        lines = [lead, "", comparison_table(result.analysis.question, language, names, cells), ""]
        if missing:
            lines += [("语料中未找到以下一方的相关条款：" if language == "zh" else
                       "No clause was found for: ") + ", ".join(missing), ""]
        return lines

    def compose_refusal(self, result: RetrievalResult, decision: RefusalDecision,
                        language: str) -> tuple[str, list[Citation]]:
        related_clauses = []
        seen = set()
        for c in result.clauses:
            if (c.doc_id, c.unit) not in seen:
                seen.add((c.doc_id, c.unit))
                related_clauses.append(c)
            if len(related_clauses) == 3:
                break
        related = [self._citation(n, c, language) for n, c in enumerate(related_clauses, 1)]
        if language == "zh":
            lines = [f"语料库未涵盖这个问题：{decision.reason}"]
            if related:
                lines += ["", "可能相关的条款（并非对该问题的回答）："] + [f"- {r.label}" for r in related]
        else:
            lines = [f"The corpus does not cover this question: {decision.reason}"]
            if related:
                lines += ["", "Possibly related clauses (they do not answer the question):"] + \
                         [f"- {r.label}" for r in related]
        return "\n".join(lines) + "\n", related

    # ---- the service ------------------------------------------------------------------------------------
    def _prepare(self, question: object, history, filters, mode: str):
        t0 = time.perf_counter()
        question = validate_question(question)
        history = [{**h, "content": _drop_surrogates(h["content"])} for h in (history or [])
                   if isinstance(h, dict) and isinstance(h.get("content"), str) and h.get("content")
                   and h.get("role") in ("user", "assistant")]
        validate_history(history, self.settings.max_history_turns, self.settings.max_history_chars)
        language = question_language(question)
        standalone = None
        if mode == "generative" and history and self.generator is not None:
            standalone = self.generator.rewrite(question, history)  # None on failure: extractive carry-over
        if standalone:
            result = self.retriever.run(standalone, filters=Filters.of(filters))
        else:
            result = self.retriever.run(question, history=history, filters=Filters.of(filters))
        index = self.retriever.index
        doc_years = {d: info.text_year for d, info in index.docs.items() if info.text_year}
        titles = {d: self.document_title(d) for d in index.docs}
        decision = decide(result, self.settings, doc_years, titles)
        timings = {"retrieve_ms": round((time.perf_counter() - t0) * 1000, 1)}
        return question, history, language, result, decision, timings, t0

    def answer(self, question: object, history: list[dict] | None = None, filters: Filters | dict | None = None,
               mode: str | None = None, as_of: str | date | None = None) -> Answer:
        final = None
        for event in self.stream(question, history, filters, mode, as_of):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(self, question: object, history: list[dict] | None = None, filters: Filters | dict | None = None,
               mode: str | None = None, as_of: str | date | None = None) -> Iterator[str | Answer]:
        """Yields text deltas, then the final ``Answer`` (whose ``text`` is the whole answer). ``as_of`` (default
        today) is the date on which each citation is said to be in effect or not."""
        mode = mode or self.settings.answer_mode
        day = as_of_date(as_of)
        question, history, language, result, decision, timings, t0 = self._prepare(question, history, filters, mode)
        notices = self._version_notices(result, language)
        lead = ""
        if not decision.refused:
            lead, date_notes = self._date_lines(question, result, language, day)
            notices += date_notes
        if decision.refused:
            text, related = self.compose_refusal(result, decision, language)
            dates.mark_in_effect(related, day)
            yield text
            timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            declined = Answer(question=question, text=text, citations=[], refused=True, mode="extractive",
                              language=language, timings=timings, notices=notices, related=related,
                              retrieved=result.clauses, refusal_kind=decision.kind,
                              lead=text.strip().split("\n", 1)[0], interpreted_as=self.interpretation(result, language))
            record_declined(self.settings, question, decision.kind, language, declined.answer_id)  # never raises
            yield declined
            return
        if mode == "generative" and self.generator is not None:
            notices[:0] = [lead] if lead else []
            for event in self.generator.stream_answer(self, question, history, language, result, timings, t0,
                                                      notices):
                if isinstance(event, Answer):
                    dates.mark_in_effect(event.citations, day)
                yield event
            return
        if mode == "generative":
            notices.append("No LLM endpoint is configured (llm_base_url, llm_model): extractive answer."
                           if language == "en" else "未配置大模型接口（llm_base_url、llm_model），以下为原文摘录式回答。")
        text, citations, sentences = self.compose_extractive(result, language)
        dates.mark_in_effect(citations, day)
        if notices:
            text = "\n".join(f"> ⚠ {n}" for n in notices) + "\n\n" + text
        if lead:
            text = lead + "\n\n" + text
        for line in text.splitlines(keepends=True):
            yield line
        timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        yield Answer(question=question, text=text, citations=citations, refused=False, mode="extractive",
                     language=language, timings=timings, notices=notices, retrieved=result.clauses,
                     lead="\n".join(x for x in (lead, sentences) if x),
                     interpreted_as=self.interpretation(result, language),
                     follow_ups=suggest_follow_ups(result.analysis.question, language,
                                                   [self.document_title(c.doc_id) for c in citations]))

    def _date_lines(self, question: str, result: RetrievalResult, language: str, day: date) -> tuple[str, list[str]]:
        """The date lead of a "when does … apply" question, and a notice per cited provision not in effect on
        ``day`` (from the clauses the answer will cite)."""
        cited = [self._citation(n, c, language) for n, c in enumerate(self.cited_clauses(result), 1)]
        dates.mark_in_effect(cited, day)
        lead = ""
        if dates.asks_when(question):
            lead = dates.when_lead(cited, language, self.unit_label, self.document_title, self._effective_date)
        return lead, dates.date_notices(cited, day, language, self.unit_label)

    def interpretation(self, result: RetrievalResult, language: str) -> str:
        """How a follow-up was read, when the conversation supplied what it is about; else ""."""
        analysis = result.analysis
        carried = [d for d in analysis.doc_ids if d not in analysis.named_in_question]
        if not analysis.is_follow_up or not carried:
            return ""
        titles = ("、" if language == "zh" else ", ").join(self.document_title(d) for d in carried)
        return f"{analysis.question}（关于{titles}）" if language == "zh" else f"{analysis.question} (about {titles})"

    def unit_label(self, citation: Citation) -> str:
        """A citation named by its unit (EU AI Act Article 5, 《…》第十二条), without the piece locator."""
        title = self.document_title(citation.doc_id)
        return f"{title}{citation.unit}" if title.startswith("《") else f"{title} {citation.unit}"

    def _effective_date(self, doc_id: str) -> str:
        return next((m.get("effective") or "" for m in self.retriever.index.metas if m.get("doc_id") == doc_id), "")

    def _version_notices(self, result: RetrievalResult, language: str) -> list[str]:
        notices = []
        for doc_id in dict.fromkeys(c.doc_id for c in result.clauses[:5]):
            info = self.retriever.index.docs.get(doc_id)
            if info and info.status in NO_LONGER_IN_FORCE:
                title = self.document_title(doc_id)
                notices.append(f"{title}已废止，引用时请以现行文本为准。" if language == "zh"
                               else f"{title} is revoked; it is quoted for reference only.")
        return notices


def _with_dates(citation: Citation, meta: dict) -> Citation:
    """Dates from the chunk metadata (set at ingest); computed here for an index made before they were."""
    if "applies_from" in meta:
        citation.applies_from = meta.get("applies_from") or ""
        citation.applies_until = meta.get("applies_until") or ""
        citation.applies_condition = meta.get("applies_condition") or ""
        citation.applies_note = meta.get("applies_note") or ""
        return citation
    found = applicability_of(citation.doc_id, citation.locator, meta.get("effective", ""), citation.status)
    citation.applies_from, citation.applies_until = found.applies_from, found.applies_until
    citation.applies_condition, citation.applies_note = found.condition, found.note
    return citation


def _drop_surrogates(text: str) -> str:
    """Unpaired surrogates cannot be encoded as UTF-8 (the embedder, the LLM client would fail): drop them."""
    return text.encode("utf-8", "ignore").decode("utf-8")


def _join_en(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _quote_block(text: str) -> str:
    """Verbatim clause text as a Markdown quote (heading markers become bold lines)."""
    out = []
    for line in text.strip().splitlines():
        line = re.sub(r"^#{1,6}\s+(.*)$", r"**\1**", line)
        out.append("> " + line if line.strip() else ">")
    return "\n".join(out)
