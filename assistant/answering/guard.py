"""The answerability guard: when to say "the corpus does not cover this" instead of answering.

An ordered list of small rules, each ``(RetrievalResult, GuardContext) -> RefusalDecision | None``; the first
decision wins, and no decision means answer. Two kinds of reasons:
- what the question names is not in the corpus: a clause number the named document does not have, a document
  title or standard number that is not indexed, a provision of an instrument that no document of ours is, a text a
  document's own version note says its file leaves out, a jurisdiction no document covers, enforcement facts about a company, statistics, an amendment newer than the text
  we hold — regulation texts do not contain those;
- weak evidence: nothing named, and the retrieved clauses are neither semantically close nor cover the
  question's keywords (thresholds in settings, calibrated on the dev set); or, on evidence from enriched texts,
  the answerability model's probability is below its threshold (another threshold when the question, or the
  conversation it continues, names a document).
Word lists are in the [guard] section of assistant/resources/ranking.toml. Each reason is a sentence in the
question's language, shown to the user.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.answering.answerability import PLAIN_MODEL_FILE, AnswerabilityModel, load_model
from assistant.retrieval.analysis import QueryAnalysis
from assistant.retrieval.policy import GuardPolicy, RankingPolicy, default_policy, first_group
from assistant.retrieval.types import RetrievalResult
from common.settings import Settings


@dataclass(frozen=True)
class RefusalDecision:
    refused: bool
    reason: str = ""
    kind: str = ""  # foreign-jurisdiction, unknown-document, missing-clause, newer-version, older-version,
    #                 draft-version, not-included, events, fees, weak-evidence


Decision = RefusalDecision


@dataclass(frozen=True)
class GuardContext:
    policy: GuardPolicy
    min_similarity: float  # settings.refusal_min_similarity
    min_coverage: float  # settings.refusal_min_coverage
    doc_years: dict[str, int]  # the year of the newest version each indexed text includes
    titles: dict[str, str]  # how answers name each document
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # every name of each document, lower-case
    with_other_versions: frozenset[str] = frozenset()  # documents held in more than one version (网络安全法 2016, 2025)
    amended: dict[str, tuple[int, int]] = field(default_factory=dict)  # texts held only as amended: (issued, amended)
    not_included: dict[str, tuple[str, ...]] = field(default_factory=dict)  # doc_id -> texts its file leaves out
    answerability: AnswerabilityModel | None = None  # the evidence model (None: the two thresholds)
    plain_answerability: AnswerabilityModel | None = None  # the same for evidence from texts without enrichment


Rule = Callable[[RetrievalResult, GuardContext], RefusalDecision | None]


_BOOK_TITLE = re.compile(r"《[^》]*》")
_EXAMPLE_WINDOW = 20  # characters before a company's name searched for "like", "such as", 像, 比如


def _decline(lang: str, zh: str, en: str, kind: str) -> RefusalDecision:
    """A refusal whose reason is said in the question's language."""
    return RefusalDecision(True, zh if lang == "zh" else en, kind)


def missing_clause(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    if not result.missing_refs:
        return None
    doc_id, ref = result.missing_refs[0]
    title = ctx.titles.get(doc_id, doc_id)
    return _decline(
        result.analysis.language,
        f"语料库中的{title}没有{ref.raw}这一条款。",
        f"{title} in the corpus has no {ref.raw}.",
        "missing-clause",
    )


def unknown_document(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    a = result.analysis
    if not a.unknown_titles:
        return None
    names = "、".join(a.unknown_titles) if a.language == "zh" else ", ".join(a.unknown_titles)
    return _decline(
        a.language,
        f"语料库中没有{names}的文本。",
        f"The corpus does not contain the text of {names}.",
        "unknown-document",
    )


def _asked_of_ours(a: QueryAnalysis, provision: str, ctx: GuardContext) -> bool:
    """Whether the question asks what a text of ours says of the provision: a name of a document it names, then
    what it says, before the provision ("What does the AI Act say about data under GDPR Article 9?")."""
    question = a.question.lower()
    at = question.find(provision.lower())
    starts = [i for d in a.named_in_question for name in ctx.names.get(d, ()) if 0 <= (i := question.find(name)) < at]
    return any(ctx.policy.other_provision_asked.search(question, start, at) for start in starts)


def other_provision(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A question about what a provision of an instrument no document of ours is says ("What does GDPR Article 22
    say about automated decisions?", "spell out the procedural rights in Art. 18 of Regulation 2019/1020"), when it
    asks about no clause of ours, asks what the provision says (``[guard.other_provision_asked]``) and not what a
    text of ours says of it, and does not set that provision beside what it asks (``[guard.other_provision_aside]``:
    "like the right in GDPR Article 20", a comparison): our texts may cite the instrument, but they do not hold what
    its provisions say."""
    a = result.analysis
    if not a.other_provisions or a.clause_refs or result.lookup_hits:
        return None
    if ctx.policy.other_provision_aside.search(a.question):
        return None
    provision, instrument = a.other_provisions[0]
    if not ctx.policy.other_provision_asked.search(a.question) or _asked_of_ours(a, provision, ctx):
        return None
    return _decline(
        a.language,
        f"语料库中没有{instrument}的文本，无法说明其{provision}的内容。",
        f"The corpus does not contain the text of {instrument}, so it cannot say what its {provision} says.",
        "unknown-document",
    )


_LOOSE = re.compile(r"[\s\-‐‑–—'’‘\"“”「」『』]")


def _loose(text: str) -> str:
    """Lower case, without spaces, hyphens and quotes: "GB 45438-2025", "'Frontier AI Safety' commitments"."""
    return _LOOSE.sub("", text).lower()


def not_included(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A question about a text that a document's own version note says its file leaves out (the catalog's
    ``not_included``: the AI Act's later "digital omnibus" amendments, the standard GB 45438-2025 that the labelling
    measures point to, the Korean Enforcement Decree), asked of that document (it is named, or holds one of the
    three best clauses), when no retrieved clause names the left-out text in any of its names (the Seoul
    Declaration's paragraph 3 names the Frontier AI Safety Commitments: what it says of them is answered), and the
    question does not ask what the held text itself says ("before the digital omnibus", "施行令还没出来之前",
    ``[guard.held_text_itself]``): a clause pointing to a text does not hold what that text says."""
    a = result.analysis
    asked = _loose(a.question)
    if not ctx.not_included or ctx.policy.held_text_itself.search(a.question):
        return None
    concerned = dict.fromkeys([*a.doc_ids, *(c.doc_id for c in result.clauses[:3])])
    clause_texts: list[str] | None = None  # the retrieved clauses, loosened once, when a name is asked about
    for doc_id in concerned:
        keys = {name: key for name in ctx.not_included.get(doc_id, ()) if (key := _loose(name))}
        said = next((name for name, key in keys.items() if key in asked), None)
        if said is None:
            continue
        clause_texts = clause_texts if clause_texts is not None else [_loose(c.ranked_text) for c in result.clauses]
        if any(key in text for text in clause_texts for key in keys.values()):
            continue
        title = ctx.titles.get(doc_id, doc_id)
        return _decline(
            a.language,
            f"语料库中的{title}不包含“{said}”：该文件的版本说明写明未收录。",
            f"The corpus's copy of {title} does not include “{said}”: its version note says so.",
            "not-included",
        )
    return None


def foreign_jurisdiction(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    a = result.analysis
    if not a.foreign_jurisdictions or a.jurisdictions or a.named_in_question:
        return None
    names = ", ".join(a.foreign_jurisdictions)
    return _decline(
        a.language,
        f"语料库中没有涉及该法域（{names}）的法规文本。",
        f"The corpus has no regulation text for that jurisdiction ({names}).",
        "foreign-jurisdiction",
    )


def _names_a_company(question: str, policy: GuardPolicy) -> bool:
    """A company named for itself: not as an example ("a provider like Mistral", "such as OpenAI and Anthropic"),
    not in a question about the user's own system or company ("we use OpenAI's GPT-4 …"), and not in one about
    what could happen to it or what it must do ("What fines could OpenAI face if …")."""
    if policy.first_person.search(question) or policy.company_hypothetical.search(question):
        return False
    example_until = -1  # where the last name read as an example ends
    for m in policy.companies.finditer(question):
        before = question[max(0, m.start() - _EXAMPLE_WINDOW) : m.start()]
        listed = example_until >= 0 and policy.company_list_joint.search(question[example_until : m.start()])
        if policy.company_example.search(before) or listed:
            example_until = m.end()
        else:
            return True
    return False


def company_enforcement(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A company named for itself, and enforcement against it or another fact about it (what it signed or filed,
    who its officer is)."""
    a = result.analysis
    if not _names_a_company(a.question, ctx.policy):
        return None
    if not (ctx.policy.enforcement.search(a.question) or ctx.policy.company_facts.search(a.question)):
        return None
    return _decline(
        a.language,
        "语料库只收录法规文本，不包含针对具体企业的执法记录或其他事实。",
        "The corpus holds regulation texts only, not enforcement decisions or other facts about particular companies.",
        "events",
    )


def statistics(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A count or total of what happened in the world (how many companies were fined, 成交额), not one about the
    asker's own products ("我们已经上线了几款…") or a hypothetical ("如果同时违反两条，罚款总额是多少")."""
    a = result.analysis
    if not ctx.policy.statistics.search(a.question):
        return None
    if ctx.policy.first_person.search(a.question) or ctx.policy.company_hypothetical.search(a.question):
        return None
    return _decline(
        a.language,
        "语料库只收录法规文本，不包含执法统计、签署名单等事实数据。",
        "The corpus holds regulation texts only, not statistics, "
        "signatory lists or other facts about what happened since.",
        "events",
    )


def court_cases(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A question about court judgments, case law or a particular case (not what a court may do under a text), when
    no document of the collection is a court's (no title names a court: a judicial interpretation would answer);
    about a particular case (郭某诉某公司案, how the second instance ruled, a court's typical cases), when no document's
    title says it holds cases: a court's interpretation does not report them."""
    a = result.analysis
    if not ctx.policy.court_cases.search(a.question):
        return None
    held = ctx.policy.case_texts if ctx.policy.particular_case.search(a.question) else ctx.policy.court_texts
    if any(held.search(title) for title in ctx.titles.values()):
        return None
    return _decline(
        a.language,
        "语料库只收录法规文本，不包含法院判决、判例或具体案件。",
        "The corpus holds regulation texts only, not court judgments, case law or particular cases.",
        "events",
    )


def future_events(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A question about what legislators or regulators will do next (next year's amendment, a legislative plan)."""
    a = result.analysis
    q = a.question
    if not (ctx.policy.lawmaking.search(q) or (ctx.policy.future.search(q) and ctx.policy.future_change.search(q))):
        return None
    return _decline(
        a.language,
        "语料库只收录已发布的法规文本，无法说明今后的立法计划或修改。",
        "The corpus holds texts as issued; it cannot say what legislators or regulators will do next.",
        "events",
    )


def _asked(result: RetrievalResult) -> str:
    """The question without the names of the documents it names and without 《…》 titles: what it asks about."""
    a = result.analysis
    asked = a.topic_text if a.named_in_question and not a.is_follow_up else a.question
    return _BOOK_TITLE.sub(" ", asked)


def local_rules(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A question about a city's or province's own rules, when no retrieved clause names the place or (in English)
    speaks of city or local rule-making: the corpus holds no local regulation."""
    asked = _asked(result)
    place = ctx.policy.localities.search(asked)
    if place is None or not ctx.policy.local_rules.search(asked):
        return None
    name = place.group(0).lower()
    if any(name in c.ranked_text.lower() or ctx.policy.local_evidence.search(c.ranked_text) for c in result.clauses):
        return None
    return _decline(
        result.analysis.language,
        f"语料库中没有{place.group(0)}的地方性规定。",
        f"The corpus holds no local rules of {place.group(0)}.",
        "foreign-jurisdiction",
    )


def fees_and_taxes(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A question that asks for a fee, charge or tax (the amount, or whether one is due), when none of the retrieved
    clauses speaks of fees, charges, taxes or costs (for how much one is: none also states a sum, a rate or that it
    is free): they cannot give the amount. A fee word inside a document's
    name (the Foreign Account Tax Compliance Regulations, 《…税收…条例》) does not make the question one about a
    fee."""
    a = result.analysis
    asked = _asked(result)
    if not (ctx.policy.fees.search(asked) and ctx.policy.fee_amount.search(asked)):
        return None
    # how much it is: only a clause that speaks of a fee and states a sum or a rate (or that it is free) can say
    how_much = bool(ctx.policy.fee_how_much.search(asked))
    if any(
        ctx.policy.fee_evidence.search(c.ranked_text) and (not how_much or ctx.policy.money.search(c.ranked_text))
        for c in result.clauses
    ):
        return None
    return _decline(
        a.language,
        "语料库中与此相关的条款都没有规定任何费用、收费或税费。",
        "None of the clauses of the corpus that bear on this question sets a fee, charge or tax.",
        "fees",
    )


_TITLE_WORD = re.compile(r"[A-Za-z]{2,}|[\u4e00-\u9fff]{2}")


def _versions(text: str, pattern: re.Pattern) -> list[tuple[float, re.Match]]:
    """(number, match) of each version number in ``text``."""
    return [(float(number), m) for m in pattern.finditer(text) if (number := first_group(m)) is not None]


# after a version: "of (the)", a possessor ("China's"), then the first two words
_OF_A_TITLE = re.compile(
    r"\s*(?:of\s+(?:the\s+)?)?([A-Z][\w.]*(?:'s|’s)\s+)?([A-Za-z]{2,}|[\u4e00-\u9fff]{2})(?:\s+([A-Za-z]{2,}))?"
)
_NAME_WORD = re.compile(r"[a-z0-9]+")


# words of a name that say nothing of which text it is ("… for the next version", "Regulation … of the European …")
_FUNCTION_WORDS = frozenset({"the", "of", "and", "for", "on", "in", "to", "an", "its", "our", "their", "this", "that"})


def _a_word_of(word: str, names: tuple[str, ...]) -> bool:
    """An English word (not a function word) that is a whole word of one of the names, or two Chinese characters
    inside one."""
    if word.lower() in _FUNCTION_WORDS:
        return False
    if word.isascii():
        return any(word.lower() in _NAME_WORD.findall(name.lower()) for name in names)
    return any(word in name for name in names)


def _names_of(ctx: GuardContext, doc_id: str) -> tuple[str, ...]:
    """How answers name the document, then every name it is known by."""
    return (ctx.titles.get(doc_id, doc_id), *ctx.names.get(doc_id, ()))


def _names_the_title(question: str, mention: re.Match, names: tuple[str, ...]) -> bool:
    """Whether a version in the question ("2.0", "version 2", "next version") is written against the document: the
    word right before it ("RMF 2.0", "框架2.0版", "暂行办法下一个版本") or the first word after "of (the)" ("version 2 of
    the Framework") is a word of one of its names (its title, short title or aliases); after a possessive, the
    first two words are ("version 2.0 of China's AI Safety Governance Framework", not "of Acme's AI system")."""
    before = _TITLE_WORD.findall(question[max(0, mention.start() - 12) : mention.start()])
    if before and _a_word_of(before[-1], names):
        return True
    after = _OF_A_TITLE.match(question[mention.end() :])
    if after is None:
        return False
    possessor, first, second = after.groups()
    return _a_word_of(first, names) and (not possessor or (second is not None and _a_word_of(second, names)))


def newer_version(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A question about a version of a named text newer than the one held: a later version number than its title's
    (治理框架2.0版 of our V1.0, AI RMF 2.0), its next or a later version (``[guard.later_version]``), or an amendment
    of a later year than its text."""
    a = result.analysis
    in_question = _versions(a.question, ctx.policy.version_number)
    for doc_id in a.named_in_question if in_question else ():
        title = ctx.titles.get(doc_id, doc_id)
        versions_held = [number for number, _ in _versions(title, ctx.policy.version_number)]
        asked = [(number, m) for number, m in in_question if _names_the_title(a.question, m, _names_of(ctx, doc_id))]
        if versions_held and asked and max(number for number, _ in asked) > max(versions_held):
            asked_as = max((number, m.group(0).strip()) for number, m in asked)[1]
            return _decline(
                a.language,
                f"语料库中只有{title}，不包含“{asked_as}”这一版本。",
                f"The corpus holds {title} only, not “{asked_as}”.",
                "newer-version",
            )
    for doc_id in a.named_in_question:  # "the next version of the AI RMF", not "the next version of our model"
        later = next(
            (
                m
                for m in ctx.policy.later_version.finditer(a.question)
                if _names_the_title(a.question, m, _names_of(ctx, doc_id))
            ),
            None,
        )
        if later is None or doc_id in ctx.with_other_versions:
            continue
        title = ctx.titles.get(doc_id, doc_id)
        return _decline(
            a.language,
            f"语料库中只有{title}的这一版本，不包含其“{later.group(0)}”。",
            f"The corpus holds this version of {title} only, not “{later.group(0)}”.",
            "newer-version",
        )
    if not ctx.policy.amendment.search(a.question):
        return None
    asked_years = [int(y) for y in ctx.policy.year.findall(a.question)]
    for doc_id in a.named_in_question:
        held = ctx.doc_years.get(doc_id)
        if held and asked_years and max(asked_years) > held:
            title = ctx.titles.get(doc_id, doc_id)
            return _decline(
                a.language,
                f"语料库中的{title}是{held}年的文本，不包含{max(asked_years)}年的修订。",
                f"The corpus holds the {held} text of {title}; it does not contain a {max(asked_years)} amendment.",
                "newer-version",
            )
    return None


def older_version(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A question about an earlier wording of a named text that the collection holds only as amended (the OECD
    Recommendation of 2019 as amended in 2024: "what did the 2019 version of principle 1.4 say?")."""
    a = result.analysis
    # the year each mention asks for: "the 2019 version" -> 2019; "before it was revised (in 2024)" -> none
    asked = [
        [int(y) for y in ctx.policy.year.findall(m.group(0))] for m in ctx.policy.older_version.finditer(a.question)
    ]
    for doc_id in a.named_in_question if asked else ():
        if doc_id not in ctx.amended:
            continue
        issued, amended = ctx.amended[doc_id]
        if all(years and min(years) >= amended for years in asked):
            continue  # the wording as amended is the one asked for ("the 2024 version")
        title = ctx.titles.get(doc_id, doc_id)
        return _decline(
            a.language,
            f"语料库中的{title}是{amended}年修订后的文本，不包含修订前（{issued}年）的原有表述。",
            f"The corpus holds {title} as amended in {amended}, not its earlier ({issued}) wording.",
            "older-version",
        )
    return None


def draft_version(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A question about a draft, consultation text or negotiating position, when no document of the collection is
    a draft (by its title)."""
    a = result.analysis
    if not ctx.policy.draft.search(a.question) or any(ctx.policy.draft.search(t) for t in ctx.titles.values()):
        return None
    return _decline(
        a.language,
        "语料库只收录正式发布的文本，不包含草案、征求意见稿等起草过程中的版本。",
        "The corpus holds the texts as adopted, not drafts, consultation texts or negotiating positions.",
        "draft-version",
    )


def companion_text(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """A question about what a companion text says (an explanatory report, guidelines, a FAQ, a playbook, 释义, 答记者问)
    when no document of the collection is one (by its title): the corpus holds the texts themselves, and what they say
    about such texts is not what those texts say."""
    a = result.analysis
    m = ctx.policy.companion_text.search(a.question)
    if m is None:
        return None
    kind = (first_group(m) or m.group(0)).lower()
    if any(kind.rstrip("s") in t.lower() for t in ctx.titles.values()):
        return None
    return _decline(
        a.language,
        f"语料库只收录法规文本本身，不包含“{kind}”这类配套文件。",
        f"The corpus holds the regulation texts themselves, not companion texts such as “{kind}”.",
        "unknown-document",
    )


def nothing_found(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    if result.clauses:
        return None
    return _decline(
        result.analysis.language,
        "语料库中没有找到相关条款。",
        "No relevant clause was found in the corpus.",
        "weak-evidence",
    )


def weak_evidence(result: RetrievalResult, ctx: GuardContext) -> RefusalDecision | None:
    """No clause found by number, and either nothing named and the evidence weak by the two thresholds (neither the
    best dense similarity nor the keyword coverage reaches its threshold), or the answerability model puts the
    probability that the corpus answers below its threshold: one for questions that name nothing, another for
    questions that name a document. Evidence from enriched texts is read by the model trained on such; evidence from
    texts without enrichment (a user's own documents) by the model trained on an index built without it."""
    a = result.analysis
    if result.lookup_hits:
        return None
    model = ctx.answerability if result.evidence.enriched else ctx.plain_answerability
    if a.doc_ids and ctx.policy.structure.search(a.question):
        return None  # how the named document is built: it is held
    if a.doc_ids:
        threshold = model.named_threshold if model is not None else 0.0
        weak = False
    else:
        threshold = model.threshold if model is not None else 0.0
        weak = result.top_dense_similarity < ctx.min_similarity and result.keyword_coverage < ctx.min_coverage
    unlikely = model is not None and threshold > 0 and model.probability_of(result, ctx.policy) < threshold
    if not (weak or unlikely):
        return None
    return _decline(
        a.language,
        "语料库中没有足够相关的条款来回答这个问题。",
        "The corpus does not contain clauses that answer this question.",
        "weak-evidence",
    )


RULES: tuple[Rule, ...] = (
    missing_clause,
    unknown_document,
    other_provision,
    foreign_jurisdiction,
    not_included,
    company_enforcement,
    statistics,
    court_cases,
    future_events,
    local_rules,
    fees_and_taxes,
    newer_version,
    older_version,
    draft_version,
    companion_text,
    nothing_found,
    weak_evidence,
)
EXPLICIT_RULES = RULES[: RULES.index(weak_evidence)]  # what the question names or asks for; not the evidence


def decide(
    result: RetrievalResult,
    settings: Settings,
    doc_years: dict[str, int],
    titles: dict[str, str],
    policy: RankingPolicy | None = None,
    rules: tuple[Rule, ...] = RULES,
    amended: dict[str, tuple[int, int]] | None = None,
    not_included: dict[str, tuple[str, ...]] | None = None,
    names: dict[str, tuple[str, ...]] | None = None,
    with_other_versions: frozenset[str] = frozenset(),
) -> RefusalDecision:
    """The first rule's decision, else answer. The answerability model decides weak evidence when the policy
    ranks with the learned model (its probabilities are the model's main input); it is loaded only when the rules
    include weak evidence (`regqa train-answerability` runs the explicit rules alone, and must run when the
    shipped model no longer fits the features)."""
    policy = policy or default_policy()
    models = bool(policy.learned.model) and weak_evidence in rules
    ctx = GuardContext(
        policy=policy.guard,
        min_similarity=settings.refusal_min_similarity,
        min_coverage=settings.refusal_min_coverage,
        doc_years=doc_years,
        titles=titles,
        names=names or {},
        with_other_versions=with_other_versions,
        amended=amended or {},
        not_included=not_included or {},
        answerability=load_model() if models else None,
        plain_answerability=load_model(str(PLAIN_MODEL_FILE)) if models else None,
    )
    for rule in rules:
        decision = rule(result, ctx)
        if decision is not None:
            return decision
    return RefusalDecision(False)
