"""The obligation register for users: query it (documents, role, jurisdiction, as-of date), group it into a
checklist by document and article, and export it as JSON, CSV or DOCX. The CLI (``regqa obligations``), the API
(``GET /v1/obligations``) and the UI tab all call ``ObligationRegister.find``; extraction lives in
``ingest.obligations``."""

from __future__ import annotations

import csv
import html
import io
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from assistant.security import safe_link
from common.settings import Settings
from ingest.applicability import unit_applicability
from ingest.models import ChunkRow
from ingest.obligations import load_rules, sync_register

# The public fields of an item, in export order.
FIELDS = (
    "doc_id",
    "unit",
    "locator",
    "actor",
    "actor_norm",
    "modality",
    "condition",
    "text",
    "applies_from",
    "applies_until",
    "context",
    "title",
    "jurisdiction",
)
MODALITY_LABELS = {
    "obligation": "obligation / 应当",
    "prohibition": "prohibition / 不得",
    "permission": "permission / 可以",
}


class InvalidObligationQuery(ValueError):
    """A filter that cannot be applied: unknown role or document, a malformed date. ``str(err)`` says which."""


@dataclass(frozen=True)
class ObligationQuery:
    docs: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()  # actor_norm values
    jurisdictions: tuple[str, ...] = ()
    as_of: str = ""  # ISO date; only items whose applies_from <= as_of (and not yet ended)


def role_choices() -> list[tuple[str, str]]:
    """(label, actor_norm) for every role of the vocabulary."""
    return [(a.label, a.norm) for a in load_rules().actors]


def resolve_role(name: str) -> str:
    """The actor_norm a user's role name stands for: "deployer", "user", "使用者" -> deployer."""
    wanted = name.strip().lower()
    for actor in load_rules().actors:
        if wanted == actor.norm or wanted in (a.lower() for a in actor.aliases):
            return actor.norm
    known = ", ".join(a.norm for a in load_rules().actors)
    raise InvalidObligationQuery(f"unknown role {name!r}; known roles: {known}")


def parse_query(docs=(), roles=(), jurisdictions=(), as_of: str | None = "") -> ObligationQuery:
    """Check and normalise user filters; raises InvalidObligationQuery with a clear message (unknown documents
    are checked against the index by ``ObligationRegister.find``)."""
    docs = tuple(d.strip() for d in docs or () if d and d.strip())
    as_of = (as_of or "").strip()
    if as_of:
        try:
            as_of = date.fromisoformat(as_of).isoformat()
        except ValueError:
            raise InvalidObligationQuery(f"as_of must be a date like 2025-09-01, not {as_of!r}") from None
    return ObligationQuery(
        docs=docs,
        roles=tuple(dict.fromkeys(resolve_role(r) for r in roles or () if r.strip())),
        jurisdictions=tuple(j.strip().upper() for j in jurisdictions or () if j and j.strip()),
        as_of=as_of,
    )


def with_dates(item: dict) -> dict:
    applies_from, applies_until = unit_applicability(
        item["doc_id"], item["unit"], item.get("effective", ""), item.get("status", "")
    )
    return {**item, "applies_from": applies_from or "", "applies_until": applies_until or ""}


def matches(item: dict, query: ObligationQuery, always_included: frozenset[str]) -> bool:
    if query.docs and item["doc_id"] not in query.docs:
        return False
    if query.roles and item["actor_norm"] not in query.roles and item["actor_norm"] not in always_included:
        return False
    jurisdiction = (item.get("jurisdiction") or "").upper()
    if query.jurisdictions and not any(
        jurisdiction == j or jurisdiction.startswith(j + "-") for j in query.jurisdictions
    ):
        return False
    if query.as_of:
        if not item["applies_from"] or item["applies_from"] > query.as_of:
            return False
        if item["applies_until"] and item["applies_until"] <= query.as_of:
            return False
    return True


def public(item: dict) -> dict:
    return {k: item.get(k, "") for k in FIELDS}


class ObligationRegister:
    """The register of one index, kept in memory and re-derived when the collection changes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._key: str | None = None
        self._items: list[dict] = []
        self._doc_ids: set[str] = set()

    def items(self, rows: list[ChunkRow] | None = None, key: str | None = None) -> list[dict]:
        """All items with their dates. ``rows`` (id, metadata, text) default to the collection's; ``key`` (e.g.
        the index fingerprint) skips re-checking while it is unchanged."""
        from ingest.pipeline import register_dir, sorted_rows
        from ingest.store import ClauseStore

        with self._lock:
            if key is not None and key == self._key:
                return self._items
            if rows is None:
                rows = sorted_rows(ClauseStore(self.settings))
            items, _ = sync_register(rows, register_dir(self.settings))
            self._items = [with_dates(i) for i in items]
            self._doc_ids = {meta.get("doc_id", "") for _, meta, _ in rows}
            self._key = key
            return self._items

    def find(self, query: ObligationQuery, rows: list | None = None, key: str | None = None) -> list[dict]:
        items = self.items(rows, key)
        unknown = [d for d in query.docs if d not in self._doc_ids]
        if unknown:
            raise InvalidObligationQuery(
                f"no document {', '.join(unknown)} in the index (see `regqa docs` or GET /v1/documents)"
            )
        always = load_rules().always_included
        return [public(i) for i in items if matches(i, query, always)]


# ---- checklist and exports --------------------------------------------------------------------------------
@dataclass
class UnitGroup:
    unit: str
    items: list[dict] = field(default_factory=list)


@dataclass
class DocGroup:
    doc_id: str
    title: str
    units: list[UnitGroup] = field(default_factory=list)


def grouped(items: list[dict]) -> list[DocGroup]:
    """Items grouped by document, then unit, in register order."""
    docs: dict[str, DocGroup] = {}
    for item in items:
        doc = docs.setdefault(item["doc_id"], DocGroup(item["doc_id"], item.get("title", "")))
        if not doc.units or doc.units[-1].unit != item["unit"]:
            doc.units.append(UnitGroup(item["unit"]))
        doc.units[-1].items.append(item)
    return list(docs.values())


def checklist_lines(items: list[dict]) -> list[tuple[dict, list[str]]]:
    """One checklist line per sentence and actor (a sentence both obliging and prohibiting is one line with two
    modalities): (first item, modalities)."""
    lines: dict[tuple, tuple[dict, list[str]]] = {}
    for item in items:
        key = (item["locator"], item["actor_norm"], item["text"])
        lines.setdefault(key, (item, []))[1].append(item["modality"])
    return list(lines.values())


def to_csv(items: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(items)
    return out.getvalue()


def to_docx(items: list[dict], path: Path, heading: str = "Obligation register / 义务清单") -> Path:
    """A checklist document: one section per document, one sub-heading per article, a ☐ line per item."""
    from docx import Document

    document = Document()
    document.add_heading(heading, level=1)
    if not items:
        document.add_paragraph("No obligations match these filters. / 没有符合条件的义务。")
    for doc in grouped(items):
        document.add_heading(f"{doc.title} ({doc.doc_id})" if doc.title else doc.doc_id, level=2)
        for unit in doc.units:
            document.add_heading(unit.unit, level=3)
            for item, modalities in checklist_lines(unit.items):
                paragraph = document.add_paragraph(f"☐ [{item['locator']}] ")
                paragraph.add_run(f"{item['actor'] or item['actor_norm']} — {' + '.join(modalities)}").bold = True
                if item["condition"]:
                    paragraph.add_run(f" (if / 条件: {item['condition']})")
                if item["applies_from"]:
                    paragraph.add_run(f" · applies from / 适用自 {item['applies_from']}")
                document.add_paragraph(item["text"], style="Quote")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def _clause_block(text: str) -> str:
    body = html.escape(re.sub(r"^#{1,6}\s+", "", text, flags=re.MULTILINE)).replace("\n", "<br>")
    return f'<blockquote class="clause-text">{body}</blockquote>'


def checklist_html(items: list[dict], clause_text=lambda doc_id, unit: "") -> str:
    """The checklist as HTML (all document text escaped): documents, articles, one checkbox line per item, each
    with a "clause text" disclosure holding the whole article."""
    if not items:
        return '<p class="obligations-empty">No obligations match these filters. / 没有符合条件的义务。</p>'
    parts = [f'<p class="obligations-count">{len(items)} items / 条</p>']
    for doc in grouped(items):
        url = safe_link(doc.units[0].items[0].get("source_url", "")) if doc.units else ""
        link = f' <a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">↗</a>' if url else ""
        parts.append(
            f'<h3 class="obligations-doc">{html.escape(doc.title or doc.doc_id)} '
            f"<small>({html.escape(doc.doc_id)})</small>{link}</h3>"
        )
        for unit in doc.units:
            parts.append(
                f'<div class="obligations-unit" data-unit="{html.escape(unit.unit)}">'
                f"<h4>{html.escape(unit.unit)}</h4><ul>"
            )
            for item, modalities in checklist_lines(unit.items):
                badges = " ".join(
                    f'<span class="modality modality-{m}">{html.escape(MODALITY_LABELS.get(m, m))}</span>'
                    for m in modalities
                )
                condition = f"<br><i>If / 条件: {html.escape(item['condition'])}</i>" if item["condition"] else ""
                since = f" · from {html.escape(item['applies_from'])}" if item["applies_from"] else ""
                parts.append(
                    f'<li class="obligation-item"><label><input type="checkbox"> '
                    f"<b>{html.escape(item['locator'])}</b> · {html.escape(item['actor'] or item['actor_norm'])}"
                    f" {badges}{since}</label><br>{html.escape(item['text'])}{condition}"
                    f"<details><summary>Clause text / 条款原文</summary>"
                    f"{_clause_block(clause_text(item['doc_id'], item['unit']))}</details></li>"
                )
            parts.append("</ul></div>")
    return "\n".join(parts)


# ---- chat (Slack, WeCom) ---------------------------------------------------------------------------------------
CHAT_MAX_ITEMS = 25  # a chat reply lists this many items; the rest are counted, with where to see them all


def checklist_for_chat(service, role_text: str, doc_text: str, language: str) -> str:
    """The checklist for a bot command ("义务清单 提供者 标识办法", "obligations deployer AI Act"): role words resolved
    by the register's vocabulary, document words by the index's document names; plain text, grouped by document and
    article, each item with its modality and the start of its sentence."""
    zh = language == "zh"
    try:
        roles = [resolve_role(word) for word in role_text.split() if word.strip()]
    except InvalidObligationQuery as exc:
        return f"无法识别角色：{exc}" if zh else str(exc)
    docs = [doc_id for doc_id, _ in service.retriever.index.resolver.find(doc_text)] if doc_text.strip() else []
    if doc_text.strip() and not docs:
        return f"语料中没有名为“{doc_text}”的文件。" if zh else f"No document in the corpus is called {doc_text!r}."
    register = getattr(service, "_obligation_register", None)
    if register is None:
        register = service._obligation_register = ObligationRegister(service.settings)
    items = register.find(
        parse_query(docs, roles, (), date.today().isoformat()), key=service.retriever.index.fingerprint
    )
    if not items:
        return "没有找到符合条件的义务条款。" if zh else "No obligations match."
    lines: list[str] = []
    for group in grouped(items[:CHAT_MAX_ITEMS]):
        lines.append(f"{group.title}")
        for unit in group.units:
            for item, modalities in checklist_lines(unit.items):
                text = item["text"] if len(item["text"]) <= 120 else item["text"][:119] + "…"
                lines.append(
                    f"☐ {item['locator']} · {item['actor'] or item['actor_norm']} · {'/'.join(modalities)}: {text}"
                )
    if len(items) > CHAT_MAX_ITEMS:
        more = len(items) - CHAT_MAX_ITEMS
        lines.append(
            f"……另有 {more} 条，完整清单见网页“义务清单”页或 `regqa obligations`。"
            if zh
            else f"… and {more} more: see the Obligations tab of the web app or `regqa obligations`."
        )
    return "\n".join(lines)
