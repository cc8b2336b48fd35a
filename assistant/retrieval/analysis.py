"""Query analysis, the first stage: (question, history, the indexed documents) -> a frozen ``QueryAnalysis``:
what the question names (documents, clauses, jurisdictions, versions, instruments we do not hold), what it asks
(intents: definition, scope, penalty, entry into force) and how to search it. Pure: no model, no index access.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from assistant.retrieval.dictionary import translations
from assistant.retrieval.documents import DocResolver
from assistant.retrieval.glossary import expand_terms, find_names, jurisdiction_names
from assistant.retrieval.policy import AnalysisPolicy, RankingPolicy, default_policy, first_group
from assistant.retrieval.references import ClauseRef, parse_clause_refs
from common.language import detect_language
from ingest.keyword_index import tokenize

_BOOK_TITLE = re.compile(r"《([^》]{2,60})》")
_HAN_BEFORE = re.compile(r"[\u4e00-\u9fff]{1,6}$")  # the words right before a 《title》 ("按照欧盟")


def question_language(text: str) -> str:
    """ "zh" or "en": the one language detector (common/language.py) that documents use too."""
    return detect_language(text)


def asks_definition(question: str, policy: RankingPolicy | None = None) -> bool:
    """Whether a question asks what something means or whether it counts as something."""
    return bool((policy or default_policy()).intent("definition").pattern.search(question))


def asks_scope(question: str, policy: RankingPolicy | None = None) -> bool:
    """Whether a question asks whether (or to whom) a text applies."""
    return bool((policy or default_policy()).intent("scope").pattern.search(question))


@dataclass(frozen=True)
class QueryAnalysis:
    question: str  # as asked
    search_text: str  # standalone text used for search (question + carried-over context)
    language: str
    topic_text: str = ""  # search_text without document names (they route; as words they match every clause)
    doc_ids: tuple[str, ...] = ()  # documents named (or carried over from history)
    named_in_question: tuple[str, ...] = ()  # documents named in this question itself
    clause_refs: tuple[ClauseRef, ...] = ()
    jurisdictions: tuple[str, ...] = ()  # indexed jurisdictions named
    foreign_jurisdictions: tuple[str, ...] = ()  # named, but no document covers them
    unknown_titles: tuple[str, ...] = ()  # 《…》 titles / standard numbers not in corpus
    # capitalised instrument names ("the Bletchley Declaration") not ours by name: unknown unless a text cites them
    unknown_if_unmentioned: tuple[str, ...] = ()
    # instruments and provisions named by number ("EO 14148", "section 1107.5"), each with its number: unknown
    # unless a clause or a document's title, issuer or id mentions the number
    numbered_references: tuple[tuple[str, str], ...] = ()
    wants_old_version: bool = False
    wants_current_version: bool = False
    expansions: tuple[str, ...] = ()
    translations: tuple[str, ...] = ()  # dictionary translations of its words (keyword search only)
    # laws named in English words that no document's name resolves ("China's E-Commerce Law" in a collection that
    # names it only in Chinese): a clause number with them is theirs, not looked up elsewhere
    unresolved_laws: tuple[str, ...] = ()
    # provisions of an instrument no document of ours is ("GDPR Article 22", "Art. 18 of Regulation 2019/1020"), as
    # (provision, instrument): not looked up in our texts; what they say is not in the corpus
    other_provisions: tuple[tuple[str, str], ...] = ()
    is_follow_up: bool = False
    may_stand_alone: bool = False  # a follow-up that could also be read on its own (see HybridRetriever.run)
    intents: frozenset[str] = frozenset()  # names of the policy's [intents] the question matches


def with_unmentioned_as_unknown(
    analysis: QueryAnalysis, mentions: Callable[[str], bool], mentions_number: Callable[[str], bool]
) -> QueryAnalysis:
    """A new analysis in which the loosely named instruments that no clause mentions count as unknown titles
    ("the Defense Production Act" is cited by EO 14110: it is something the corpus can speak about), and so do the
    instruments and provisions named by a number the collection never mentions ("EO 14148", "section 1107.5")."""
    unknown = list(analysis.unknown_titles)
    for name in analysis.unknown_if_unmentioned:
        if not mentions(name) and not any(name in u for u in unknown):  # "Japan's AI Promotion Act" holds it
            unknown.append(name)
    for name, number in analysis.numbered_references:
        if not mentions_number(number) and not any(name in u for u in unknown):
            unknown.append(name)
    return dataclasses.replace(analysis, unknown_titles=tuple(unknown))


def _answered_from(content: str, resolver: DocResolver, framing_lines: tuple[str, ...]) -> list[str]:
    """The documents an earlier answer was given from: those named in its framing lines (the lead before them
    quotes clauses, which may cite other texts: 按照《互联网信息服务深度合成管理规定》…), else any it names."""
    framing = "\n".join(
        line
        for line in content.splitlines()
        if line.startswith(framing_lines) and (line.startswith("**") or line.rstrip().endswith((":", "：")))
    )
    found = [d for d, _ in resolver.find(framing)] if framing else []
    return found or [d for d, _ in resolver.find(content)]


def _topic(text: str) -> str:
    return re.sub(r"[《》]|\s{2,}", " ", text).strip()


@dataclass(frozen=True)
class _Conversation:
    is_follow_up: bool
    search_text: str
    doc_ids: list[str]
    may_stand_alone: bool = False


def _conversation(
    question: str, named: list[str], history: list[dict], resolver: DocResolver, policy: AnalysisPolicy
) -> _Conversation:
    """Whether the question follows up an earlier one, and then what it is about."""
    previous_user = [h.get("content", "") for h in history if h.get("role") == "user"]
    hinted = bool(policy.follow_up_hint.search(question))
    # a question that names its own document stands alone unless it starts like a follow-up ("那…呢", "what about")
    is_follow_up = bool(previous_user) and (not named or hinted)
    if not is_follow_up:
        return _Conversation(False, question, list(named))
    # names nothing, but neither starts like a follow-up, refers back, nor is short: the retriever tries it both
    # ways and keeps the reading its evidence supports better
    may_stand_alone = (
        not named
        and not hinted
        and len(question) >= policy.follow_up_max_chars
        and not policy.refers_back.search(question)
        and len(set(tokenize(question))) >= policy.self_contained_min_words
    )
    last = previous_user[-1]
    doc_ids = list(named)
    if not named:
        doc_ids = [doc_id for doc_id, _ in resolver.find(last)]
        for turn in reversed(history):  # an assistant answer naming one document
            if doc_ids:
                break
            if turn.get("role") == "assistant":
                doc_ids = _answered_from(turn.get("content", ""), resolver, policy.answer_framing_lines)[:1]
    return _Conversation(True, f"{question}\n{last}", doc_ids, may_stand_alone)


def _jurisdictions(lower: str, indexed: set[str]) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """(indexed jurisdictions named, foreign ones named, where each foreign name starts and ends)."""
    jurisdictions: list[str] = []
    foreign: list[str] = []
    foreign_spans: list[tuple[int, int]] = []
    taken = [False] * len(lower)
    for name, code in jurisdiction_names():
        for m in find_names(name, lower):
            if any(taken[m.start() : m.end()]):
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            if code in indexed:
                target = jurisdictions
            elif "" in indexed:
                continue  # a document of unknown jurisdiction may well be from there: no proof it is absent
            else:
                target = foreign
            if code not in target:
                target.append(code)
            if target is foreign:
                foreign_spans.append((m.start(), m.end()))
    return jurisdictions, foreign, foreign_spans


def _foreign_instruments(question: str, foreign_spans: list[tuple[int, int]], policy: AnalysisPolicy) -> list[str]:
    """Instruments a foreign jurisdiction owns, as the question names them ("Japan's APPI", "New York's RAISE Act",
    "Brazil's AI bill", "日本的个人信息保护法"): the corpus holds no text of a jurisdiction it has no document for."""
    found: list[str] = []
    for start, end in sorted(foreign_spans):
        m = policy.foreign_instrument.match(question, end)
        if m and question[max(0, start - 4) : start].lower() == "the ":  # "the UK's proposed AI bill"
            start -= 4
        if m and (name := question[start : m.end()].strip()) not in found:
            found.append(name)
    return found


def _qualified_by_foreign(
    question: str, resolver: DocResolver, foreign_ends: list[int], policy: AnalysisPolicy
) -> set[str]:
    """Our documents whose name, in this question, qualifies a foreign jurisdiction's own instrument
    ("新加坡的生成式AI治理框架", "Singapore's AI governance framework")."""
    lower = question.lower()
    qualified = set()
    for doc_id, name in resolver.find(question):  # in order of appearance
        starts = [m.start() for m in find_names(name.lower(), lower)] or [lower.find(name.lower())]
        if all(
            any(
                0 <= start - end <= policy.qualifier_max_gap and policy.qualifier_gap.fullmatch(lower[end:start])
                for end in foreign_ends
            )
            for start in starts
        ):  # every mention is the foreign one ("Colorado's AI Act … the AI Act": ours)
            qualified.add(doc_id)
            foreign_ends += [start + len(name) for start in starts]  # 新加坡的 生成式AI 治理框架: next one too
    return qualified


def _qualified_title_docs(question: str, title: re.Match, resolver: DocResolver) -> list[str]:
    """The documents a 《title》 that names none of ours names with the words right before it: 欧盟《人工智能法》 is
    the EU AI Act (its name 欧盟人工智能法) although 人工智能法 alone names nothing we hold. A name must reach into
    the title."""
    before = _HAN_BEFORE.search(question[: title.start()])
    if not before:
        return []
    prefix = before.group(0)
    return [doc_id for doc_id, name in resolver.find(prefix + title.group(1)) if name not in prefix]


def _resolves_as_titled(question: str, title: re.Match, resolver: DocResolver) -> bool:
    """Whether a 《title》 names one of our documents, alone, with the words right before it, or shortened
    (《上海数据条例》 for 上海市数据条例)."""
    return bool(
        resolver.resolve_title(title.group(1))
        or _qualified_title_docs(question, title, resolver)
        or resolver.find_abbreviated(title.group(1))
    )


def _titled_names(question: str, resolver: DocResolver) -> list[str]:
    """The documents named by a 《title》 only together with the words before it."""
    found: list[str] = []
    for m in _BOOK_TITLE.finditer(question):
        if not resolver.resolve_title(m.group(1)):
            found += [d for d in _qualified_title_docs(question, m, resolver) if d not in found]
    return found


def _loosely_named(question: str, resolver: DocResolver, policy: AnalysisPolicy) -> list[str]:
    """The documents an English law or instrument name matches only loosely ("the NDS Regulation", "the Network
    Data Security Regulation"): ``DocResolver.find_loosely``."""
    found: list[str] = []
    for m in [*policy.law_name.finditer(question), *policy.instrument_name.finditer(question)]:
        if not resolver.find(m.group(0)):
            doc_id = resolver.find_loosely(m.group(0))
            if doc_id is not None and doc_id not in found:
                found.append(doc_id)
    return found


def _unmarked_chinese_titles(question: str, policy: AnalysisPolicy) -> list[str]:
    """The Chinese instrument names a question gives without 《》 (what ``cn_instrument_name`` and
    ``cn_instrument_in_use`` find, without a lead-in such as 根据; a place's own named with 的, without it)."""
    plain = _BOOK_TITLE.sub("，", question)
    found = [*policy.cn_instrument_name.finditer(plain), *policy.cn_instrument_in_use.finditer(plain)]
    places = [m.group(1) + m.group(2) for m in policy.cn_place_title.finditer(plain)]  # 北京市的…条例: 北京市…条例
    return [*(policy.cn_lead_in.split(m.group(1))[-1] for m in found), *places]


_STANDARD_YEAR = re.compile(r"[-–—](?:19|20)\d\d$")


def _standard_key(standard: str) -> str:
    """A standard as our names would hold it: lower case, without spaces or its year ("GB/T 35273-2020" -> "gb/t35273",
    "NIST AI 100-1" -> "nistai100-1")."""
    return _STANDARD_YEAR.sub("", standard.strip()).lower().replace(" ", "")


def _unknown_instruments(
    question: str, resolver: DocResolver, named: list[str], policy: AnalysisPolicy, unmarked: list[str]
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(titles and standards the corpus does not hold, loosely named instruments: unknown unless a text cites
    them, instruments and provisions named by number with their numbers: unknown unless the collection mentions the
    number)."""
    unknown: list[str] = []
    loose: list[str] = []
    numbered: list[tuple[str, str]] = []
    chinese_titles_decide = resolver.names_documents_in_chinese
    for m in _BOOK_TITLE.finditer(question):
        if chinese_titles_decide and not _resolves_as_titled(question, m, resolver):
            unknown.append(m.group(1))
    for m in policy.unknown_standard.finditer(question):
        if (
            _standard_key(m.group(0)) not in resolver.names_text_unspaced
        ):  # no name of ours holds it ("NIST" alone is not NIST SP 800-53)
            unknown.append(m.group(0))
    for m in policy.numbered_reference.finditer(question):
        number = first_group(m)  # the alternative that matched
        if number and not any(name in m.group(0) for name in unknown) and not resolver.find(m.group(0)):
            numbered.append((m.group(0).strip(), unicodedata.normalize("NFKC", number)))
    if named:
        return unknown, loose, numbered
    # an instrument named in words (GDPR, the Bletchley Declaration) that the corpus does not hold
    for m in policy.other_instrument.finditer(question):
        if m.group(0) not in unknown:
            unknown.append(m.group(0))
    # an instrument named in English words that none of our names matches, even loosely: unknown unless a text of
    # ours mentions it (beside a text of ours it is not looked for: "the Law Enforcement Directive", which the AI Act
    # cites by number only, is part of a question about the AI Act)
    for m in policy.instrument_name.finditer(question):
        name = m.group(0).strip()
        if (
            not resolver.find(name)
            and not resolver.names_part_of_a_title(name)
            and resolver.find_loosely(name) is None
            and name not in loose
        ):
            loose.append(name)
    for name in unmarked:  # a title without 《》 (北京市的…条例: 北京市…条例)
        if policy.own_rules.search(name):
            continue  # 公司数据分类分级管理办法: a company's own rules, not a regulation
        if (
            chinese_titles_decide
            and len(name) >= policy.min_cn_instrument_chars
            and not resolver.find(name)
            and not resolver.resembles_a_title(name)
            and resolver.find_abbreviated(name) is None
            and name not in unknown
        ):
            unknown.append(name)
    return unknown, loose, numbered


_OF_AN_INSTRUMENT = re.compile(r"\s*(?:of|in|under)\s+(?:the\s+)?", re.I)
_BEFORE_A_PROVISION = re.compile(r"(?:'s|’s)?\s*,?\s*$")


def _of_other_instruments(
    question: str, refs: list[ClauseRef], resolver: DocResolver, policy: AnalysisPolicy
) -> tuple[list[ClauseRef], list[tuple[str, str]]]:
    """(the references that are not provisions of another instrument, the others with their instrument): "Art. 18 of
    Regulation 2019/1020" or "GDPR Article 22" are not Article 18 or 22 of a document of ours the question also
    names, so they are not looked up in it (search may still find where our texts refer to them)."""
    numbered = [m for m in policy.numbered_reference.finditer(question) if m.group(1) or m.group(2)]  # not § 2.1
    others = [m for m in [*numbered, *policy.other_instrument.finditer(question)] if not resolver.find(m.group(0))]
    if not others:
        return refs, []
    kept: list[ClauseRef] = []
    other: list[tuple[str, str]] = []
    for ref in refs:
        at = question.find(ref.raw)
        if at < 0:
            kept.append(ref)
            continue
        after = _OF_AN_INSTRUMENT.match(question, at + len(ref.raw))
        follows = [m for m in others if after is not None and m.start() == after.end()]
        precedes = [m for m in others if m.end() <= at and _BEFORE_A_PROVISION.fullmatch(question, m.end(), at)]
        if follows or precedes:
            other.append((ref.raw, (follows or precedes)[0].group(0).strip()))
        else:
            kept.append(ref)
    return kept, other


def _intents(question: str, search_text: str, policy: RankingPolicy) -> frozenset[str]:
    texts = {"question": question, "search_text": search_text}
    return frozenset(i.name for i in policy.intents if i.pattern.search(texts[i.text]))


def _with_old_versions(doc_ids: list[str], resolver: DocResolver, keep_current: bool) -> list[str]:
    """Each document's revoked or superseded version in its place, or, with ``keep_current``, after it."""
    out: list[str] = []
    for d in doc_ids:
        old = resolver.old_version_of(d)
        out += [x for x in ([d, old] if keep_current else [old]) if x not in out]
    return out


def analyse(
    question: str,
    resolver: DocResolver,
    history: list[dict] | None = None,
    indexed_jurisdictions: set[str] | None = None,
    policy: RankingPolicy | None = None,
) -> QueryAnalysis:
    policy = policy or default_policy()
    rules = policy.analysis
    question = question.strip()
    indexed_jurisdictions = indexed_jurisdictions or {d.jurisdiction for d in resolver.docs.values()}
    indexed_languages = {d.language for d in resolver.docs.values()}
    language = question_language(question)
    named = [doc_id for doc_id, _ in resolver.find(question)]
    named += [doc_id for doc_id in _titled_names(question, resolver) if doc_id not in named]
    named += [doc_id for doc_id in _loosely_named(question, resolver, rules) if doc_id not in named]
    # a shortened Chinese title (电商法, 浙江电商条例, 上海的数据条例, 人脸识别司法解释), outside the names already found
    shortened = [doc_id for doc_id, _ in resolver.find_shortened(resolver.without_names(question))]
    unmarked = _unmarked_chinese_titles(question, rules)
    shortened += [d for name in unmarked if (d := resolver.find_abbreviated(name))]
    shortened += [doc_id for doc_id, _ in resolver.find_interpretations(question)]  # 人脸识别司法解释
    named += [doc_id for doc_id in dict.fromkeys(shortened) if doc_id not in named]
    unresolved_laws: list[str] = []
    if not named:  # no name of ours in the question: an English law name may still name a text titled in Chinese
        for m in rules.law_name.finditer(question):
            translated = resolver.find_translated(m.group(0))  # "China's E-Commerce Law" for our 电子商务法
            if translated is None:
                unresolved_laws.append(m.group(0))
            elif translated not in named:
                named.append(translated)
    conversation = _conversation(question, named, history or [], resolver, rules)
    doc_ids = conversation.doc_ids
    jurisdictions, foreign, foreign_spans = _jurisdictions(question.lower(), indexed_jurisdictions)
    foreign_ends = [end for _, end in foreign_spans]
    if foreign_ends and named:  # a foreign jurisdiction's own instrument, whose name contains names of ours
        qualified = _qualified_by_foreign(question, resolver, foreign_ends, rules)
        named = [d for d in named if d not in qualified]
        doc_ids = [d for d in doc_ids if d not in qualified]
    unknown, loose, numbered = _unknown_instruments(question, resolver, named, rules, unmarked)
    for name in _foreign_instruments(question, foreign_spans, rules):  # the longer name replaces one it holds
        unknown = [u for u in unknown if u not in name] + [name]
    wants_old = bool(rules.old_version.search(question))
    # the text in force named beside the old one ("before the 2025 amendment" names only the old one)
    wants_current = bool(rules.current_version.search(rules.old_version.sub(" ", question)))
    if wants_old:  # "2016年原文的网络安全法": the name resolves to the text in force; switch to the old one ...
        # ... or, asked beside the text in force ("2016年原版和2025年修正后的现行版本相比"), add the old one
        named = _with_old_versions(named, resolver, keep_current=wants_current)
        doc_ids = _with_old_versions(doc_ids, resolver, keep_current=wants_current)
    search_text = conversation.search_text
    own_refs, other_provisions = _of_other_instruments(
        question, parse_clause_refs(question, rules.max_listed_refs), resolver, rules
    )
    return QueryAnalysis(
        question=question,
        search_text=search_text,
        topic_text=_topic(resolver.without_names(search_text)) if doc_ids else search_text,
        language=language,
        doc_ids=tuple(doc_ids),
        named_in_question=tuple(named),
        clause_refs=tuple(own_refs),
        jurisdictions=tuple(jurisdictions),
        foreign_jurisdictions=tuple(foreign),
        unknown_titles=tuple(unknown),
        unknown_if_unmentioned=tuple(loose),
        numbered_references=tuple(numbered),
        wants_old_version=wants_old,
        wants_current_version=wants_current,
        expansions=tuple(expand_terms(search_text)),
        # word-by-word translations only where keyword search would otherwise be blind: the collection holds no
        # text in the question's language (a Chinese question to English rulebooks); the glossary serves the rest
        translations=tuple(translations(search_text)) if language not in indexed_languages else (),
        unresolved_laws=tuple(unresolved_laws),
        other_provisions=tuple(other_provisions),
        is_follow_up=conversation.is_follow_up,
        may_stand_alone=conversation.may_stand_alone,
        intents=_intents(question, search_text, policy),
    )
