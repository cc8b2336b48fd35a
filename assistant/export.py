"""Answers out of the app: copy-ready plain text, and whole conversations as Markdown or DOCX.

All three work on ``Answer.to_dict()`` output (what the UI keeps and the API returns), read through
``answer_view`` into typed views; a malformed answer raises ``InvalidExport`` (the API answers 422).

- ``answer_as_text(answer)``: the lead, the clauses, then "References" (title, unit, issue date, status,
  official link) — no Markdown markup;
- ``conversation_markdown(turns)`` / ``conversation_docx(turns)``: ``turns`` is a list of
  ``{"question": str, "answer": Answer.to_dict()}``; a title, the export date, then each question with its
  answer's lead, clauses (as quotes) and references. ``POST /v1/export`` serves them as attachments.

Document text is never turned into markup: in Markdown ``<`` is escaped (so no viewer renders HTML from it), in
DOCX it is plain runs; only ``http(s)`` links (``safe_link``) become links.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime

from assistant.security import safe_link

TITLE = {"zh": "法规问答对话记录", "en": "Regulation Q&A conversation"}
EXPORTED = {"zh": "导出时间", "en": "Exported"}
REFERENCES = {"zh": "参考文献", "en": "References"}
QUESTION = {"zh": "问题", "en": "Question"}
ISSUED = {"zh": "发布日期", "en": "issued"}
STATUS = {
    "zh": {
        "in-force": "现行有效",
        "revoked": "已废止",
        "superseded": "已被取代",
        "non-binding": "非约束性文件",
        "open-for-signature": "开放签署",
        "draft": "草案",
    },
    "en": {
        "in-force": "in force",
        "revoked": "revoked",
        "superseded": "superseded",
        "non-binding": "non-binding",
        "open-for-signature": "open for signature",
        "draft": "draft",
    },
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class InvalidExport(ValueError):
    """An answer or a conversation that cannot be exported as given; ``str(err)`` says what is wrong."""


@dataclass(frozen=True)
class RefView:
    n: int
    doc_id: str
    title: str
    unit: str
    locator: str
    label: str
    quote: str
    status: str
    issued: str
    source_url: str


@dataclass(frozen=True)
class AnswerView:
    question: str
    lead: str
    text: str
    refused: bool
    language: str
    notices: list[str]
    citations: list[RefView]


def _str(data: dict, key: str, where: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidExport(f"{where}.{key} must be text")
    return _CONTROL.sub("", value)


def answer_view(answer: object, where: str = "answer") -> AnswerView:
    """The parts of an ``Answer.to_dict()`` that exports use, checked."""
    if not isinstance(answer, dict):
        raise InvalidExport(f"{where} must be an answer object")
    citations = answer.get("citations") or []
    notices = answer.get("notices") or []
    if not isinstance(citations, list) or not all(isinstance(c, dict) for c in citations):
        raise InvalidExport(f"{where}.citations must be a list of citation objects")
    if not isinstance(notices, list) or not all(isinstance(n, str) for n in notices):
        raise InvalidExport(f"{where}.notices must be a list of texts")
    refs = []
    for i, c in enumerate(citations):
        n = c.get("n", i + 1)
        if type(n) is not int:
            raise InvalidExport(f"{where}.citations[{i}].n must be a number")
        w = f"{where}.citations[{i}]"
        refs.append(
            RefView(
                n,
                _str(c, "doc_id", w),
                _str(c, "title", w),
                _str(c, "unit", w),
                _str(c, "locator", w),
                _str(c, "label", w),
                _str(c, "quote", w),
                _str(c, "status", w),
                _str(c, "issued", w),
                _str(c, "source_url", w),
            )
        )
    language = _str(answer, "language", where)
    return AnswerView(
        question=_str(answer, "question", where),
        lead=_str(answer, "lead", where).strip(),
        text=_str(answer, "text", where),
        refused=bool(answer.get("refused")),
        language="zh" if language == "zh" else "en",
        notices=[_CONTROL.sub("", n) for n in notices],
        citations=refs,
    )


def turns_view(turns: object, max_turns: int = 100) -> list[tuple[str, AnswerView]]:
    if not isinstance(turns, list) or not turns:
        raise InvalidExport("turns must be a non-empty list of {question, answer}")
    if len(turns) > max_turns:
        raise InvalidExport(f"too many turns ({len(turns)}; the limit is {max_turns})")
    out = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise InvalidExport(f"turns[{i}] must be an object with question and answer")
        view = answer_view(turn.get("answer"), f"turns[{i}].answer")
        question = _str(turn, "question", f"turns[{i}]") or view.question
        out.append((question.strip(), view))
    return out


# ---- pieces shared by the formats -----------------------------------------------------------------------
def _plain(markdown: str) -> str:
    """Markdown inline markup removed: **bold**, `code`, [text](url) -> text (url), heading and quote markers."""
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", markdown)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\((\S+?)\)", r"\1 (\2)", text)
    text = re.sub(r"(?m)^\s{0,3}#{1,6}\s+", "", text)
    text = re.sub(r"(?m)^\s{0,3}>\s?", "", text)
    return text.replace("**", "")


def prose(view: AnswerView) -> str:
    """What the answer says in its own words: the lead, else the text without quoted clauses, notices and
    document headings (extractive answers quote their clauses; those are listed separately)."""
    if view.lead:
        return view.lead
    kept = [
        line
        for line in view.text.splitlines()
        if not line.lstrip().startswith(">") and not re.fullmatch(r"\s*\*\*[^*]+\*\*(（[^）]*）| \([^)]*\))?\s*", line)
    ]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def clause_groups(view: AnswerView) -> list[tuple[str, list[RefView]]]:
    """The cited clauses grouped by document, in citation order: (document title, its citations)."""
    groups: dict[str, list[RefView]] = {}
    for ref in view.citations:
        groups.setdefault(ref.doc_id or ref.title, []).append(ref)
    return [(refs[0].title or key, refs) for key, refs in groups.items()]


def reference_line(ref: RefView, language: str) -> str:
    """[n] title, unit, issue date, status, official link."""
    sep = "，" if language == "zh" else ", "
    parts = [ref.title or ref.label, ref.locator or ref.unit]
    if ref.issued:
        parts.append(f"{ISSUED[language]} {ref.issued}" if language == "en" else f"{ISSUED[language]}：{ref.issued}")
    if ref.status:
        parts.append(STATUS[language].get(ref.status, ref.status))
    link = safe_link(ref.source_url)
    if link:
        parts.append(link)
    return f"[{ref.n}] " + sep.join(p for p in parts if p)


def _quote_lines(quote: str) -> list[str]:
    return [re.sub(r"^#{1,6}\s+", "", line).rstrip() for line in quote.strip().splitlines() if line.strip()]


# ---- plain text -----------------------------------------------------------------------------------------
def answer_as_text(answer: dict) -> str:
    """Copy-ready plain text of one answer: the lead, the clauses, then the full references."""
    view = answer_view(answer)
    lines = [_plain(prose(view)), ""]
    lines += [f"⚠ {_plain(n)}" for n in view.notices]  # shown as quotes in the text, which prose() leaves out
    if view.notices:
        lines.append("")
    for title, refs in clause_groups(view):
        lines.append(title)
        for ref in refs:
            quote = _quote_lines(ref.quote)
            lines += [f"  [{ref.n}] {quote[0] if quote else ''}"] + [f"      {q}" for q in quote[1:]]
        lines.append("")
    if view.citations:
        lines.append(REFERENCES[view.language])
        lines += [reference_line(ref, view.language) for ref in view.citations]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


# ---- Markdown -------------------------------------------------------------------------------------------
def _md(text: str) -> str:
    """Text safe inside Markdown: no HTML from it (``<`` escaped); line starts that would be markup escaped."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    text = re.sub(r"(?m)^(\s*)([#>\-+*])", r"\1\\\2", text)
    return re.sub(r"(?m)^(\s*\d+)([.)])", r"\1\\\2", text)  # "3." would start a numbered list


def _md_answer(view: AnswerView) -> list[str]:
    lines = [_md(_plain(prose(view))), ""]
    for notice in view.notices:
        lines += [f"> ⚠ {_md(_plain(notice))}", ""]
    for title, refs in clause_groups(view):
        lines += [f"**{_md(title)}**", ""]
        for ref in refs:
            quote = [_md(q) for q in _quote_lines(ref.quote)] or [""]
            quote[-1] += f" [{ref.n}]"
            lines += ["\n>\n".join(f"> {q}" for q in quote), ""]  # one quoted paragraph per line
    if view.citations:
        lines += [f"**{REFERENCES[view.language]}**", ""]
        for ref in view.citations:
            line = _md(reference_line(ref, view.language))
            link = safe_link(ref.source_url)
            if link:  # the URL as a real link (the escaped form above keeps &amp; in it)
                line = line.replace(_md(link), f"<{link}>")
            lines.append(f"- {line}")
        lines.append("")
    return lines


def conversation_language(views: list[tuple[str, AnswerView]]) -> str:
    return "zh" if sum(v.language == "zh" for _, v in views) * 2 > len(views) else "en"


def conversation_markdown(turns: list[dict], exported: datetime | None = None, max_turns: int = 100) -> str:
    """A conversation as a Markdown document: a title, the export date, then each turn."""
    views = turns_view(turns, max_turns)
    language = conversation_language(views)
    when = (exported or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M")
    lines = [f"# {TITLE[language]}", "", f"{EXPORTED[language]}: {when}", ""]
    for i, (question, view) in enumerate(views, 1):
        lines += [f"## {QUESTION[language]} {i}: {_md(question)}", ""]
        lines += _md_answer(view)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


# ---- DOCX -----------------------------------------------------------------------------------------------
def _add_hyperlink(paragraph, url: str, text: str) -> None:
    """A clickable external link (python-docx has no API for it: a w:hyperlink element with a relationship)."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    r_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    style = OxmlElement("w:rStyle")
    style.set(qn("w:val"), "Hyperlink")
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    color = OxmlElement("w:color")
    color.set(qn("w:val"), "0563C1")
    props.extend([style, color, underline])
    run.append(props)
    t = OxmlElement("w:t")
    t.text = text
    t.set(qn("xml:space"), "preserve")
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def _docx_answer(doc, view: AnswerView) -> None:
    doc.add_paragraph(_plain(prose(view)))
    for notice in view.notices:
        doc.add_paragraph().add_run("⚠ " + _plain(notice)).italic = True
    for title, refs in clause_groups(view):
        doc.add_heading(title, level=3)
        for ref in refs:
            doc.add_paragraph("\n".join(_quote_lines(ref.quote)) + f" [{ref.n}]", style="Quote")
    if view.citations:
        doc.add_heading(REFERENCES[view.language], level=2)
        for ref in view.citations:
            line = reference_line(ref, view.language)
            link = safe_link(ref.source_url)
            paragraph = doc.add_paragraph(style="List Bullet")
            if link and line.endswith(link):
                paragraph.add_run(line[: -len(link)])
                _add_hyperlink(paragraph, link, link)
            else:
                paragraph.add_run(line)


def conversation_docx(turns: list[dict], exported: datetime | None = None, max_turns: int = 100) -> bytes:
    """A conversation as a Word document: a title, the export date, a heading per question, the lead as a
    paragraph, the clauses as quotes, the references as a list with links."""
    from docx import Document

    views = turns_view(turns, max_turns)
    language = conversation_language(views)
    doc = Document()
    doc.add_heading(TITLE[language], level=0)
    when = (exported or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M")
    doc.add_paragraph(f"{EXPORTED[language]}: {when}")
    for i, (question, view) in enumerate(views, 1):
        doc.add_heading(f"{QUESTION[language]} {i}: {question}", level=1)
        _docx_answer(doc, view)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
