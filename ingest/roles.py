"""Unit roles, decided once at split time: what part of a legal text a chunk is.

Roles: ``definitions`` (a definition list), ``scope`` (what the text applies to), ``penalty`` (liability),
``final_provision`` (entry into force, 附则), ``recital``, ``preamble`` (a promulgation order, an issuing notice),
``annex``, ``signature_block`` (signatories, a closing note) and ``operative`` (everything else). A chunk can
hold several (a definitions article in the 附则 chapter is ``definitions`` and ``final_provision``); the first in
the precedence of ``resources/roles.toml`` is its primary role. The rules (word lists, windows) are data in that
file. The store writes ``role`` (primary) and ``roles`` (all, comma-separated); ``roles_of(meta)`` reads them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .models import Chunk

_RULES_FILE = Path(__file__).parent / "resources" / "roles.toml"

DEFINITIONS = "definitions"
SCOPE = "scope"
PENALTY = "penalty"
FINAL_PROVISION = "final_provision"
RECITAL = "recital"
PREAMBLE = "preamble"
ANNEX = "annex"
SIGNATURE_BLOCK = "signature_block"
OPERATIVE = "operative"
ROLES = (DEFINITIONS, SCOPE, PENALTY, FINAL_PROVISION, RECITAL, PREAMBLE, ANNEX, SIGNATURE_BLOCK, OPERATIVE)


@dataclass(frozen=True)
class RoleRules:
    """The rules of ``resources/roles.toml``, compiled."""

    precedence: tuple[str, ...]
    recital_prefix: str
    preamble_units: frozenset[str]
    signature_units: frozenset[str]
    annex_prefixes: tuple[str, ...]
    definitions_window: int
    definitions_min_defines: int
    definitions_heading: re.Pattern
    defines: re.Pattern
    defined_term: re.Pattern  # one definition: its term is the one named group of an alternative that matched
    scope_window: int
    scope_units: int
    scope_heading: re.Pattern
    scope_text: re.Pattern
    penalty_section: re.Pattern
    penalty_opening: re.Pattern
    final_section: re.Pattern


@lru_cache(maxsize=1)
def role_rules() -> RoleRules:
    data = tomllib.loads(_RULES_FILE.read_text(encoding="utf-8"))
    precedence = tuple(data["precedence"])
    if sorted(precedence) != sorted(ROLES):
        raise ValueError(f"{_RULES_FILE}: precedence must list each of {', '.join(ROLES)} once")
    patterns = {
        key: re.compile(data[key])
        for key in (
            "definitions_heading",
            "defines",
            "defined_term",
            "scope_heading",
            "scope_text",
            "penalty_section",
            "penalty_opening",
            "final_section",
        )
    }
    return RoleRules(
        precedence=precedence,
        recital_prefix=data["recital_prefix"],
        preamble_units=frozenset(data["preamble_units"]),
        signature_units=frozenset(data["signature_units"]),
        annex_prefixes=tuple(data["annex_prefixes"]),
        definitions_window=int(data["definitions_window"]),
        definitions_min_defines=int(data["definitions_min_defines"]),
        scope_window=int(data["scope_window"]),
        scope_units=int(data["scope_units"]),
        **patterns,
    )


def defined_terms(text: str) -> list[str]:
    """The terms a clause defines, lower-cased ("本条例所称大数据，是指…" → 大数据; "“AI system” means …" → ai system)."""
    found = (m.group(m.lastgroup).strip().lower() for m in role_rules().defined_term.finditer(text) if m.lastgroup)
    return list(dict.fromkeys(t for t in found if t))


def _defines_terms(text: str, rules: RoleRules) -> bool:
    return bool(
        rules.definitions_heading.search(text[: rules.definitions_window])
        or len(rules.defines.findall(text)) >= rules.definitions_min_defines
    )


def _states_scope(chunk: Chunk, rules: RoleRules) -> bool:
    return chunk.part == 0 and bool(
        rules.scope_heading.search(chunk.text.split("\n", 1)[0])
        or (rules.scope_text.search(chunk.text[: rules.scope_window]) and chunk.unit_index < rules.scope_units)
    )


def _label_roles(unit: str, rules: RoleRules) -> set[str]:
    roles = set()
    if unit.startswith(rules.recital_prefix):
        roles.add(RECITAL)
    if unit in rules.preamble_units:
        roles.add(PREAMBLE)
    if unit in rules.signature_units:
        roles.add(SIGNATURE_BLOCK)
    if unit.startswith(rules.annex_prefixes):
        roles.add(ANNEX)
    return roles


def chunk_roles(chunks: list[Chunk]) -> list[tuple[str, ...]]:
    """The roles of each chunk of one document, primary first. Definitions and scope are decided per unit label
    (any piece of the unit decides for all its pieces); penalty per piece (its heading path or opening words)."""
    rules = role_rules()
    definitions = {c.unit for c in chunks if _defines_terms(c.text, rules)}
    scope = {c.unit for c in chunks if _states_scope(c, rules)} - definitions
    out = []
    for chunk in chunks:
        roles = _label_roles(chunk.unit, rules)
        if chunk.unit in definitions:
            roles.add(DEFINITIONS)
        if chunk.unit in scope:
            roles.add(SCOPE)
        if rules.penalty_section.search(chunk.path) or rules.penalty_opening.match(chunk.text):
            roles.add(PENALTY)
        if rules.final_section.search(chunk.path):
            roles.add(FINAL_PROVISION)
        out.append(tuple(role for role in rules.precedence if role in roles) or (OPERATIVE,))
    return out


def roles_of(meta: dict) -> frozenset[str]:
    """The roles stored in a chunk's metadata (empty for chunks indexed before roles existed)."""
    return frozenset(filter(None, str(meta.get("roles", "")).split(",")))
