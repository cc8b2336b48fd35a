"""The Documents tab's table (escaped HTML): short titles with the formal title on hover, the year and a status
badge beside the title (revoked in red, an unknown status neutral), narrowed by the jurisdiction filter."""

from __future__ import annotations

import html
from dataclasses import dataclass

from assistant.web.chat_view import status_badge

SHORT_TITLE_CHARS = 40
UPLOAD_BADGE = ' <span class="badge upload">uploaded / 已上传</span>'


@dataclass(frozen=True)
class DocumentRow:
    doc_id: str
    title: str  # the formal title
    short: str
    year: str
    jurisdiction: str
    status: str
    units: int
    chunks: int
    uploaded: bool


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def short_title(title: str, short: str = "", aliases: tuple[str, ...] = ()) -> str:
    """The catalog's short title, else the first alias shorter than the title in the title's script, else the
    title cut at ``SHORT_TITLE_CHARS``."""
    if short:
        return short
    for alias in aliases:
        if 4 <= len(alias) < len(title) and _has_cjk(alias) == _has_cjk(title):
            return alias
    return title if len(title) <= SHORT_TITLE_CHARS else title[: SHORT_TITLE_CHARS - 1].rstrip() + "…"


def document_rows(index, catalog: dict, uploaded: set[str], jurisdictions: list[str] | None) -> list[DocumentRow]:
    """One row per indexed document of the chosen jurisdictions (all when none is chosen)."""
    counts: dict[str, int] = {}
    for m in index.metas:
        counts[m["doc_id"]] = counts.get(m["doc_id"], 0) + 1
    rows = []
    for d in sorted(index.docs.values(), key=lambda d: d.doc_id):
        if jurisdictions and d.jurisdiction not in jurisdictions:
            continue
        entry = catalog.get(d.doc_id)
        year = (d.issued or "")[:4] if (d.issued or "")[:4].isdigit() else (str(d.text_year) if d.text_year else "")
        rows.append(
            DocumentRow(
                d.doc_id,
                d.title,
                short_title(d.title, entry.short_title if entry else "", d.aliases),
                year,
                d.jurisdiction,
                d.status,
                len(d.units),
                counts.get(d.doc_id, 0),
                d.doc_id in uploaded,
            )
        )
    return rows


def documents_table_html(rows: list[DocumentRow], jurisdictions: list[str] | None = None) -> str:
    scope = (
        f'<p class="muted">Jurisdiction filter / 法域筛选: {html.escape(", ".join(jurisdictions))}</p>'
        if jurisdictions
        else ""
    )
    if not rows:
        return scope + '<p class="muted">No documents. / 没有文件。</p>'
    body = "".join(
        f'<tr data-doc-id="{html.escape(r.doc_id)}" data-status="{html.escape(r.status or "unknown")}">'
        f'<td><span class="doc-title" title="{html.escape(r.title)}">{html.escape(r.short)}</span> '
        f'<span class="doc-year">{html.escape(r.year or "—")}</span> {status_badge(r.status)}'
        f"{UPLOAD_BADGE if r.uploaded else ''}</td>"
        f"<td>{html.escape(r.jurisdiction or '—')}</td><td><code>{html.escape(r.doc_id)}</code></td>"
        f"<td>{r.units}</td><td>{r.chunks}</td></tr>"
        for r in rows
    )
    return (
        f'{scope}<table class="documents"><thead><tr><th>Document / 文件</th><th>Jurisdiction / 法域</th>'
        f"<th>id</th><th>units / 条款</th><th>chunks</th></tr></thead><tbody>{body}</tbody></table>"
    )
