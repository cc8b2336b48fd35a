"""The Gradio UI (mounted at ``/`` by ``assistant.web.app``).

Chat tab: answers stream in and then show as cards (lead first, full clauses collapsed, inline [n] opening the
clause in a side panel / phone bottom sheet, each answer keeping its own sources), follow-up chips, feedback,
copy and export; example questions by role and jurisdiction. Documents tab: the indexed documents (narrowed by
the jurisdiction filter), the timeline, uploads and removal (with a confirmation step).
The HTML is built in ``chat_view`` / ``documents_view`` (escaped); the browser side is ``resources/chat.js``."""

from __future__ import annotations

import contextlib
import html
import json
import shutil
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import gradio as gr

from assistant import export
from assistant.answering.models import Answer, InvalidQuestion, recent_history
from assistant.documents import IngestJobs, UploadError, remove_upload, save_upload, uploaded_documents
from assistant.feedback import FeedbackStore
from assistant.obligations import ObligationQuery
from assistant.security import AccessControl
from assistant.service_holder import ServiceHolder
from assistant.timeline import KIND_LABELS, docs_from_metadata, timeline_rows
from assistant.web.chat_view import clause_html, clause_panel_html, conversation_html
from assistant.web.documents_view import document_rows, documents_table_html
from assistant.web.ui_obligations import obligations_tab
from ingest.catalog import load_catalog
from ingest.store import IndexUnavailable

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
JURISDICTIONS = ["CN", "EU", "US", "KR", "INTL"]
PLACEHOLDER = "Ask a question — Enter sends, Shift+Enter adds a line / 输入问题：回车发送，Shift+回车换行"
EXPORT_MAX_AGE_S = 3600
RATINGS = {"up": 1, "down": -1}  # the buttons -> the store's ratings
MAX_COMMENT_CHARS = 1000

clause_panel = clause_html  # older imports


def as_text(markdown: str) -> str:
    """Text for a surface that renders Markdown: document text may hold HTML (``<img src=…>``), which must show
    as text, never become an element the browser loads."""
    return markdown.replace("&", "&amp;").replace("<", "&lt;")


# ---- data: example questions --------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def example_data() -> dict:
    with open(RESOURCES / "examples.toml", "rb") as handle:
        return tomllib.load(handle)


def role_choices() -> list[tuple[str, str]]:
    return [(label, key) for key, label in example_data()["roles"].items()]


def examples_html(role: str, jurisdictions: list[str] | None) -> str:
    """Example chips for the role, narrowed to the chosen jurisdictions (all when none is chosen)."""
    items = [
        e
        for e in example_data()["example"]
        if e["role"] == role and (not jurisdictions or e["jurisdiction"] in jurisdictions)
    ]
    chips = "".join(
        f'<button type="button" class="chip example" data-question="{html.escape(e["question"])}" '
        f'data-jurisdiction="{html.escape(e["jurisdiction"])}">{html.escape(e["question"])}</button>'
        for e in items
    )
    return (
        f'<p class="muted">Examples / 示例问题</p><div class="chips">{chips}</div>'
        if chips
        else '<p class="muted">No example for this filter. / 此筛选下没有示例。</p>'
    )


# ---- the conversation -------------------------------------------------------------------------------------------
def answered(turns: list[dict]) -> list[dict]:
    """The turns that got an answer, as the export functions take them."""
    return [{"question": t["question"], "answer": t["answer"]} for t in turns if "answer" in t]


def history_of(turns: list[dict]) -> list[dict]:
    """The conversation as the answer service reads it (derived from the shown turns: one reset clears both)."""
    history = []
    for t in answered(turns):
        history += [{"role": "user", "content": t["question"]}, {"role": "assistant", "content": t["answer"]["text"]}]
    return history


def render(turns: list[dict], pending: tuple[str, str] | None = None) -> str:
    copies = [export.answer_as_text(t["answer"]) if "answer" in t else "" for t in turns]
    return conversation_html(turns, copies, pending)


def _prune_exports(root: Path) -> None:
    for old in root.glob("regqa-export-*"):
        try:
            if time.time() - old.stat().st_mtime > EXPORT_MAX_AGE_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass


def export_updates(turns: list[dict]) -> tuple:
    """Download-button updates: the conversation as Markdown and as DOCX (none while nothing is answered)."""
    records = answered(turns)
    if not records:
        return gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
    root = Path(tempfile.gettempdir())
    _prune_exports(root)
    folder = Path(tempfile.mkdtemp(prefix="regqa-export-", dir=root))
    md = folder / "regqa-conversation.md"
    md.write_text(export.conversation_markdown(records), encoding="utf-8")
    docx = folder / "regqa-conversation.docx"
    docx.write_bytes(export.conversation_docx(records))
    return gr.update(value=str(md), interactive=True), gr.update(value=str(docx), interactive=True)


def respond(holder: ServiceHolder, text, turns, juris, docs, day):
    """Stream one answer into the conversation; yields (conversation html, turns, question box, md, docx)."""
    turns = list(turns or [])
    text = text or ""
    unchanged = gr.update()
    try:
        service = holder.get()
        settings = service.settings
        history = recent_history(history_of(turns), settings.max_history_turns, settings.max_history_chars)
        stream = service.stream(
            text, filters={"jurisdiction": juris or [], "doc_id": docs or []}, history=history, as_of=day or None
        )
        final: Answer | None = None
        streamed = ""
        for event in stream:
            if isinstance(event, Answer):
                final = event
                break
            streamed += event
            yield render(turns, (text, streamed)), turns, "", unchanged, unchanged
    except (InvalidQuestion, IndexUnavailable) as exc:
        turns.append({"question": text, "error": str(exc)})
        yield render(turns), turns, text, unchanged, unchanged
        return
    assert final is not None, "the answer stream ends with the Answer"
    turns.append({"question": text, "answer": final.to_dict()})
    yield render(turns), turns, "", *export_updates(turns)


def reset():
    """A new conversation: the screen, the history (the turns) and the exports are cleared together."""
    return (render([]), [], "", *export_updates([]))


def store_feedback(holder: ServiceHolder, payload: str, turns: list[dict]) -> list[dict]:
    """A thumbs up/down (and optional comment) on one of this conversation's answers → the feedback store."""
    try:
        data = json.loads(payload or "{}")
    except json.JSONDecodeError:
        return turns
    rating, comment = data.get("rating"), str(data.get("comment") or "")[:MAX_COMMENT_CHARS]
    turn = next((t for t in turns or [] if "answer" in t and t["answer"]["answer_id"] == data.get("answer_id")), None)
    if turn is None or rating not in RATINGS:
        return turns
    answer = turn["answer"]
    FeedbackStore(holder.get().settings).add_rating(
        answer["answer_id"],
        RATINGS[rating],
        comment,
        turn["question"],
        export.answer_as_text(answer),
        [c["label"] for c in answer["citations"] or answer["related"]],
        answer["refused"],
        answer["language"],
    )
    turn["rating"] = rating
    return turns


# ---- layout -----------------------------------------------------------------------------------------------------
@dataclass
class ChatTab:
    turns: gr.State
    conversation: gr.HTML
    question: gr.Textbox
    send: gr.Button
    clear: gr.Button
    export_md: gr.DownloadButton
    export_docx: gr.DownloadButton
    role: gr.Radio
    examples: gr.HTML
    mode: gr.Markdown
    as_of: gr.Textbox
    jurisdiction: gr.Dropdown
    documents: gr.Dropdown
    feedback_payload: gr.Textbox
    feedback_send: gr.Button


def chat_tab() -> ChatTab:
    turns = gr.State([])  # [{"question", "answer": Answer.to_dict(), "rating"?} | {"question", "error"}]
    with gr.Row(elem_id="chat-row"):
        with gr.Column(scale=3, min_width=320, elem_id="chat-column"):
            conversation = gr.HTML(render([]), elem_id="chatbot", js_on_load=(RESOURCES / "chat.js").read_text())
            with gr.Group(elem_id="composer"):
                question = gr.Textbox(
                    show_label=False, placeholder=PLACEHOLDER, lines=1, max_lines=6, elem_id="question", autofocus=True
                )
                with gr.Row(elem_classes="composer-buttons"):
                    send = gr.Button("Ask / 提问", variant="primary", elem_id="send", scale=2)
                    clear = gr.Button("New chat / 新对话", elem_id="clear", scale=1)
                    gr.Button("Filters / 筛选", elem_id="filters-toggle", scale=1)
            with gr.Row(elem_id="export-row"):
                gr.Button("Copy conversation / 复制对话", elem_id="copy-conversation", size="sm")
                export_md = gr.DownloadButton(
                    "Export Markdown / 导出", elem_id="export-md", size="sm", interactive=False
                )
                export_docx = gr.DownloadButton(
                    "Export Word (DOCX) / 导出 Word", elem_id="export-docx", size="sm", interactive=False
                )
            role = gr.Radio(role_choices(), value="compliance", label="I work in / 我的角色", elem_id="role")
            examples = gr.HTML(examples_html("compliance", []), elem_id="examples", js_on_load=None)
        with gr.Column(scale=2, min_width=300, elem_id="side"):
            with gr.Group(elem_id="filters"):
                mode = gr.Markdown(elem_id="mode")
                as_of = gr.Textbox(
                    label="As of / 截至日期 (YYYY-MM-DD, empty = today)",
                    max_lines=1,
                    placeholder=date.today().isoformat(),
                    elem_id="as-of",
                )
                jurisdiction = gr.Dropdown(
                    JURISDICTIONS, multiselect=True, label="Jurisdiction / 法域", elem_id="jurisdiction"
                )
                documents = gr.Dropdown([], multiselect=True, label="Documents / 文件", elem_id="documents")
            gr.HTML(clause_panel_html(), elem_id="clause-panel", js_on_load=None)
    feedback_payload = gr.Textbox(visible="hidden", elem_id="feedback-payload")
    feedback_send = gr.Button(visible="hidden", elem_id="feedback-send")
    return ChatTab(
        turns,
        conversation,
        question,
        send,
        clear,
        export_md,
        export_docx,
        role,
        examples,
        mode,
        as_of,
        jurisdiction,
        documents,
        feedback_payload,
        feedback_send,
    )


def wire_chat(holder: ServiceHolder, tab: ChatTab) -> None:
    inputs = [tab.question, tab.turns, tab.jurisdiction, tab.documents, tab.as_of]
    outputs = [tab.conversation, tab.turns, tab.question, tab.export_md, tab.export_docx]

    def ask(text, turns, juris, docs, day):
        yield from respond(holder, text, turns, juris, docs, day)

    # no progress overlay on the conversation: the streaming card shows the progress
    tab.send.click(ask, inputs, outputs, show_progress="hidden")
    tab.question.submit(ask, inputs, outputs, show_progress="hidden")
    tab.clear.click(reset, None, outputs)
    tab.feedback_send.click(
        lambda payload, turns: store_feedback(holder, payload, turns),
        [tab.feedback_payload, tab.turns],
        tab.turns,
        show_progress="hidden",
    )
    for trigger in (tab.role.change, tab.jurisdiction.change):
        trigger(examples_html, [tab.role, tab.jurisdiction], tab.examples)


@dataclass
class DocumentsTab:
    table: gr.HTML
    timeline: gr.Dataframe
    refresh: gr.Button
    upload: gr.File
    add: gr.Button
    removable: gr.Dropdown
    remove: gr.Button
    confirm: gr.Group
    confirm_text: gr.Markdown
    confirm_yes: gr.Button
    confirm_no: gr.Button
    status: gr.Markdown


def documents_tab(uploads_possible: bool) -> DocumentsTab:
    table = gr.HTML(elem_id="documents-table", js_on_load=None)
    gr.Markdown("**Timeline / 时间线** — when provisions start to apply and when texts stop applying")
    timeline = gr.Dataframe(
        headers=["date", "doc_id", "jurisdiction", "milestone", "provisions"],
        interactive=False,
        elem_id="timeline-table",
    )
    refresh = gr.Button("Refresh / 刷新")
    if not uploads_possible:
        gr.Markdown(
            "Adding and removing documents is off in open mode (no sign-in): an administrator "
            "can turn it on with `REGQA_OPEN_UPLOADS=true` or by setting up accounts. / "
            "未启用登录时不能上传或删除文件。",
            elem_id="uploads-off",
        )
    with gr.Row(visible=uploads_possible):
        with gr.Column():
            upload = gr.File(
                label="Add documents (md, txt, html, pdf, docx) / 上传文件",
                file_count="multiple",
                file_types=[".md", ".txt", ".html", ".htm", ".pdf", ".docx"],
                elem_id="upload",
            )
            add = gr.Button("Add to index / 加入索引", variant="primary", elem_id="add-documents")
        with gr.Column():
            removable = gr.Dropdown([], label="Uploaded documents / 已上传文件", elem_id="removable")
            remove = gr.Button("Remove… / 删除…", variant="stop", elem_id="remove-document")
            with gr.Group(visible=False, elem_id="remove-confirm") as confirm:
                confirm_text = gr.Markdown(elem_id="remove-question")
                with gr.Row():
                    confirm_yes = gr.Button("Yes, remove / 确认删除", variant="stop", elem_id="remove-yes")
                    confirm_no = gr.Button("Cancel / 取消", elem_id="remove-cancel")
    status = gr.Markdown(elem_id="manage-status")
    return DocumentsTab(
        table, timeline, refresh, upload, add, removable, remove, confirm, confirm_text, confirm_yes, confirm_no, status
    )


class DocumentActions:
    """The Documents tab's handlers (listing, timeline, uploads, removal), over the app's answer service."""

    def __init__(self, holder: ServiceHolder, access: AccessControl, jobs: IngestJobs) -> None:
        self.holder, self.access, self.jobs = holder, access, jobs

    def table(self, jurisdictions=None) -> str:
        service = self.holder.get()
        rows = document_rows(
            service.retriever.index,
            load_catalog(service.settings.catalog_path),
            set(uploaded_documents(service.settings)),
            jurisdictions or [],
        )
        return documents_table_html(rows, jurisdictions or [])

    def timeline(self, jurisdictions=None) -> list[list]:
        docs = docs_from_metadata(self.holder.get().retriever.index.metas)
        return [
            [r.day or "—", r.doc_id, r.jurisdiction, KIND_LABELS.get(r.kind, r.kind), r.provisions]
            for r in timeline_rows(docs)
            if not jurisdictions or r.jurisdiction in jurisdictions
        ]

    def uploaded_choices(self):
        return gr.update(choices=sorted(uploaded_documents(self.holder.get().settings)), value=None)

    def allowed(self, request: gr.Request) -> bool:
        user = getattr(request, "username", None)
        return self.access.may_change_documents(self.access.principal(user) if user else None)

    def run_job(self, reason: str, progress) -> str:
        """Queue a re-index (one runs at a time) and show its progress until it ends."""
        job = self.jobs.submit(reason)
        while not job.finished.wait(0.5):
            progress((job.done / job.total) if job.total else 0, desc=f"{job.state} {job.stage}: {job.label}")
        if job.state == "failed":
            return f"⚠ {job.error}"
        self.holder.get().retriever.index.refresh()
        report = job.report
        assert report is not None, "a job that did not fail has its report"
        lines = [
            f"Added / 新增: {', '.join(report.added) or '—'}",
            f"Replaced / 更新: {', '.join(report.replaced) or '—'}",
            f"Removed / 删除: {', '.join(report.removed) or '—'}",
        ]
        return "\n\n".join(lines + [f"⚠ {f.path.name}: {f.reason}" for f in report.failed])

    def save_files(self, files) -> tuple[list[str], int]:
        settings = self.holder.get().settings
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
        return messages, stored


def wire_documents(actions: DocumentActions, tab: DocumentsTab, jurisdiction: gr.Dropdown) -> None:
    def add_documents(files, juris, request: gr.Request, progress=gr.Progress()):
        if not actions.allowed(request):
            return "⚠ Only an admin may add documents. / 仅管理员可以上传文件。", gr.update(), gr.update()
        if not files:
            return "⚠ Choose a file first. / 请先选择文件。", gr.update(), gr.update()
        messages, stored = actions.save_files(files)
        if stored:
            messages.append(actions.run_job("upload (UI)", progress))
        return "\n\n".join(messages), actions.table(juris), actions.uploaded_choices()

    def confirm_removal(doc_id):
        if not doc_id:
            return gr.update(visible=False), "", "⚠ Choose an uploaded document. / 请选择已上传的文件。"
        return (
            gr.update(visible=True),
            f"Remove **{doc_id}** and its clauses from the index? / 确认删除 **{doc_id}** 及其条款？",
            "",
        )

    def remove_document(doc_id, juris, request: gr.Request, progress=gr.Progress()):
        hide = gr.update(visible=False)
        if not actions.allowed(request):
            return "⚠ Only an admin may remove documents. / 仅管理员可以删除文件。", gr.update(), gr.update(), hide
        if not doc_id or not remove_upload(actions.holder.get().settings, doc_id):
            return "⚠ Choose an uploaded document. / 请选择已上传的文件。", gr.update(), gr.update(), hide
        status = actions.run_job(f"remove {doc_id} (UI)", progress)
        return status, actions.table(juris), actions.uploaded_choices(), hide

    tab.refresh.click(
        lambda juris: (actions.table(juris), actions.timeline(juris)), jurisdiction, [tab.table, tab.timeline]
    )
    jurisdiction.change(
        lambda juris: (actions.table(juris), actions.timeline(juris)), jurisdiction, [tab.table, tab.timeline]
    )
    tab.add.click(add_documents, [tab.upload, jurisdiction], [tab.status, tab.table, tab.removable])
    tab.remove.click(confirm_removal, tab.removable, [tab.confirm, tab.confirm_text, tab.status])
    tab.confirm_no.click(lambda: gr.update(visible=False), None, tab.confirm)
    tab.confirm_yes.click(
        remove_document, [tab.removable, jurisdiction], [tab.status, tab.table, tab.removable, tab.confirm]
    )


def build_ui(
    holder: ServiceHolder,
    access: AccessControl,
    jobs: IngestJobs,
    obligations: Callable[[ObligationQuery], list[dict]] | None = None,
) -> gr.Blocks:
    """``obligations(query) -> items`` (assistant.obligations) feeds the Obligations tab; None leaves it out."""
    uploads_possible = access.enabled or access.settings.open_uploads
    actions = DocumentActions(holder, access, jobs)
    # delete_cache: Gradio's temporary copies of uploads older than an hour go, checked every ten minutes
    with gr.Blocks(title="regqa — AI regulation Q&A", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        gr.HTML(f"<style>{(RESOURCES / 'chat.css').read_text()}</style>", js_on_load=None)
        gr.Markdown(
            "## AI-safety regulation Q&A · AI 安全法规问答\nAnswers quote the regulations and cite the exact "
            "clause. 回答引用法规原文并标注具体条款。",
            elem_id="masthead",
        )
        with gr.Tab("Chat / 问答"):
            chat = chat_tab()
        with gr.Tab("Documents / 文件库"):
            docs = documents_tab(uploads_possible)
        wire_chat(holder, chat)
        wire_documents(actions, docs, chat.jurisdiction)

        if obligations is not None:
            obligations_tab(demo, holder, obligations)

        def load():
            service = holder.get()
            settings = service.settings
            label = (
                "Mode: **extractive** (offline, verbatim clauses)"
                if settings.answer_mode != "generative"
                else f"Mode: **LLM** `{settings.llm_model}` at `{settings.llm_base_url}`"
            )
            choices = [
                (f"{d.title} ({d.doc_id})", d.doc_id)
                for d in sorted(service.retriever.index.docs.values(), key=lambda d: d.doc_id)
            ]
            return (label, gr.update(choices=choices), actions.table(), actions.uploaded_choices(), actions.timeline())

        demo.load(load, None, [chat.mode, chat.documents, docs.table, docs.removable, docs.timeline])
    return demo


def _forget(path) -> None:
    """Delete Gradio's temporary copy of an upload once it has been read (it would stay until the cache sweep)."""
    with contextlib.suppress(OSError):
        Path(path).unlink(missing_ok=True)
