"""HTML for the chat (rendered server-side, every piece of document or user text escaped): the conversation,
each answer as a card (lead first, the full clauses collapsed below, its own numbered sources, follow-up chips,
feedback and copy buttons), and the clause panel (the whole unit with the answer's spans in <mark>).

The browser side (``resources/chat.js``) only moves these escaped fragments around: a click on an inline [n]
copies that answer's hidden clause fragment into the panel."""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt

from assistant.answering.models import Citation
from assistant.security import safe_link
from common.documents import NO_LONGER_IN_FORCE as STATUS_REVOKED

# Raw HTML in answer text is escaped (html=False); links and images never come from answer text.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").disable(["link", "image", "autolink"])
_MARKER = re.compile(r"\[(\d{1,3})\]")
_HEADING = re.compile(r"#{1,6}[ \t]+")
_NOTICE_LINE = re.compile(r"^> ⚠ .*$\n?", re.M)

EMPTY_CONVERSATION = (
    '<div class="conversation empty"><p class="hint">Ask about AI regulation in Chinese or English: '
    "the answer comes first, with every statement cited to its clause. / 用中文或英文提问："
    "先给结论，每句都标注出处条款。</p></div>"
)
CLAUSE_PLACEHOLDER = "Click a citation [n] to read the clause. / 点击引用 [n] 查看条款原文。"
_THUMB = (
    '<svg viewBox="0 0 24 24" aria-hidden="true"{flip}><path fill="currentColor" d="M2 21h4V9H2v12zm20-11c0-1.1'
    "-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L13.17 1 6.59 7.59C6.22 7.95 6 8.45 6 9v10c0 1.1.9 2 2 "
    '2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z"/></svg>'
)
THUMB_UP = _THUMB.format(flip="")
THUMB_DOWN = _THUMB.format(flip=' style="transform: rotate(180deg)"')


def markdown_html(text: str) -> str:
    """Answer Markdown as HTML; any HTML tag in the text shows as text."""
    return _MARKDOWN.render(text or "")


def link_citations(fragment: str, turn: int, numbers: set[int]) -> str:
    """Each [n] naming one of this answer's citations becomes a button that opens that clause."""

    def button(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        return f'<button type="button" class="cite" data-turn="{turn}" data-n="{n}">[{n}]</button>'

    return _MARKER.sub(button, fragment)


def lead_and_rest(answer: dict) -> tuple[str, str]:
    """The lead (``answer['lead']``, else the first paragraph of the text that is not a notice) and the rest of
    the text (without the notice lines, which are shown on their own)."""
    text = _NOTICE_LINE.sub("", answer.get("text") or "").strip()
    lead = (answer.get("lead") or "").strip()
    if lead:
        rest = text[len(lead) :] if text.startswith(lead) else text
        return lead, rest.strip()
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    if not paragraphs:
        return "", ""
    return paragraphs[0].strip(), "\n\n".join(paragraphs[1:]).strip()


def _highlight(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    """text[start:end] escaped, with the parts inside ``spans`` wrapped in <mark>."""
    out, pos = [], start
    for a, b in spans:
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        out.append(html.escape(text[pos:a]))
        out.append(f"<mark>{html.escape(text[a:b])}</mark>")
        pos = b
    out.append(html.escape(text[pos:end]))
    return "".join(out)


def _clean_spans(spans, length: int) -> list[tuple[int, int]]:
    cleaned = sorted((max(0, int(a)), min(length, int(b))) for a, b in spans or [] if int(b) > int(a))
    merged: list[tuple[int, int]] = []
    for a, b in cleaned:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def unit_body_html(text: str, spans) -> str:
    """The unit's text (escaped; line breaks kept by CSS) with ``spans`` marked; Markdown heading lines
    ("### Article 50") show as headings without their markers."""
    spans = _clean_spans(spans, len(text))
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        start, end = pos, pos + len(line)
        pos = end
        content_end = start + len(line.rstrip("\r\n"))
        heading = _HEADING.match(line)
        if heading:
            inner = _highlight(text, start + heading.end(), content_end, spans)
            out.append(f'<strong class="unit-heading">{inner}</strong>')
        else:
            out.append(_highlight(text, start, content_end, spans))
        out.append(html.escape(text[content_end:end]))
    return "".join(out)


def status_badge(status: str) -> str:
    status = (status or "").strip()
    if status in STATUS_REVOKED:
        return f'<span class="badge status-revoked">已废止 / {html.escape(status)}</span>'
    if status in ("in-force", "in force", "adopted", "published"):
        return f'<span class="badge status-ok">{html.escape(status)}</span>'
    return f'<span class="badge status-unknown">{html.escape(status or "status unknown / 状态未知")}</span>'


def applicability_line(c: dict) -> str:
    """When the clause applies and whether it is in effect on the answer's as-of date (escaped HTML)."""
    if c.get("applies_condition"):
        when = f"not in effect / 尚未生效: {c['applies_condition']}"
    else:
        when = f"Applies from / 适用日期: {c.get('applies_from') or '—'}"
        if c.get("applies_until"):
            when += f" · until / 至: {c['applies_until']}"
        when += (
            " · in effect / 有效"
            if c.get("in_effect", True)
            else " · not in effect on the as-of date / 在所选日期尚未适用或已失效"
        )
    note = f"<br>{html.escape(c['applies_note'])}" if c.get("applies_note") else ""
    in_effect = str(bool(c.get("in_effect", True))).lower()
    return f'<p class="applicability" data-in-effect="{in_effect}">{html.escape(when)}{note}</p>'


def clause_html(c: dict | Citation) -> str:
    """The clause panel for one citation: its label (naming the unit), status, source, dates and the whole
    unit with the answer's spans highlighted."""
    c = c.to_dict() if isinstance(c, Citation) else c
    url = safe_link(c.get("source_url") or "")
    link = (
        f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{html.escape(url)}</a>' if url else "—"
    )
    unit_text = c.get("unit_text") or ""
    body = unit_body_html(unit_text or c.get("quote") or "", c.get("spans") or [])
    whole = f'<p class="unit-name">{html.escape(c.get("unit") or "")} — whole unit / 全文</p>' if unit_text else ""
    return (
        f'<div class="clause" data-citation="{int(c["n"])}">'
        f'<h3 class="clause-title">[{int(c["n"])}] {html.escape(c.get("label") or "")}</h3>'
        f"<p>{status_badge(c.get('status') or '')}</p>"
        f'<p class="clause-doc"><b>{html.escape(c.get("title") or "")}</b></p>'
        f"<p>Issued / 发布: {html.escape(c.get('issued') or '—')} · Official text / 官方链接: {link}</p>"
        f"{applicability_line(c)}{whole}"
        f'<div class="clause-text">{body}</div></div>'
    )


def _sources_html(turn: int, answer: dict) -> str:
    cites = answer.get("citations") or answer.get("related") or []
    if not cites:
        return ""
    title = "Sources / 引用" if answer.get("citations") else "Possibly related / 可能相关"
    items = "".join(
        f'<li><button type="button" class="cite source" data-turn="{turn}" data-n="{int(c["n"])}">'
        f"[{int(c['n'])}] {html.escape(c.get('label') or '')}</button></li>"
        for c in cites
    )
    hidden = "".join(
        f'<div class="clause-src" data-turn="{turn}" data-n="{int(c["n"])}" hidden>{clause_html(c)}</div>'
        for c in cites
    )
    return f'<div class="sources"><p class="sources-title">{title}</p><ol>{items}</ol></div>{hidden}'


def _follow_ups_html(answer: dict) -> str:
    chips = "".join(
        f'<button type="button" class="chip follow-up" data-question="{html.escape(q)}">{html.escape(q)}</button>'
        for q in answer.get("follow_ups") or []
    )
    return f'<div class="follow-ups"><span class="muted">Ask next / 继续问：</span>{chips}</div>' if chips else ""


def _actions_html(answer: dict, copy_text: str, rating: str) -> str:
    def thumb(value: str, icon: str, label: str) -> str:
        pressed = "true" if rating == value else "false"
        return (
            f'<button type="button" class="rate" data-rating="{value}" aria-pressed="{pressed}" '
            f'title="{label}" aria-label="{label}">{icon}</button>'
        )

    return (
        f'<div class="answer-actions" data-answer-id="{html.escape(answer.get("answer_id") or "")}">'
        f'<button type="button" class="copy-answer" title="Copy with references / 复制（含出处）">'
        f"Copy / 复制</button>"
        f"{thumb('up', THUMB_UP, 'Helpful / 有帮助')}{thumb('down', THUMB_DOWN, 'Not helpful / 没帮助')}"
        f'<span class="comment-box" hidden><input type="text" class="comment" maxlength="1000" '
        f'placeholder="Optional comment / 可选评论"><button type="button" class="comment-send">'
        f'Send / 发送</button></span><span class="feedback-done muted"></span>'
        f'<div class="copy-src" hidden>{html.escape(copy_text)}</div></div>'
    )


def answer_html(turn: int, answer: dict, copy_text: str = "", rating: str = "") -> str:
    """One answer card: interpreted-as line, lead, notices, sources, collapsed full text, follow-ups, actions."""
    numbers = {int(c["n"]) for c in (answer.get("citations") or answer.get("related") or [])}
    lead, rest = lead_and_rest(answer)
    parts = []
    if answer.get("interpreted_as"):
        parts.append(
            f'<p class="interpreted muted">Interpreted as / 理解为：{html.escape(answer["interpreted_as"])}</p>'
        )
    parts.append(f'<div class="answer-lead">{link_citations(markdown_html(lead), turn, numbers)}</div>')
    notices = "".join(f"<li>⚠ {html.escape(n)}</li>" for n in answer.get("notices") or [])
    if notices:
        parts.append(f'<ul class="notices">{notices}</ul>')
    parts.append(_sources_html(turn, answer))
    if rest:
        parts.append(
            f'<details class="answer-full"><summary>Full clauses / 条款全文</summary>'
            f'<div class="answer-body">{link_citations(markdown_html(rest), turn, numbers)}</div></details>'
        )
    parts.append(_follow_ups_html(answer))
    parts.append(_actions_html(answer, copy_text, rating))
    return "".join(parts)


def turn_html(turn: int, record: dict, copy_text: str = "") -> str:
    """A question and its answer (or the error message it got)."""
    question = f'<div class="bubble user">{html.escape(record["question"])}</div>'
    if "answer" in record:
        answer = record["answer"]
        body = answer_html(turn, answer, copy_text, record.get("rating", ""))
        answer_id = html.escape(answer.get("answer_id") or "")
        refused = " refused" if answer.get("refused") else ""
        return (
            f'<article class="turn" data-turn="{turn}" data-answer-id="{answer_id}">{question}'
            f'<div class="bubble assistant{refused}">{body}</div></article>'
        )
    return (
        f'<article class="turn" data-turn="{turn}">{question}'
        f'<div class="bubble assistant error">⚠ {html.escape(record.get("error", ""))}</div></article>'
    )


def pending_html(turn: int, question: str, streamed: str) -> str:
    """The turn being answered: the question and the text streamed so far (plain, escaped)."""
    return (
        f'<article class="turn streaming" data-turn="{turn}"><div class="bubble user">{html.escape(question)}'
        f'</div><div class="bubble assistant"><div class="streamed">{html.escape(streamed) or "…"}</div>'
        f"</div></article>"
    )


def conversation_html(
    turns: list[dict], copy_texts: list[str] | None = None, pending: tuple[str, str] | None = None
) -> str:
    if not turns and pending is None:
        return EMPTY_CONVERSATION
    copy_texts = copy_texts or [""] * len(turns)
    parts = [turn_html(k, t, copy_texts[k]) for k, t in enumerate(turns)]
    if pending is not None:
        parts.append(pending_html(len(turns), *pending))
    return f'<div class="conversation">{"".join(parts)}</div>'


def clause_panel_html() -> str:
    """The clause panel's frame; the browser fills ``#clause-view`` (a side panel, a bottom sheet on phones)."""
    return (
        '<div class="sheet-head"><span class="sheet-title">Clause / 条款原文</span>'
        '<button type="button" class="sheet-close" aria-label="Close / 关闭">✕</button></div>'
        f'<div id="clause-view"><p class="muted">{html.escape(CLAUSE_PLACEHOLDER)}</p></div>'
    )
