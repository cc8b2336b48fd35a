"""STAND-IN (branch ui13): minimal versions of the export functions that branch backend13 writes; replaced at merge."""
from __future__ import annotations

import io


def answer_as_text(answer: dict) -> str:
    refs = [f"[{c['n']}] {c['label']} — {c.get('source_url') or c.get('title', '')}" for c in answer["citations"]]
    return answer["text"].rstrip() + ("\n\nReferences:\n" + "\n".join(refs) if refs else "") + "\n"


def conversation_markdown(turns: list[dict]) -> str:
    return "\n\n".join(f"## {t['question']}\n\n{answer_as_text(t['answer'])}" for t in turns)


def conversation_docx(turns: list[dict]) -> bytes:
    from docx import Document

    doc = Document()
    for t in turns:
        doc.add_heading(t["question"], level=2)
        for line in answer_as_text(t["answer"]).splitlines():
            doc.add_paragraph(line)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
