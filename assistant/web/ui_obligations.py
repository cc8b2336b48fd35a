"""The "Obligations / 义务清单" tab of the Gradio UI: pick role, jurisdictions, documents (and an as-of date), get
a checklist grouped by document and article — each item can show its clause text — and export it as CSV or
DOCX. The items come from ``assistant.obligations`` (the same function as the CLI and the API)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from assistant.obligations import (
    InvalidObligationQuery,
    ObligationQuery,
    checklist_html,
    parse_query,
    role_choices,
    to_csv,
    to_docx,
)
from assistant.service_holder import ServiceHolder
from ingest.store import IndexUnavailable

JURISDICTIONS = ["CN", "EU", "US", "KR", "INTL"]
CSS = """
.modality {padding: 0 6px; border-radius: 6px; font-size: 0.85em; color: #fff;}
.modality-obligation {background: #1565c0;} .modality-prohibition {background: #c62828;}
.modality-permission {background: #2e7d32;}
#obligations-list {max-height: 900px; overflow-y: auto;}
"""


def obligations_tab(demo: gr.Blocks, holder: ServiceHolder, find: Callable[[ObligationQuery], list[dict]]) -> None:
    """Build the tab inside ``demo`` (being built); ``find(ObligationQuery) -> items``."""
    with gr.Tab("Obligations / 义务清单", elem_id="obligations-tab"):
        gr.HTML(f"<style>{CSS}</style>")
        with gr.Row():
            role = gr.Dropdown(role_choices(), label="Role / 角色", value=None, elem_id="obligations-role")
            jurisdiction = gr.Dropdown(
                JURISDICTIONS, multiselect=True, label="Jurisdiction / 法域", elem_id="obligations-jurisdiction"
            )
            documents = gr.Dropdown([], multiselect=True, label="Documents / 文件", elem_id="obligations-documents")
            as_of = gr.Textbox(label="As of / 截至 (YYYY-MM-DD, optional)", elem_id="obligations-as-of")
        build = gr.Button("Build checklist / 生成清单", variant="primary", elem_id="obligations-build")
        status = gr.Markdown(elem_id="obligations-status")
        with gr.Row():
            csv_file = gr.DownloadButton("Export CSV / 导出 CSV", visible=False, elem_id="obligations-csv")
            docx_file = gr.DownloadButton("Export DOCX / 导出 DOCX", visible=False, elem_id="obligations-docx")
        checklist = gr.HTML(elem_id="obligations-list")

    def document_choices():
        index = holder.get().retriever.index
        return gr.update(
            choices=[(f"{d.title} ({d.doc_id})", d.doc_id) for d in sorted(index.docs.values(), key=lambda d: d.doc_id)]
        )

    def clause_text(doc_id: str, unit: str) -> str:
        index = holder.get().retriever.index
        return "\n\n".join(index.texts[i] for i in index.rows_of_unit(doc_id, unit))

    def run(role_value, jurisdictions, docs, date_text):
        hidden = gr.update(visible=False)
        try:
            query = parse_query(docs or [], [role_value] if role_value else [], jurisdictions or [], date_text)
            items = find(query)
        except (InvalidObligationQuery, IndexUnavailable) as exc:
            return f"⚠ {exc}", "", hidden, hidden
        folder = Path(tempfile.mkdtemp(prefix="regqa-obligations-"))
        (folder / "obligations.csv").write_text(to_csv(items), encoding="utf-8-sig")  # BOM: Excel reads UTF-8
        to_docx(items, folder / "obligations.docx")
        return (
            f"{len(items)} items / 条",
            checklist_html(items, clause_text),
            gr.update(value=str(folder / "obligations.csv"), visible=bool(items)),
            gr.update(value=str(folder / "obligations.docx"), visible=bool(items)),
        )

    build.click(run, [role, jurisdiction, documents, as_of], [status, checklist, csv_file, docx_file])
    demo.load(document_choices, None, documents)
