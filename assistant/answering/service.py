"""The answer service: the one entry point that the CLI, the web app, the API and the bots call.

``AnswerService.answer(question, history=[], filters=None) -> Answer`` and ``stream(...)`` (text deltas, then the
final ``Answer``). The service is wiring:

1. prepare: validate the question and conversation, retrieve (``assistant.retrieval``; in generative mode a
   follow-up is first rewritten by the LLM), decide whether the corpus can answer (``assistant.answering.guard``);
2. refuse (``compose.Composer.refusal``), or compose the extractive answer (``compose.Composer.extractive``: a
   lead of verbatim sentences, the clauses quoted with numbered citations, grouped by document), or generate one
   (``generate.LLMGenerator``, which only yields text): the service checks the reply's [n] marks against the
   offered citations (``citation_marks``), and falls back to the extractive answer when the endpoint fails or the
   reply cites nothing valid;
3. build the one ``Answer`` (``models.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import date

from assistant import dates
from assistant.answering import notices as notice
from assistant.answering.answerability import load_model
from assistant.answering.citation_marks import CitationStreamFilter, check_citations
from assistant.answering.compose import Composer, first_paragraph, notice_lines
from assistant.answering.generate import LLMGenerator
from assistant.answering.guard import RULES, RefusalDecision, Rule, decide
from assistant.answering.models import (
    Answer,
    Citation,
    as_of_date,
    usable_history,
    validate_history,
    validate_question,
)
from assistant.answering.naming import DocumentNames
from assistant.answering.policy import policy
from assistant.answering.question_parts import parts_policy, split_parts, without_connector
from assistant.feedback import record_declined
from assistant.retrieval import Filters, HybridRetriever, RetrievalResult, question_language
from assistant.retrieval.comparison import policy as comparison_policy
from assistant.retrieval.dictionary import dictionary
from common.settings import Settings, get_settings
from ingest.keyword_index import tokenize

log = logging.getLogger(__name__)

WARM_UP_QUESTION = "生成式人工智能服务提供者的义务 obligations of providers"


@dataclass(frozen=True)
class PreparedQuestion:
    """A question ready to be answered: cleaned, its conversation, what was retrieved and whether to answer."""

    question: str
    history: tuple[dict, ...]
    language: str
    result: RetrievalResult
    decision: RefusalDecision
    retrieve_ms: float
    started: float  # time.perf_counter() when the question arrived
    uncovered: tuple[tuple[str, RefusalDecision], ...] = ()  # parts of the question the corpus does not cover
    covered: str = ""  # when some parts are not covered: the parts that are, which the answer answers


@dataclass(frozen=True)
class CheckedPart:
    """One part of a question of several, as the guard sees it asked on its own."""

    asked: str  # the part without the connector that joined it ("and", "另外"): what is searched and named
    declined: RefusalDecision | None  # the guard's decision when the corpus does not cover the part, else None
    stands_alone: bool  # can be answered without the other parts (as a follow-up question that stands alone)
    names_clause: bool = False  # names a clause of ours by its number, and retrieval found it


@dataclass(frozen=True)
class AnswerBody:
    """What one way of answering (refusal, extractive, generative) produced; the service adds the rest."""

    text: str
    citations: list[Citation]
    mode: str  # "extractive" or "generative:<model>"
    notices: list[str]
    lead: str = ""
    refused: bool = False
    refusal_kind: str = ""
    related: list[Citation] = field(default_factory=list)
    interpreted_as: str = ""
    follow_ups: list[str] = field(default_factory=list)
    llm_ms: float | None = None


@dataclass(frozen=True)
class CheckedReply:
    """A generated reply checked against the offered citations: the valid numbers it cites, a notice naming the
    invalid ones ("" when none), and why the extractive answer is given instead (None: the reply is used)."""

    cited: list[int]
    invalid_notice: str = ""
    fallback_reason: str | None = None


class AnswerService:
    def __init__(
        self,
        settings: Settings | None = None,
        retriever: HybridRetriever | None = None,
        generator: LLMGenerator | None = None,
        with_lead_model: bool = True,
    ) -> None:
        self.settings = settings or get_settings()
        self.retriever = retriever or HybridRetriever(self.settings)
        self._generator = generator
        self.names = DocumentNames(self.retriever, self.settings.catalog_path)
        self.composer = Composer(self.retriever, self.names, self.settings.max_cited_units, with_lead_model)

    def warm_up(self) -> None:
        """Load the model, tokenizer dictionaries and index caches before the first user question (and the
        word-by-word dictionary when the collection is in one language only: see ``analysis.translations``)."""
        self.retriever.run(WARM_UP_QUESTION)
        if len(self.retriever.index.languages) == 1:
            dictionary()

    @property
    def generator(self) -> LLMGenerator | None:
        """The LLM client, made on first use when an endpoint is configured (else None)."""
        if self._generator is None and self.settings.llm_base_url and self.settings.llm_model:
            self._generator = LLMGenerator(self.settings)
        return self._generator

    # ---- the entry points ----------------------------------------------------------------------------------------
    def answer(
        self,
        question: object,
        history: list[dict] | None = None,
        filters: Filters | dict | None = None,
        mode: str | None = None,
        as_of: str | date | None = None,
    ) -> Answer:
        final = None
        for event in self.stream(question, history, filters, mode, as_of):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(
        self,
        question: object,
        history: list[dict] | None = None,
        filters: Filters | dict | None = None,
        mode: str | None = None,
        as_of: str | date | None = None,
    ) -> Iterator[str | Answer]:
        """Yields text deltas, then the final ``Answer`` (whose ``text`` is the whole answer). ``as_of`` (default
        today) is the date on which each citation is said to be in effect or not."""
        mode = mode or self.settings.answer_mode
        day = as_of_date(as_of)
        prepared = self.prepare(question, history, filters, mode)
        body = yield from self._respond(prepared, mode, day)
        answer = self._build(prepared, body, day)
        if answer.refused:
            record_declined(
                self.settings, answer.question, answer.refusal_kind, answer.language, answer.answer_id
            )  # never raises
        yield answer

    # ---- 1. prepare ------------------------------------------------------------------------------------------------
    def prepare(
        self,
        question: object,
        history: list[dict] | None = None,
        filters: Filters | dict | None = None,
        mode: str = "extractive",
    ) -> PreparedQuestion:
        """The checked question, its retrieval and the guard's decision (also what ``regqa train-lead`` reads)."""
        started = time.perf_counter()
        question = validate_question(question)
        turns = usable_history(history)
        validate_history(turns, self.settings.max_history_turns, self.settings.max_history_chars)
        language = question_language(question)
        result = self._retrieve(question, turns, filters, mode)
        decision = self.decide(result)
        parts = self._check_parts(question, turns, filters)
        uncovered = [(c.asked, c.declined) for c in parts if c.declined is not None]
        # the whole is declined but some parts are covered: answer those, and say which are not. A part is answered
        # on its own only when it stands alone (not "…, and what thresholds does it use?", not "最终稿又改成了什么？")
        # and does not itself read as asking for a kind of fact regulation texts do not hold (a count, a change),
        # unless it names a clause we hold ("And what does Article 14 of PIPL say about consent?")
        answerable = [
            c.asked
            for c in parts
            if c.declined is None and c.stands_alone and (c.names_clause or not self._asks_unheld_kind(c.asked))
        ]
        # what the answer answers when a part is not covered (the question the LLM is asked)
        covered = " ".join(c.asked for c in parts if c.declined is None) if uncovered else ""
        if uncovered and decision.refused and answerable and parts_policy().answer_covered_parts:
            covered = " ".join(answerable)
            covered_result = self.retriever.run(covered, history=turns, filters=Filters.of(filters))
            covered_decision = self.decide(covered_result)
            if not covered_decision.refused:
                result, decision = covered_result, covered_decision
        if decision.refused:
            uncovered, covered = [], ""  # the refusal says why
        retrieve_ms = round((time.perf_counter() - started) * 1000, 1)
        return PreparedQuestion(
            question,
            tuple(turns),
            language,
            result,
            decision,
            retrieve_ms,
            started,
            tuple(uncovered),
            covered,
        )

    def _check_parts(self, question: str, history: list[dict], filters: Filters | dict | None) -> list[CheckedPart]:
        """A question of several parts (assistant/answering/question_parts.py), each checked by the guard on its
        own. Empty for a question of one part, and when the guard declines none or every part (then the question as
        a whole decides)."""
        parts = split_parts(question)
        if len(parts) < 2:
            return []
        checked: list[CheckedPart] = []
        for n, part in enumerate(parts):
            asked = without_connector(part)
            result = self.retriever.run(asked, history=history, filters=Filters.of(filters))
            decision = self.decide(result)
            uncovered = decision.refused and (decision.kind != "weak-evidence" or self._asks_unheld_kind(asked))
            after_uncovered = any(c.declined is not None for c in checked)
            alone = self._stands_alone(asked, n == 0) and (not after_uncovered or self._names_its_own_subject(result))
            checked.append(CheckedPart(asked, decision if uncovered else None, alone, bool(result.lookup_hits)))
        declined = sum(c.declined is not None for c in checked)
        return checked if 0 < declined < len(checked) else []

    def _stands_alone(self, part: str, first: bool) -> bool:
        """Whether a part can be asked without the others: it names a document, or it has enough words of its own
        (ranking.toml [analysis] self_contained_min_words), does not refer back ("it", "这个") and, after the first
        part, does not start like a follow-up ("what about", "那…")."""
        rules = self.retriever.policy.analysis
        if self.retriever.index.resolver.find(part):
            return True
        return (
            len(set(tokenize(part))) >= rules.self_contained_min_words
            and not rules.refers_back.search(part)
            and (first or not rules.follow_up_hint.search(part))
        )

    @staticmethod
    def _names_its_own_subject(part: RetrievalResult) -> bool:
        """Whether a part that follows one the corpus does not cover may still be answered on its own: it names a
        document of ours, and if it compares, it names both sides itself. Later parts build on earlier ones
        ("个保法第80条讲的是啥？是不是关于过渡期安排的？", "…? 和欧盟AI法案比起来怎么样？", "…, and what does it say?")."""
        named = part.analysis.named_in_question
        return bool(named) and (len(named) >= 2 or not comparison_policy().cues.search(part.analysis.question))

    @staticmethod
    def _asks_unheld_kind(text: str) -> bool:
        """Whether the answerability model's question-text model reads ``text`` as asking for a kind of fact that
        regulation texts do not hold (a fee, a statistic, a court case, another place's rule …). A part declined on
        weak evidence alone may only lack the topic the other parts give it; it is named as not covered only then."""
        model = load_model()
        return model is None or model.kind is None or model.kind.score(text) > 0

    def _retrieve(
        self, question: str, history: list[dict], filters: Filters | dict | None, mode: str
    ) -> RetrievalResult:
        """Retrieval for the question; in generative mode a follow-up is searched as the LLM's standalone rewrite
        (when the rewrite fails, the analysis carries the conversation over instead)."""
        standalone = None
        if mode == "generative" and history and self.generator is not None:
            standalone = self.generator.rewrite(question, history)
        if standalone:
            return self.retriever.run(standalone, filters=Filters.of(filters))
        return self.retriever.run(question, history=history, filters=Filters.of(filters))

    def decide(self, result: RetrievalResult, rules: tuple[Rule, ...] = RULES) -> RefusalDecision:
        """Whether to answer: the guard's rules (assistant/answering/guard.py) on a retrieval result."""
        index = self.retriever.index
        titles = {d: self.names.document_title(d) for d in index.docs}
        resolver = index.resolver
        return decide(
            result,
            self.settings,
            resolver.newest_year,
            titles,
            self.retriever.policy,
            rules,
            amended=resolver.held_only_amended,
            not_included=resolver.not_included,
            names=resolver.names_of,
            with_other_versions=resolver.with_other_versions,
        )

    # ---- 2. refuse, compose or generate ---------------------------------------------------------------------------
    def _respond(self, p: PreparedQuestion, mode: str, day: date) -> Generator[str, None, AnswerBody]:
        notices = self.composer.version_notices(p.result, p.language)
        if p.decision.refused:
            return (yield from self._refuse(p, notices))
        notices += [notice.uncovered_part(p.language, part, decision.reason) for part, decision in p.uncovered]
        date_lead, date_notices = self.composer.date_lines(p.question, p.result, p.language, day)
        notices += date_notices
        if mode == "generative" and self.generator is not None:
            return (yield from self._generate(p, ([date_lead] if date_lead else []) + notices))
        if mode == "generative":
            notices.append(notice.no_endpoint(p.language))
        return (yield from self._extract(p, date_lead, notices))

    def _refuse(self, p: PreparedQuestion, notices: list[str]) -> Generator[str, None, AnswerBody]:
        refusal = self.composer.refusal(p.result, p.decision, p.language)
        yield refusal.text
        return AnswerBody(
            refusal.text,
            [],
            "extractive",
            notices,
            lead=refusal.text.strip().split("\n", 1)[0],
            refused=True,
            refusal_kind=p.decision.kind,
            related=refusal.related,
            interpreted_as=self.composer.interpretation(p.result, p.language),
        )

    def _extract(self, p: PreparedQuestion, date_lead: str, notices: list[str]) -> Generator[str, None, AnswerBody]:
        extractive = self.composer.extractive(p.result, p.language)
        text = extractive.text
        if notices:
            text = notice_lines(notices) + "\n\n" + text
        if date_lead:
            text = date_lead + "\n\n" + text
        yield from text.splitlines(keepends=True)
        return AnswerBody(
            text,
            extractive.citations,
            "extractive",
            notices,
            lead="\n".join(x for x in (date_lead, extractive.lead) if x),
            interpreted_as=self.composer.interpretation(p.result, p.language),
            follow_ups=self.composer.follow_ups(p.result, p.language, extractive.citations),
        )

    def _generate(self, p: PreparedQuestion, notices: list[str]) -> Generator[str, None, AnswerBody]:
        """The LLM's reply, streamed with invalid [n] removed as it arrives; then checked as a whole: used (with
        a notice naming removed numbers) or replaced by the extractive answer."""
        assert self.generator is not None
        citations = self.composer.citations(p.result, p.language)
        valid = {c.n for c in citations}
        shown = CitationStreamFilter(valid)
        raw: list[str] = []
        visible: list[str] = []  # what the user has seen: the reply with invalid [n] removed
        started = time.perf_counter()
        failure = None
        try:
            sides = self.composer.side_names(p.result, p.language)
            asked = p.covered or p.question  # the model is asked only what the corpus covers; the notice says the rest
            for delta in self.generator.stream(asked, list(p.history), p.language, citations, sides):
                raw.append(delta)
                piece = shown.feed(delta)
                if piece:
                    visible.append(piece)
                    yield piece
        except Exception as exc:  # connection refused, timeout, HTTP error, malformed payload
            failure = f"{type(exc).__name__}: {str(exc)[: policy().failure_detail_chars]}"
            log.warning("LLM endpoint failed: %s", failure)
        llm_ms = round((time.perf_counter() - started) * 1000, 1)
        checked = self._check_reply("".join(raw).strip(), failure, valid, p.language)
        if checked.invalid_notice:
            notices.append(checked.invalid_notice)
        if checked.fallback_reason is None:
            notice_block = ("\n\n" + notice_lines(notices)) if notices else ""
            for piece in (shown.flush(), notice_block):
                if piece:  # the notices follow the streamed reply, so that the deltas add up to the final text
                    visible.append(piece)
                    yield piece
            text = "".join(visible)
            return AnswerBody(
                text,
                [c for c in citations if c.n in checked.cited],
                f"generative:{self.generator.model_name}",
                notices,
                lead=first_paragraph(text),
                llm_ms=llm_ms,
            )
        notices.append(checked.fallback_reason)
        extractive = self.composer.extractive(p.result, p.language)
        text = notice_lines(notices) + "\n\n" + extractive.text
        yield "\n\n" + text if raw else text
        return AnswerBody(text, extractive.citations, "extractive", notices, lead=extractive.lead, llm_ms=llm_ms)

    @staticmethod
    def _check_reply(reply: str, failure: str | None, valid: set[int], language: str) -> CheckedReply:
        if failure:
            return CheckedReply([], fallback_reason=notice.llm_failed(language, failure))
        if not reply:
            return CheckedReply([], fallback_reason=notice.llm_empty(language))
        _, cited, invalid = check_citations(reply, valid)
        invalid_notice = notice.invalid_citations(language, invalid) if invalid else ""
        return CheckedReply(cited, invalid_notice, None if cited else notice.llm_uncited(language))

    # ---- 3. the answer ---------------------------------------------------------------------------------------------
    def _build(self, p: PreparedQuestion, body: AnswerBody, day: date) -> Answer:
        """The one ``Answer``: the body of the answer with the question, its timings and what was retrieved; every
        citation (and related clause) says whether it is in effect on ``day``."""
        dates.mark_in_effect(body.citations, day)
        dates.mark_in_effect(body.related, day)
        timings = {"retrieve_ms": p.retrieve_ms}
        if body.llm_ms is not None:
            timings["llm_ms"] = body.llm_ms
        timings["total_ms"] = round((time.perf_counter() - p.started) * 1000, 1)
        return Answer(
            question=p.question,
            text=body.text,
            citations=body.citations,
            refused=body.refused,
            mode=body.mode,
            language=p.language,
            timings=timings,
            notices=body.notices,
            related=body.related,
            retrieved=p.result.clauses,
            refusal_kind=body.refusal_kind,
            lead=body.lead,
            interpreted_as=body.interpreted_as,
            follow_ups=body.follow_ups,
            uncovered=[part for part, _ in p.uncovered],
        )
