"""``RankingPolicy``: every number and word list of the question path (analysis, candidates, ranking,
cross-references, the answerability guard; unit roles are decided at split time: ingest/roles.py), loaded from ``assistant/resources/ranking.toml``.

The policy is a value passed to the stages (``HybridRetriever(policy=…)``, ``analyse(…, policy=…)``,
``decide(…, policy=…)``); ``default_policy()`` is the file shipped with the code. A malformed file raises
``PolicyError`` naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_POLICY_FILE = Path(__file__).resolve().parent.parent / "resources" / "ranking.toml"

ROW_SELECTORS = (
    "named_documents",
    "named_jurisdictions",
    "question_language",
    "non_operative",
    "definitions",
    "scope",
    "penalty",
    "final",
    "revoked",
    "revoked_not_named",
)
CONDITIONS = ("always", "names_documents", "names_jurisdictions", "wants_old_version")  # and intent:<name>
INTENT_TEXTS = ("question", "search_text")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class FusionPolicy:
    dense_weight: float
    dense_floor: float
    dense_floor_epsilon: float
    dense_candidates: int
    named_dense_candidates: int
    coverage_weight: float
    coverage_candidates: int


@dataclass(frozen=True)
class RankingRule:
    """Multiply the score of the ``rows`` by ``factor`` when ``when`` holds, else by ``otherwise``; of the rules
    sharing a non-empty ``group``, only the first whose condition holds applies."""

    name: str
    rows: str
    factor: float
    when: str = "always"
    otherwise: float = 1.0
    group: str = ""
    after_learned: bool = False  # applied again to the learned model's probabilities (a product decision)


@dataclass(frozen=True)
class DateOfApplicationPolicy:
    when: str  # the condition (as in a rule) under which the rule applies
    best_clauses: int
    margin: float
    applies_from: re.Pattern


@dataclass(frozen=True)
class DefiningClausePolicy:
    when: str  # the condition (as in a rule) under which the rule applies
    margin: float  # the clause defining the asked term scores this times the best score, plus its own


@dataclass(frozen=True)
class LookupPolicy:
    bonus: float
    first_bonus: float
    missing_clause_kinds: tuple[str, ...]  # references a named text must have (else: a missing clause)


@dataclass(frozen=True)
class DiversityPolicy:
    max_pieces_per_unit: int
    window_per_k: int
    pure_lookup_max_words: int
    pure_lookup_filler: re.Pattern
    passage_max_chars: dict[str, int]  # a ranked piece is given with its unit's neighbouring pieces up to this
    sibling_context_chars: dict[str, int]  # a short numbered provision is given with its numbered siblings up to this


@dataclass(frozen=True)
class CrossRefPolicy:
    limit: int
    from_best: int
    penalty_from_best: int  # a question about penalties: liability clauses citing one of this many best clauses


@dataclass(frozen=True)
class EvidencePolicy:
    coverage_clauses: int
    name_tags: tuple[str, ...]  # jieba part-of-speech tags read as names (places, organisations)


@dataclass(frozen=True)
class Intent:
    name: str
    pattern: re.Pattern
    text: str  # "question" or "search_text"


@dataclass(frozen=True)
class AnalysisPolicy:
    follow_up_max_chars: int
    qualifier_max_gap: int
    min_cn_instrument_chars: int
    max_listed_refs: int
    answer_framing_lines: tuple[str, ...]
    old_version: re.Pattern
    current_version: re.Pattern
    unknown_standard: re.Pattern
    numbered_reference: re.Pattern  # an instrument or provision by its number (EO 14148, section 1107.5): the group
    other_instrument: re.Pattern
    instrument_name: re.Pattern
    law_name: re.Pattern  # a law or rulebook named in English words, for clause numbers of an unresolved text
    foreign_instrument: re.Pattern  # right after a foreign jurisdiction's name: an instrument it owns
    cn_instrument_name: re.Pattern
    cn_instrument_in_use: re.Pattern  # a title ending in 办法 / 规定 … used as one ("X规定里", "X办法要求")
    cn_place_title: re.Pattern  # a place's own instrument named with 的: groups place, name ("北京市的…条例")
    qualifier_gap: re.Pattern
    own_rules: re.Pattern
    cn_lead_in: re.Pattern
    follow_up_hint: re.Pattern
    refers_back: re.Pattern
    self_contained_min_words: int
    asked_term_before: re.Pattern  # right before a term, asks what it means ("什么是", "what is a", "meaning of")
    asked_term_after: re.Pattern  # right after a term, asks what it means ("是什么意思", "的定义", "mean?")


@dataclass(frozen=True)
class NamesPolicy:
    min_chars: int
    min_bare_chars: int
    strip_prefix: str
    resemblance: float
    title_tail_words: int
    loose_stop_words: tuple[str, ...] = ()  # left out when an English name is matched word by word
    title_endings: tuple[str, ...] = ()  # the kinds of instrument a shortened Chinese title must end with as its title
    min_abbreviation_chars: int = 3
    not_after_title: tuple[str, ...] = ()  # characters that make a title's ending part of a longer word (法律, 法规)
    interpretation_words: tuple[str, ...] = ()  # 司法解释: what users call a court's interpretation, whatever its title
    interpretation_issuers: tuple[str, ...] = ()  # … whose title starts with one of these (最高人民法院关于…的规定)


@dataclass(frozen=True)
class GuardPolicy:
    companies: re.Pattern
    enforcement: re.Pattern
    company_facts: re.Pattern  # with a company named: asks what it did or is (signed, filed, its officer)
    company_example: re.Pattern  # the words before a company named as an example ("a provider like Mistral")
    company_list_joint: re.Pattern  # what stands between two names of a list ("OpenAI and Anthropic", "腾讯、阿里")
    first_person: re.Pattern  # a question about the user's own system or company (we, our, 我们)
    company_hypothetical: re.Pattern  # what could happen to a company or what it must do (if, could, 如果, 最高)
    statistics: re.Pattern
    amendment: re.Pattern
    later_version: re.Pattern  # asks for a later version of a named text, without a number ("the next version")
    year: re.Pattern
    structure: re.Pattern  # asks how a named document is built (how many articles): the model never declines it
    draft: re.Pattern  # asks about a draft or consultation text (the corpus holds adopted texts)
    fees: re.Pattern  # speaks of a fee, charge or tax …
    fee_amount: re.Pattern  # … and asks for the amount or whether one is due
    fee_evidence: re.Pattern  # a clause that speaks of fees, charges, taxes or costs
    fee_how_much: re.Pattern  # the question asks how much a fee is (not only whether one is due)
    money: re.Pattern  # a sum of money, a rate, or "free of charge": what a clause stating a fee holds
    companion_text: re.Pattern  # asks what a companion text says (guidance, FAQ …): its first group, the kind
    version_number: re.Pattern  # a text's version number (V1.0, 2.0版, version 2): its first non-empty group
    court_cases: re.Pattern  # asks about court judgments, case law or a particular case …
    court_texts: re.Pattern  # … and no document's title names a court (the collection holds no court texts)
    particular_case: re.Pattern  # … or it asks about a particular case (X诉Y案, 二审, typical cases) …
    case_texts: re.Pattern  # … and no document's title says it holds cases (案例, judgments)
    lawmaking: re.Pattern  # asks what lawmakers will do (a legislative plan, a law expected to be amended) …
    future: re.Pattern  # … or a time to come ("next year") …
    future_change: re.Pattern  # … and a change to the rules: asks what legislators or regulators will do next
    localities: re.Pattern  # names a city or province …
    local_rules: re.Pattern  # … and asks about its own rules
    local_evidence: re.Pattern  # a clause that speaks of city or local rule-making
    older_version: re.Pattern  # asks for an earlier wording of a text (the 2019 version, before it was revised)
    held_text_itself: re.Pattern  # names a left-out text but asks what the held one says (before it, apart from it)
    where_from: re.Pattern  # after a foreign jurisdiction's name: it is where the asker is ("a Japanese company")
    where_to: re.Pattern  # before one: it is where data or servers are ("servers in Singapore", "同步到新加坡")
    where_we_are: re.Pattern  # before a name: the asker says where they are ("we're a startup in", "我们在")
    party_to: re.Pattern  # after one: it signs or joins the text named ("Did Japan sign the Bletchley Declaration?")
    party_to_more: re.Pattern  # … unless the rest of the question asks more ("and did it comply", "how much funding")
    other_provision_aside: re.Pattern  # before another instrument's provision: it is a comparison ("like GDPR Art. 20")
    other_provision_asked: re.Pattern  # asks what a provision says (says, requires, quote, 内容, 规定)


@dataclass(frozen=True)
class LearnedPolicy:
    """The learning-to-rank model (a path; "" = the hand-set fusion alone) and how many of the best fused
    candidates it re-scores."""

    model: str
    candidates: int


@dataclass(frozen=True)
class RankingPolicy:
    fusion: FusionPolicy
    rules: tuple[RankingRule, ...]
    date_of_application: DateOfApplicationPolicy
    defining_clause: DefiningClausePolicy
    lookup: LookupPolicy
    diversity: DiversityPolicy
    crossrefs: CrossRefPolicy
    evidence: EvidencePolicy
    intents: tuple[Intent, ...]
    analysis: AnalysisPolicy
    names: NamesPolicy
    guard: GuardPolicy
    learned: LearnedPolicy
    source: str = ""  # the file it was read from

    def intent(self, name: str) -> Intent:
        return next(i for i in self.intents if i.name == name)


class _Section:
    """Typed access to one table of the file; every error names the file and the key."""

    def __init__(self, data: Any, path: str, key: str = "") -> None:
        self.path, self.key = path, key
        if not isinstance(data, dict):
            raise self.error("", "expected a table")
        self.data = data
        self.read: set[str] = set()

    def error(self, key: str, problem: str) -> PolicyError:
        name = ".".join(p for p in (self.key, key) if p) or "(top level)"
        return PolicyError(f"{self.path}: {name}: {problem}")

    def _value(self, key: str) -> Any:
        if key not in self.data:
            raise self.error(key, "missing")
        self.read.add(key)
        return self.data[key]

    def section(self, key: str) -> _Section:
        return _Section(self._value(key), self.path, ".".join(p for p in (self.key, key) if p))

    def number(self, key: str) -> float:
        value = self._value(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"expected a number, got {value!r}")
        return float(value)

    def integer(self, key: str) -> int:
        value = self._value(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {value!r}")
        return value

    def text(self, key: str, default: str | None = None) -> str:
        if default is not None and key not in self.data:
            return default
        value = self._value(key)
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {value!r}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        if key not in self.data:
            return default
        value = self._value(key)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def words(self, key: str) -> tuple[str, ...]:
        value = self._value(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected a list of strings, got {value!r}")
        return tuple(value)

    def pattern(self, key: str, extra: tuple[str, ...] = ()) -> re.Pattern:
        """A pattern table: ``any = [alternatives]`` or ``pattern = '…'``, optional ``ignore_case``."""
        table = self.section(key)
        if ("any" in table.data) == ("pattern" in table.data):
            raise table.error("", "needs exactly one of 'any' (a list of alternatives) or 'pattern'")
        source = "|".join(table.words("any")) if "any" in table.data else table.text("pattern")
        ignore_case = table.data.get("ignore_case", False)
        table.read.add("ignore_case")
        if not isinstance(ignore_case, bool):
            raise table.error("ignore_case", f"expected true or false, got {ignore_case!r}")
        table.read.update(extra)
        table.done()
        try:
            return re.compile(source, re.I if ignore_case else 0)
        except re.error as exc:
            raise table.error(
                "any" if "any" in table.data else "pattern", f"not a valid regular expression: {exc}"
            ) from exc

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise self.error(unknown[0], "unknown key")


def _rule(table: _Section, intents: tuple[Intent, ...]) -> RankingRule:
    rule = RankingRule(
        name=table.text("name"),
        rows=table.text("rows"),
        factor=table.number("factor"),
        when=table.text("when", "always"),
        otherwise=table.number("otherwise") if "otherwise" in table.data else 1.0,
        group=table.text("group", ""),
        after_learned=table.flag("after_learned", False),
    )
    if rule.rows not in ROW_SELECTORS:
        raise table.error("rows", f"unknown rows {rule.rows!r}; known: {', '.join(ROW_SELECTORS)}")
    known = [*CONDITIONS, *(f"intent:{i.name}" for i in intents)]
    if rule.when not in known:
        raise table.error("when", f"unknown condition {rule.when!r}; known: {', '.join(known)}")
    table.done()
    return rule


def _rules(top: _Section, intents: tuple[Intent, ...]) -> tuple[RankingRule, ...]:
    tables = top._value("rules")
    if not isinstance(tables, list):
        raise top.error("rules", "expected an array of tables ([[rules]])")
    return tuple(_rule(_Section(t, top.path, f"rules[{n}]"), intents) for n, t in enumerate(tables))


def _intents(top: _Section) -> tuple[Intent, ...]:
    section = top.section("intents")
    out = []
    for name in section.data:
        text = section.section(name).text("text")
        if text not in INTENT_TEXTS:
            raise section.error(f"{name}.text", f"expected one of {', '.join(INTENT_TEXTS)}, got {text!r}")
        out.append(Intent(name, section.pattern(name, extra=("text",)), text))
    section.done()
    return tuple(out)


def _fusion(s: _Section) -> FusionPolicy:
    policy = FusionPolicy(
        dense_weight=s.number("dense_weight"),
        dense_floor=s.number("dense_floor"),
        dense_floor_epsilon=s.number("dense_floor_epsilon"),
        dense_candidates=s.integer("dense_candidates"),
        named_dense_candidates=s.integer("named_dense_candidates"),
        coverage_weight=s.number("coverage_weight"),
        coverage_candidates=s.integer("coverage_candidates"),
    )
    s.done()
    return policy


def _analysis(s: _Section) -> AnalysisPolicy:
    policy = AnalysisPolicy(
        follow_up_max_chars=s.integer("follow_up_max_chars"),
        qualifier_max_gap=s.integer("qualifier_max_gap"),
        min_cn_instrument_chars=s.integer("min_cn_instrument_chars"),
        max_listed_refs=s.integer("max_listed_refs"),
        answer_framing_lines=s.words("answer_framing_lines"),
        self_contained_min_words=s.integer("self_contained_min_words"),
        **{
            name: s.pattern(name)
            for name in (
                "old_version",
                "current_version",
                "unknown_standard",
                "numbered_reference",
                "other_instrument",
                "instrument_name",
                "law_name",
                "foreign_instrument",
                "cn_instrument_name",
                "cn_instrument_in_use",
                "cn_place_title",
                "qualifier_gap",
                "own_rules",
                "cn_lead_in",
                "follow_up_hint",
                "refers_back",
                "asked_term_before",
                "asked_term_after",
            )
        },
    )
    s.done()
    return policy


def _per_language(section: _Section, key: str) -> dict[str, int]:
    """A table of one integer per language: ``{ zh = …, en = … }``."""
    table = section.section(key)
    values = {language: table.integer(language) for language in ("zh", "en")}
    table.done()
    return values


def _small_sections(top: _Section) -> dict[str, Any]:
    """The sections of a few scalars each."""
    d, dc, lk, dv, x, e, n, g, lr = (
        top.section(k)
        for k in (
            "date_of_application",
            "defining_clause",
            "lookup",
            "diversity",
            "crossrefs",
            "evidence",
            "names",
            "guard",
            "learned",
        )
    )
    model = lr.text("model")
    out = dict(
        date_of_application=DateOfApplicationPolicy(
            d.text("when"), d.integer("best_clauses"), d.number("margin"), d.pattern("applies_from")
        ),
        defining_clause=DefiningClausePolicy(dc.text("when"), dc.number("margin")),
        lookup=LookupPolicy(lk.number("bonus"), lk.number("first_bonus"), lk.words("missing_clause_kinds")),
        diversity=DiversityPolicy(
            dv.integer("max_pieces_per_unit"),
            dv.integer("window_per_k"),
            dv.integer("pure_lookup_max_words"),
            dv.pattern("pure_lookup_filler"),
            _per_language(dv, "passage_max_chars"),
            _per_language(dv, "sibling_context_chars"),
        ),
        crossrefs=CrossRefPolicy(x.integer("limit"), x.integer("from_best"), x.integer("penalty_from_best")),
        evidence=EvidencePolicy(e.integer("coverage_clauses"), e.words("name_tags")),
        names=NamesPolicy(
            n.integer("min_chars"),
            n.integer("min_bare_chars"),
            n.text("strip_prefix"),
            n.number("resemblance"),
            n.integer("title_tail_words"),
            n.words("loose_stop_words"),
            n.words("title_endings"),
            n.integer("min_abbreviation_chars"),
            n.words("not_after_title"),
            n.words("interpretation_words"),
            n.words("interpretation_issuers"),
        ),
        guard=GuardPolicy(
            **{
                k: g.pattern(k)
                for k in (
                    "companies",
                    "enforcement",
                    "company_facts",
                    "company_example",
                    "company_list_joint",
                    "first_person",
                    "company_hypothetical",
                    "statistics",
                    "amendment",
                    "later_version",
                    "year",
                    "structure",
                    "draft",
                    "fees",
                    "fee_amount",
                    "fee_evidence",
                    "fee_how_much",
                    "money",
                    "version_number",
                    "companion_text",
                    "court_cases",
                    "court_texts",
                    "particular_case",
                    "case_texts",
                    "future",
                    "lawmaking",
                    "future_change",
                    "localities",
                    "local_rules",
                    "local_evidence",
                    "older_version",
                    "held_text_itself",
                    "where_from",
                    "where_to",
                    "where_we_are",
                    "party_to",
                    "party_to_more",
                    "other_provision_aside",
                    "other_provision_asked",
                )
            }
        ),
        learned=LearnedPolicy(_model_path(top.path, model), lr.integer("candidates")),
    )
    for section in (d, lk, dv, x, e, n, g, lr):
        section.done()
    return out


def _model_path(policy_source: str, model: str) -> str:
    """A model path as the policy file gives it: relative to that file's directory when it is there, else to the
    shipped resources (a variant policy written elsewhere keeps the shipped model)."""
    if not model:
        return ""
    beside = Path(policy_source).parent / model
    return str(beside if beside.exists() else DEFAULT_POLICY_FILE.parent / model)


def parse_policy(text: str, source: str = "<policy>") -> RankingPolicy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    top = _Section(data, source)
    intents = _intents(top)
    policy = RankingPolicy(
        fusion=_fusion(top.section("fusion")),
        rules=_rules(top, intents),
        intents=intents,
        analysis=_analysis(top.section("analysis")),
        source=source,
        **_small_sections(top),
    )
    top.done()
    known = [*CONDITIONS, *(f"intent:{i.name}" for i in intents)]
    for section, when in (
        ("date_of_application", policy.date_of_application.when),
        ("defining_clause", policy.defining_clause.when),
    ):
        if when not in known:
            raise PolicyError(f"{source}: {section}.when: unknown condition {when!r}; known: {', '.join(known)}")
    return policy


@lru_cache(maxsize=8)
def load_policy(path: Path | str = DEFAULT_POLICY_FILE) -> RankingPolicy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc.strerror or exc}") from exc
    return parse_policy(text, str(path))


def first_group(match: re.Match) -> str | None:
    """The value of a policy pattern of alternatives: the first group the alternative that matched filled."""
    return next((g for g in match.groups() if g), None)


def default_policy() -> RankingPolicy:
    """The policy shipped with the code (assistant/resources/ranking.toml)."""
    return load_policy(DEFAULT_POLICY_FILE)
