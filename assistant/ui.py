"""The Gradio chat UI (mounted at ``/`` by ``assistant.web``): streaming answers, numbered citations that open
the full clause in a side panel, jurisdiction/document filters, examples, a Documents tab."""
from __future__ import annotations

import html
from datetime import date

import gradio as gr

from assistant.answer import Answer, Citation, InvalidQuestion, recent_history
from assistant.security import AccessControl, safe_link
from assistant.timeline import KIND_LABELS, docs_from_metadata, timeline_rows
from ingest.store import IndexUnavailable

EXAMPLES = [
    "生成式人工智能服务提供者对生成的图片、视频要做什么标识？",
    "深度合成服务提供者提供人脸编辑功能时需要取得谁的同意？",
    "What does Article 50 of the EU AI Act require for deepfakes?",
    "What are the four functions of the NIST AI RMF Core?",
]
JURISDICTIONS = ["CN", "EU", "US", "KR", "INTL"]

CSS = """
.status-revoked {color: #fff; background: #c62828; padding: 1px 8px; border-radius: 8px; font-weight: 600;}
.status-ok {color: #fff; background: #2e7d32; padding: 1px 8px; border-radius: 8px;}
#clause-panel {max-height: 640px; overflow-y: auto;}
"""


def citation_choice(c: Citation) -> str:
    return f"[{c.n}] {c.label}"


def applicability_line(c: Citation) -> str:
    """When the clause applies and whether it is in effect on the answer's as-of date (escaped HTML)."""
    if c.applies_condition:
        when = f"not in effect / 尚未生效: {c.applies_condition}"
    else:
        when = f"Applies from / 适用日期: {c.applies_from or '—'}"
        if c.applies_until:
            when += f" · until / 至: {c.applies_until}"
        when += " · in effect / 有效" if c.in_effect else " · not in effect on the as-of date / 在所选日期尚未适用或已失效"
    note = f"<br>{html.escape(c.applies_note)}" if c.applies_note else ""
    return f'<p class="applicability" data-in-effect="{str(c.in_effect).lower()}">{html.escape(when)}{note}</p>'


def clause_panel(c: Citation | None) -> str:
    if c is None:
        return "*Click a citation to read the clause. / 点击引用查看条款原文。*"
    revoked = c.status in ("revoked", "superseded")
    badge = (f'<span class="status-revoked">已废止 / revoked</span>' if revoked
             else f'<span class="status-ok">{html.escape(c.status or "in force")}</span>')
    url = safe_link(c.source_url)
    link = f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{html.escape(url)}</a>' \
        if url else "—"
    body = html.escape(c.quote).replace("\n", "<br>")
    return (f'<div class="clause" data-citation="{c.n}"><h3>[{c.n}] {html.escape(c.label)}</h3>'
            f"<p>{badge}</p>"
            f"<p><b>{html.escape(c.title)}</b><br>{html.escape(c.path)}</p>"
            f"<p>Issued / 发布: {html.escape(c.issued or '—')} · Official text / 官方链接: {link}</p>"
            f"{applicability_line(c)}"
            f'<blockquote class="clause-text">{body}</blockquote></div>')


def as_text(markdown: str) -> str:
    """Answer text for the chat, which renders Markdown: document text may hold HTML (``<img src=…>``), which
    must show as text, never become an element the browser loads."""
    return markdown.replace("&", "&amp;").replace("<", "&lt;")


def build_ui(holder, access: AccessControl, jobs=None, obligations=None) -> gr.Blocks:
    """``obligations(query) -> items`` (assistant.obligations) feeds the Obligations tab; None leaves it out."""
    uploads_possible = access.enabled or access.settings.open_uploads
    # delete_cache: Gradio's temporary copies of uploads older than an hour go, checked every ten minutes
    with gr.Blocks(title="regqa — AI regulation Q&A", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        gr.HTML(f"<style>{CSS}</style>")
        gr.Markdown("## AI-safety regulation Q&A · AI 安全法规问答\nAnswers quote the regulations and cite the exact "
                    "clause. 回答引用法规原文并标注具体条款。")
        conversation = gr.State([])  # [{"role", "content"}] as the answer service sees it
        citations_state = gr.State([])
        with gr.Tab("Chat / 问答"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Conversation", height=520, buttons=["copy"], elem_id="chatbot")
                    question = gr.Textbox(label="Question / 问题", placeholder="例如：生成式AI服务需要备案吗？",
                                          lines=2, elem_id="question")
                    with gr.Row():
                        send = gr.Button("Ask / 提问", variant="primary", elem_id="send")
                        clear = gr.Button("Clear chat / 清空", elem_id="clear")
                    gr.Examples(EXAMPLES, inputs=question)
                with gr.Column(scale=2):
                    mode = gr.Markdown(elem_id="mode")
                    as_of = gr.Textbox(label="As of / 截至日期 (YYYY-MM-DD, empty = today)", max_lines=1,
                                       placeholder=date.today().isoformat(), elem_id="as-of")
                    jurisdiction = gr.Dropdown(JURISDICTIONS, multiselect=True, label="Jurisdiction / 法域",
                                               elem_id="jurisdiction")
                    documents = gr.Dropdown([], multiselect=True, label="Documents / 文件", elem_id="documents")
                    cited = gr.Radio([], label="Citations / 引用 (click to read)", elem_id="citations")
                    panel = gr.HTML(clause_panel(None), elem_id="clause-panel")
        with gr.Tab("Documents / 文件库"):
            table = gr.Dataframe(headers=["doc_id", "title", "jurisdiction", "status", "units", "chunks"],
                                 interactive=False, elem_id="documents-table")
            gr.Markdown("**Timeline / 时间线** — when provisions start to apply and when texts stop applying")
            timeline = gr.Dataframe(headers=["date", "doc_id", "jurisdiction", "milestone", "provisions"],
                                    interactive=False, elem_id="timeline-table")
            refresh = gr.Button("Refresh / 刷新")
            if not uploads_possible:
                gr.Markdown("Adding and removing documents is off in open mode (no sign-in): an administrator "
                            "can turn it on with `REGQA_OPEN_UPLOADS=true` or by setting up accounts. / "
                            "未启用登录时不能上传或删除文件。", elem_id="uploads-off")
            with gr.Row(visible=uploads_possible):
                with gr.Column():
                    upload = gr.File(label="Add documents (md, txt, html, pdf, docx) / 上传文件", file_count="multiple",
                                     file_types=[".md", ".txt", ".html", ".htm", ".pdf", ".docx"],
                                     elem_id="upload")
                    add = gr.Button("Add to index / 加入索引", variant="primary", elem_id="add-documents")
                with gr.Column():
                    removable = gr.Dropdown([], label="Uploaded documents / 已上传文件", elem_id="removable")
                    remove = gr.Button("Remove / 删除", variant="stop", elem_id="remove-document")
            manage_status = gr.Markdown(elem_id="manage-status")

        if obligations is not None:
            from assistant.ui_obligations import obligations_tab

            obligations_tab(demo, holder, obligations)

        def load():
            service = holder.get()
            index = service.retriever.index
            settings = service.settings
            label = ("Mode: **extractive** (offline, verbatim clauses)" if settings.answer_mode != "generative"
                     else f"Mode: **LLM** `{settings.llm_model}` at `{settings.llm_base_url}`")
            choices = [(f"{d.title} ({d.doc_id})", d.doc_id) for d in sorted(index.docs.values(),
                                                                             key=lambda d: d.doc_id)]
            return label, gr.update(choices=choices), document_rows(), uploaded_choices(), timeline_table()

        def timeline_table():
            docs = docs_from_metadata(holder.get().retriever.index.metas)
            return [[r.day or "—", r.doc_id, r.jurisdiction, KIND_LABELS.get(r.kind, r.kind), r.provisions]
                    for r in timeline_rows(docs)]

        def document_rows():
            index = holder.get().retriever.index
            counts: dict[str, int] = {}
            for m in index.metas:
                counts[m["doc_id"]] = counts.get(m["doc_id"], 0) + 1
            return [[d.doc_id, d.title, d.jurisdiction, d.status, len(d.units), counts.get(d.doc_id, 0)]
                    for d in sorted(index.docs.values(), key=lambda d: d.doc_id)]

        def uploaded_choices():
            from assistant.documents import uploaded_documents

            return gr.update(choices=sorted(uploaded_documents(holder.get().settings)), value=None)

        def after_change(report) -> str:
            service = holder.get()
            service.retriever.index.refresh()
            lines = [f"Added / 新增: {', '.join(report.added) or '—'}",
                     f"Replaced / 更新: {', '.join(report.replaced) or '—'}",
                     f"Removed / 删除: {', '.join(report.removed) or '—'}"]
            lines += [f"⚠ {f.path.name}: {f.reason}" for f in report.failed]
            return "\n\n".join(lines)

        def allowed(request: gr.Request) -> bool:
            user = getattr(request, "username", None)
            return access.may_change_documents(access.principal(user) if user else None)

        def run_job(reason: str, progress) -> str:
            """Queue a re-index (one runs at a time) and show its progress until it ends."""
            job = jobs.submit(reason)
            while not job.finished.wait(0.5):
                progress((job.done / job.total) if job.total else 0, desc=f"{job.state} {job.stage}: {job.label}")
            if job.state == "failed":
                return f"⚠ {job.error}"
            return after_change(job.report)

        def add_documents(files, request: gr.Request, progress=gr.Progress()):
            from assistant.documents import UploadError, save_upload

            if not allowed(request):
                return "⚠ Only an admin may add documents. / 仅管理员可以上传文件。", gr.update(), gr.update()
            if not files:
                return "⚠ Choose a file first. / 请先选择文件。", gr.update(), gr.update()
            settings = holder.get().settings
            messages, stored = [], 0
            for f in files:
                path = getattr(f, "name", f)
                original = getattr(f, "orig_name", None) or str(path).rsplit("/", 1)[-1]
                try:
                    with open(path, "rb") as handle:
                        data = handle.read(int(settings.upload_max_mb * 1024 * 1024) + 1)
                    save_upload(settings, original, data)
                    stored += 1
                except (UploadError, OSError) as exc:
                    messages.append(f"⚠ {original}: {exc}")
                finally:
                    _forget(path)
            if stored:
                messages.append(run_job("upload (UI)", progress))
            return "\n\n".join(messages), document_rows(), uploaded_choices()

        def remove_document(doc_id, request: gr.Request, progress=gr.Progress()):
            from assistant.documents import remove_upload

            if not allowed(request):
                return "⚠ Only an admin may remove documents. / 仅管理员可以删除文件。", gr.update(), gr.update()
            if not doc_id or not remove_upload(holder.get().settings, doc_id):
                return "⚠ Choose an uploaded document. / 请选择已上传的文件。", gr.update(), gr.update()
            return run_job(f"remove {doc_id} (UI)", progress), document_rows(), uploaded_choices()

        def respond(text, chat, conv, juris, docs, day):
            chat = list(chat or [])
            text = text or ""
            service = holder.get()
            filters = {"jurisdiction": juris or [], "doc_id": docs or []}
            settings = service.settings
            try:
                stream = service.stream(text, filters=filters, history=recent_history(
                    conv, settings.max_history_turns, settings.max_history_chars), as_of=day or None)
                chat.append({"role": "user", "content": as_text(text)})
                chat.append({"role": "assistant", "content": ""})
                final: Answer | None = None
                streamed = ""
                for event in stream:
                    if isinstance(event, Answer):
                        final = event
                        break
                    streamed += event
                    chat[-1] = {"role": "assistant", "content": as_text(streamed)}
                    yield chat, conv, gr.update(), gr.update(), "", gr.update()
            except (InvalidQuestion, IndexUnavailable) as exc:
                chat.append({"role": "assistant", "content": f"⚠ {exc}"})
                yield chat, conv, gr.update(), gr.update(), text, gr.update()
                return
            cites = final.citations or final.related
            shown = final.text
            if final.citations:
                shown += "\n\n" + "\n".join(f"[{c.n}] {c.label}" for c in final.citations)
            chat[-1] = {"role": "assistant", "content": as_text(shown)}
            conv = conv + [{"role": "user", "content": text}, {"role": "assistant", "content": final.text}]
            choices = [citation_choice(c) for c in cites]
            yield (chat, conv, gr.update(choices=choices, value=None,
                                         label="Citations / 引用" if final.citations else
                                         "Possibly related / 可能相关"),
                   clause_panel(None), "", [c.to_dict() for c in cites])

        def open_citation(choice, cites):
            for c in cites or []:
                if choice and choice.startswith(f"[{c['n']}] "):
                    return clause_panel(Citation(**c))
            return clause_panel(None)

        outputs = [chatbot, conversation, cited, panel, question, citations_state]
        inputs = [question, chatbot, conversation, jurisdiction, documents, as_of]
        send.click(respond, inputs, outputs)
        question.submit(respond, inputs, outputs)
        clear.click(lambda: ([], [], gr.update(choices=[], value=None), clause_panel(None), []),
                    None, [chatbot, conversation, cited, panel, citations_state])
        cited.change(open_citation, [cited, citations_state], panel)
        refresh.click(lambda: (document_rows(), timeline_table()), None, [table, timeline])
        add.click(add_documents, upload, [manage_status, table, removable])
        remove.click(remove_document, removable, [manage_status, table, removable])
        demo.load(load, None, [mode, documents, table, removable, timeline])
    return demo


def _forget(path) -> None:
    """Delete Gradio's temporary copy of an upload once it has been read (it would stay until the cache sweep)."""
    from pathlib import Path

    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass
