"""Assertions about answers that several test modules share (grounding of citations and of extractive text)."""

from __future__ import annotations

import re

from assistant.answering.models import Answer

CITATION_MARK = re.compile(r"\[(\d{1,3})\]")
NOTICE_LINE = re.compile(r"^> ⚠ ")


def assert_citations_grounded(answer: Answer) -> None:
    """Every citation is a retrieved clause, quoted verbatim, numbered as shown."""
    retrieved = {c.chunk_id: c for c in answer.retrieved}
    assert len({c.n for c in answer.citations}) == len(answer.citations), "citation numbers repeat"
    for cit in answer.citations:
        assert cit.chunk_id in retrieved, f"[{cit.n}] {cit.label} was not retrieved"
        clause = retrieved[cit.chunk_id]
        assert cit.quote == clause.text, f"[{cit.n}] is not the clause text verbatim"
        assert (cit.doc_id, cit.unit, cit.locator) == (clause.doc_id, clause.unit, clause.locator)
        assert "cross_reference" not in clause.signals, "an unranked cross-reference was cited"
        assert cit.source_url and cit.label
        assert cit.status == clause.status


def body(text: str) -> str:
    """An answer's text without its notice lines (``> ⚠ …``, which may name removed citations like [9])."""
    return "\n".join(line for line in text.splitlines() if not NOTICE_LINE.match(line))


def assert_markers_match_citations(answer: Answer) -> None:
    """Every [n] in the text (notices aside) is a citation, and every citation is referred to in the text."""
    shown = {int(n) for n in CITATION_MARK.findall(body(answer.text))}
    numbers = {c.n for c in answer.citations}
    assert shown <= numbers, f"markers {sorted(shown - numbers)} refer to no citation"
    assert numbers <= shown, f"citations {sorted(numbers - shown)} are never referred to"


def unquoted_lines(text: str) -> list[str]:
    """The lines of the Markdown block quotes of an answer (notices excluded), without the '> ' marker."""
    out = []
    for line in text.splitlines():
        if line.startswith(">") and not NOTICE_LINE.match(line):
            out.append(line[2:] if line.startswith("> ") else line[1:])
    return out


def _heading_as_bold(line: str) -> str:
    return re.sub(r"^#{1,6}\s+(.*)$", r"**\1**", line)


def assert_extractive(answer: Answer) -> None:
    """An extractive answer: cited clauses verbatim, nothing said that is not in a source.

    The text is: optional notices (``> ⚠ …``), one lead line naming the provisions, then per document a bold
    heading and the cited clauses as block quotes, each ending with its ``[n]``.
    """
    assert answer.mode == "extractive" and not answer.refused
    assert answer.citations, "an extractive answer without citations"
    assert_citations_grounded(answer)
    assert_markers_match_citations(answer)
    quoted = unquoted_lines(answer.text)
    body = "\n".join(quoted)
    for cit in answer.citations:
        lines = [_heading_as_bold(line) for line in cit.quote.strip().splitlines()]
        block = "\n".join(line if line.strip() else "" for line in lines) + f" [{cit.n}]"
        assert block in body, f"[{cit.n}] {cit.label}: the clause text is not quoted verbatim"
    allowed = set()
    for cit in answer.citations:
        allowed |= {_heading_as_bold(line) for line in cit.quote.strip().splitlines()}
    for line in quoted:
        line = CITATION_MARK.sub("", line).rstrip()
        assert not line.strip() or line in allowed, f"quoted line not from any cited clause: {line!r}"
    assert_lead_quotes_citations(answer)
    # every line outside the quotes is a notice, the answer's lead, the line naming the provisions, a document
    # heading or blank
    titles_seen = 0
    lead_seen = False
    lead_lines = set(answer.lead.splitlines())
    for line in answer.text.splitlines():
        if not line.strip() or line.startswith(">") or line in lead_lines:
            continue
        if line.startswith("**") and line.rstrip().endswith(("**", "）", ")")):
            titles_seen += 1
            continue
        assert not lead_seen, f"unexpected line in an extractive answer: {line!r}"
        lead_seen = True
    assert lead_seen and titles_seen == len({c.doc_id for c in answer.citations})


LEAD_SENTENCE = re.compile(r"(.+?)\s?\[(\d{1,3})\]")


def assert_lead_quotes_citations(answer: Answer) -> None:
    """Every sentence of the extractive lead is verbatim text of the citation whose [n] it carries."""
    quotes = {c.n: c.quote for c in answer.citations}
    sentence_lead = [line for line in answer.lead.splitlines() if not line.startswith(("**", "适用日期"))]
    for line in sentence_lead:
        line = (
            re.sub(r"^[^：:\[]{1,40}[：:]\s?(?=\S)", "", line, count=1)
            if not line.startswith(tuple(q[:3] for q in quotes.values()))
            else line
        )  # the key value put in front ("十个工作日内：")
        for m in LEAD_SENTENCE.finditer(line):
            sentence, n = m.group(1).strip(), int(m.group(2))
            assert n in quotes, f"lead cites [{n}], which is no citation"
            assert (
                sentence in quotes[n]
                or sentence.split("：", 1)[-1] in quotes[n]
                or sentence.split(": ", 1)[-1] in quotes[n]
            ), f"lead sentence not in [{n}]: {sentence!r}"


def lead_line(answer: Answer) -> str:
    """The line naming the quoted provisions: the first line that is neither a notice nor the answer's lead."""
    lead_lines = set(answer.lead.splitlines())
    for line in answer.text.splitlines():
        if line.strip() and not NOTICE_LINE.match(line) and line not in lead_lines:
            return line
    return ""
