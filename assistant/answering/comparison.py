"""The opening of a comparison answer: "Comparison of A and B:", then a Markdown table, one row per aspect asked about
(``resources/comparison.toml``), each cell a verbatim sentence of that side's clause with its [n]. The sides
themselves are found at retrieval (``assistant/retrieval/comparison.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.answering.models import Citation
from assistant.answering.naming import join_en
from assistant.retrieval.comparison import Aspect, Side, policy, side_of

_SENTENCE = re.compile(r"[^。；;!?！？\n]+(?:[。；;!?！？]|\.(?=\s)|$)")


_UNIT_LABEL = re.compile(r"^(第[一二三四五六七八九十百零]+条|Article \d+\w*( —[^\n]*)?|\(\d+\)|\d+\.)\s*")


def key_sentence(text: str, aspect: Aspect | None, limit: int | None = None) -> str:
    """The sentence of a clause that uses the aspect's words most (else its first sentence), verbatim but for
    the unit label in front, shortened to ``limit`` characters (default: the policy's ``key_sentence_chars``)."""
    limit = policy().key_sentence_chars if limit is None else limit
    body = re.sub(r"(?m)^#+\s.*$", "", text)
    sentences = [_UNIT_LABEL.sub("", s.strip()) for s in _SENTENCE.findall(body)]
    sentences = [s for s in sentences if len(s) >= policy().min_sentence_chars]
    if not sentences:
        return ""
    hits = [len(aspect.clause.findall(s)) if aspect else 0 for s in sentences]
    chosen = sentences[hits.index(max(hits))]
    chosen = re.sub(r"\s+", " ", chosen)
    return chosen if len(chosen) <= limit else chosen[: limit - 1] + "…"


def side_name(side: Side, title_of: Callable[[str], str], language: str) -> str:
    if side.doc_ids:
        return " / ".join(title_of(d) for d in side.doc_ids)
    names = policy().jurisdiction_names.get(side.jurisdiction, {})
    return names.get(language, side.jurisdiction)


def comparison_table(question: str, language: str, names: list[str], cells: list[list[tuple[str, int]]]) -> str:
    """A Markdown table: a header with the side names, one row per aspect the question asks about.
    ``cells[side]`` = [(clause text, citation number)] of that side, best first."""
    asked = [a for a in policy().aspects if a.question.search(question)]
    rows: list[Aspect | None] = list(asked) or [None]
    header = "方面" if language == "zh" else "Aspect"
    lines = ["| " + " | ".join([header, *names]) + " |", "|" + "---|" * (len(names) + 1)]
    for aspect in rows:
        label = aspect.name[language] if aspect else ("各自规定" if language == "zh" else "What each text says")
        row = [label]
        for side_cells in cells:
            if not side_cells:
                row.append("—")
                continue
            text, n = next(((t, n) for t, n in side_cells if aspect and aspect.clause.search(t)), side_cells[0])
            sentence = key_sentence(text, aspect).replace("|", "\\|")
            row.append(f"“{sentence}” [{n}]")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def comparison_opening(
    question: str, language: str, names: list[str], sides: list[Side], citations: list[Citation]
) -> list[str]:
    """The lines that open a comparison answer: "Comparison of A and B:", the table (a verbatim sentence per side
    and aspect), and the sides no clause was found for; the clauses themselves follow."""
    cells: list[list[tuple[str, int]]] = [[] for _ in sides]
    for cit in citations:
        n = side_of(cit.doc_id, cit.jurisdiction, sides)
        if n is not None:
            cells[n].append((cit.quote, cit.n))
    lead = ("对比" + "与".join(names) + "：") if language == "zh" else f"Comparison of {join_en(names)}:"
    missing = [names[n] for n, side_cells in enumerate(cells) if not side_cells]
    lines = [lead, "", comparison_table(question, language, names, cells), ""]
    if missing:
        lines += [
            ("语料中未找到以下一方的相关条款：" if language == "zh" else "No clause was found for: ")
            + ", ".join(missing),
            "",
        ]
    return lines
