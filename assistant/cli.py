"""The ``regqa`` command line."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from common.settings import Settings, get_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Compliance Q&A over AI-safety regulation, with clause-level citations.",
)
console = Console()
err_console = Console(stderr=True)
SHIPPED_RANKER_MODEL = Path(__file__).resolve().parent / "resources" / "ranker.txt"
SHIPPED_ANSWERABILITY_MODEL = Path(__file__).resolve().parent / "resources" / "answerability.json"
SHIPPED_LEAD_MODEL = Path(__file__).resolve().parent / "resources" / "lead_model.txt"


def _settings(**overrides) -> Settings:
    return get_settings().with_overrides(**overrides)


@app.command()
def ingest(
    corpus: Path | None = typer.Option(None, "--corpus", help="Corpus directory (default: setting corpus_dir)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop the index and start over."),
    enrich: bool = typer.Option(
        False,
        "--enrich",
        help="Have the configured LLM endpoint write search questions and paraphrases for units the shipped "
        "enrichment does not cover (cached by text hash).",
    ),
) -> None:
    """Load, split into clauses, embed and index the corpus (incremental)."""
    from ingest.llm import EnrichmentUnavailable, endpoint_ask
    from ingest.pipeline import run_ingest
    from ingest.store import IndexError_

    settings = _settings()
    if enrich:
        try:
            endpoint_ask(settings)
        except EnrichmentUnavailable as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    with Progress(
        TextColumn("[bold]{task.fields[stage]:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int, label: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(label, total=total, stage=stage)
            bar.update(tasks[stage], completed=done, total=total, description=label[:60])

        try:
            report = run_ingest(settings, corpus_dir=corpus, rebuild=rebuild, progress=progress, enrich=enrich)
        except IndexError_ as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None

    table = Table(title=f"Ingest of {(corpus or settings.corpus_dir)}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("details", overflow="fold")
    table.add_row("documents", str(report.documents), "")
    table.add_row("chunks in index", str(report.chunks), f"{report.embedded_chunks} embedded this run")
    table.add_row("added", str(len(report.added)), ", ".join(report.added))
    table.add_row("replaced", str(len(report.replaced)), ", ".join(report.replaced))
    table.add_row("skipped (unchanged)", str(len(report.skipped)), "")
    table.add_row("removed", str(len(report.removed)), ", ".join(report.removed))
    table.add_row("failed", str(len(report.failed)), "")
    if enrich:
        e = report.enrichment
        table.add_row("enriched units", str(e.generated), f"{e.cached} from cache, {e.failed} without a usable reply")
    console.print(table)
    for failure in report.failed:
        console.print(f"[red]FAILED[/red] {failure.path}: {failure.reason}")
    for doc_id, stale in sorted(report.stale_enrichment.items()):
        console.print(
            f"[yellow]note[/yellow] {doc_id}: {stale} enrichment entries not used: their unit's text changed "
            "(rewrite them for the new text)"
        )
    console.print(f"done in {report.seconds:.1f} s")
    if settings.wecom_webhook_url:  # optional: tell the WeCom group what changed
        from assistant.channels.wecom import notify_ingest

        if notify_ingest(settings, report):
            console.print("WeCom group notified of the changes.")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def docs() -> None:
    """List the documents in the index."""
    from ingest.store import ClauseStore, IndexError_

    settings = _settings()
    try:
        store = ClauseStore(settings)
    except IndexError_ as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    indexed = store.documents()
    if not indexed:
        console.print("The index is empty: run `regqa ingest`.")
        return
    table = Table(title=f"{len(indexed)} documents, {store.count()} chunks")
    for col in ("doc_id", "title", "jurisdiction", "status", "units", "chunks", "state"):
        table.add_column(col, overflow="fold")
    for d in sorted(indexed.values(), key=lambda d: d.doc_id):
        table.add_row(
            d.doc_id,
            d.title,
            d.jurisdiction,
            d.status,
            str(d.units),
            str(d.chunks_present),
            "ok" if d.complete else "[red]incomplete (re-run ingest)[/red]",
        )
    console.print(table)


def _service(settings: Settings, policy_file: Path | None = None, with_lead_model: bool = True):
    from assistant.answering.service import AnswerService
    from assistant.retrieval import HybridRetriever, PolicyError, load_policy
    from ingest.store import IndexError_

    try:
        retriever = HybridRetriever(settings, policy=load_policy(policy_file)) if policy_file else None
        service = AnswerService(settings, retriever=retriever, with_lead_model=with_lead_model)
    except PolicyError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except IndexError_ as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if not len(service.retriever.index):
        err_console.print("[red]error:[/red] the index is empty: run `regqa ingest` first.")
        raise typer.Exit(2)
    return service


@app.command()
def timeline(
    doc: list[str] = typer.Option([], "--doc", help="Only these documents (doc_id)."),
    jurisdiction: list[str] = typer.Option(
        [], "--jurisdiction", help="Only these jurisdictions (CN, EU, US, KR, INTL)."
    ),
) -> None:
    """Dated milestones of the indexed documents: when provisions start to apply and when texts stop applying."""
    from assistant.timeline import KIND_LABELS, docs_from_metadata, timeline_rows
    from ingest.store import ClauseStore, IndexError_

    try:
        store = ClauseStore(_settings())
        metas = [meta for _, meta, _ in store.iter_rows(include=("metadatas",))]
    except IndexError_ as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    rows = timeline_rows(docs_from_metadata(metas), doc, jurisdiction)
    if not rows:
        console.print(
            "No dated milestones for these documents." if metas else "The index is empty: run `regqa ingest`."
        )
        return
    table = Table(title=f"Timeline ({len(rows)} milestones)")
    for col in ("date", "doc_id", "jurisdiction", "milestone", "provisions", "source"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.day or "—", r.doc_id, r.jurisdiction, KIND_LABELS.get(r.kind, r.kind), r.provisions, r.source)
    console.print(table)


def _citation_dates(c, day: str) -> str:
    if c.applies_condition:
        return f"not in effect: {c.applies_condition}"
    when = f"applies from {c.applies_from}" if c.applies_from else "no application date recorded"
    if c.applies_until:
        when += f" until {c.applies_until}"
    return f"{when} · {'in effect' if c.in_effect else 'NOT in effect'} on {day}"


def _print_answer(answer, as_json: bool, as_of: str = "") -> None:
    if as_json:
        console.print_json(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    from rich.markdown import Markdown

    console.print(Markdown(answer.text))
    if answer.citations:
        console.print("[bold]Citations[/bold]")
        for c in answer.citations:
            console.print(f"  [{c.n}] {c.label}  [dim]{c.source_url}[/dim]")
            console.print(f"      [dim]{_citation_dates(c, as_of)}[/dim]")
    console.print(f"[dim]{answer.mode} · {answer.timings.get('total_ms', 0):.0f} ms[/dim]")


@app.command()
def ask(
    question: str | None = typer.Argument(None, help="The question; omit it for an interactive session."),
    as_json: bool = typer.Option(False, "--json", help="Print the Answer as JSON."),
    jurisdiction: list[str] = typer.Option(
        [], "--jurisdiction", help="Only these jurisdictions (CN, EU, US, KR, INTL)."
    ),
    doc: list[str] = typer.Option([], "--doc", help="Only these documents (doc_id)."),
    llm: bool = typer.Option(False, "--llm", help="Generative mode through the configured LLM endpoint."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Date (YYYY-MM-DD) on which citations are in effect or not; default today."
    ),
) -> None:
    """Ask a question; answers cite the exact clauses."""
    from assistant.answering.models import InvalidAsOf, InvalidQuestion, as_of_date

    try:
        day = as_of_date(as_of)
    except InvalidAsOf as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    settings = _settings()
    service = _service(settings)
    filters = {"jurisdiction": jurisdiction, "doc_id": doc}
    mode = "generative" if llm else None
    if question is not None:
        try:
            _print_answer(service.answer(question, filters=filters, mode=mode, as_of=day), as_json, day.isoformat())
        except InvalidQuestion as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        return
    console.print("Ask about the regulations (empty line or Ctrl-D to quit; /clear forgets the conversation).")
    history: list[dict] = []
    while True:
        try:
            line = console.input("[bold green]?[/bold green] ")
        except (EOFError, KeyboardInterrupt):
            break
        if not line.strip():
            break
        if line.strip() == "/clear":
            history = []
            continue
        try:
            answer = service.answer(line, history=history, filters=filters, mode=mode, as_of=day)
        except InvalidQuestion as exc:
            err_console.print(f"[red]{exc}[/red]")
            continue
        _print_answer(answer, as_json, day.isoformat())
        history += [{"role": "user", "content": line}, {"role": "assistant", "content": answer.text}]


@app.command("eval")
def eval_(
    dataset: Path = typer.Option(..., "--dataset", exists=True, dir_okay=False, help="JSONL in the dev.jsonl format."),
    dump: Path | None = typer.Option(None, "--dump", help="Write one JSON object per item (public format)."),
    baseline: list[str] = typer.Option(
        [], "--baseline", help="langchain-default, bm25, bm25-chunks, dense (repeatable)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Also write the full report as JSON."),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        dir_okay=False,
        help="A ranking policy file to evaluate instead of assistant/resources/ranking.toml.",
    ),
) -> None:
    """Evaluate retrieval, citations and refusals on a dataset; compare with baselines."""
    from assistant.evaluation import BASELINES, evaluate
    from assistant.metrics import load_dataset

    for name in baseline:
        if name not in BASELINES:
            err_console.print(f"[red]error:[/red] unknown baseline {name!r}; known: {', '.join(BASELINES)}")
            raise typer.Exit(2)
    try:
        items = load_dataset(dataset)
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    service = _service(_settings(feedback_log_declined=False), policy)  # evaluation questions are not users' questions
    service.warm_up()
    with Progress(
        TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console
    ) as bar:
        task = bar.add_task("eval", total=len(items))
        report = evaluate(service, items, baseline, dump, progress=lambda done, total: bar.update(task, completed=done))
    _print_eval(report, f"{dataset.name}: {len(items)} items (MRR cutoff 10; baselines retrieve only)")
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False))


def _training_splits(train: list[Path], validation: Path) -> tuple[list, list]:
    """The training questions (all ``train`` files) and the validation questions; exit 2 on a malformed file."""
    from assistant.metrics import load_dataset

    try:
        return [item for path in train for item in load_dataset(path)], load_dataset(validation)
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _training_sources(train: list[Path], validation: Path) -> dict[str, Path]:
    """The question files a model is trained and chosen on, by the names its metadata records."""
    return {**{f"train:{path.name}": path for path in train}, "validation": validation}


@contextmanager
def _split_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar per split: yields ``progress(split, done, total)``."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(split: str, done: int, total: int) -> None:
            if split not in tasks:
                tasks[split] = bar.add_task(split, total=total)
            bar.update(tasks[split], completed=done)

        yield progress


@app.command("train-ranker")
def train_ranker(
    train: list[Path] = typer.Option(
        ..., "--train", exists=True, dir_okay=False, help="Training questions (dev.jsonl format; repeatable)."
    ),
    validation: Path = typer.Option(
        ..., "--validation", exists=True, dir_okay=False, help="Validation split: chooses the boosting rounds."
    ),
    model: Path = typer.Option(
        SHIPPED_RANKER_MODEL,
        "--model",
        dir_okay=False,
        help="Where to write the model (its metadata goes beside it as .json).",
    ),
    report: Path | None = typer.Option(None, "--report", help="Also write the report (feature importances) here."),
) -> None:
    """Train the learned ranking model on a question bank (see assistant/retrieval/training.py)."""
    from assistant.retrieval.training import train as fit

    train_items, validation_items = _training_splits(train, validation)
    service = _service(_settings(feedback_log_declined=False), None)
    retriever = service.retriever
    with _split_progress() as progress:
        result = fit(
            retriever,
            train_items,
            validation_items,
            model,
            report,
            _training_sources(train, validation),
            retriever.policy.learned.candidates,
            progress,
        )
    figures = result["candidate_figures"]
    console.print(
        f"rounds {result['rounds']}; validation hit@5 {figures['validation']['hit@5']} MRR "
        f"{figures['validation']['mrr@10']} (fused score alone: {figures['validation_fused_only']['hit@5']} / "
        f"{figures['validation_fused_only']['mrr@10']}); model written to {model}"
    )


@app.command("train-lead")
def train_lead(
    train: list[Path] = typer.Option(
        ..., "--train", exists=True, dir_okay=False, help="Training questions (dev.jsonl format; repeatable)."
    ),
    validation: Path = typer.Option(
        ...,
        "--validation",
        exists=True,
        dir_okay=False,
        help="Validation split: chooses the boosting rounds.",
    ),
    model: Path = typer.Option(
        SHIPPED_LEAD_MODEL, "--model", dir_okay=False, help="Where to write the model (its metadata beside it)."
    ),
    report: Path | None = typer.Option(None, "--report", help="Also write the report (feature importances) here."),
) -> None:
    """Train the lead's sentence model on a question bank (see assistant/answering/lead_training.py)."""
    from assistant.answering.lead_training import train as fit

    train_items, validation_items = _training_splits(train, validation)
    # without the shipped model: the candidates do not depend on it, and it may not fit the features any more
    service = _service(_settings(feedback_log_declined=False), None, with_lead_model=False)
    with _split_progress() as progress:
        try:
            result = fit(
                service,
                train_items,
                validation_items,
                model,
                report,
                _training_sources(train, validation),
                progress,
            )
        except ValueError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    v, t = result["validation"], result["train"]
    console.print(
        f"rounds {result['rounds']}; lead holds gold evidence: validation "
        f"{v['lead_holds_evidence']} of {v['answered']} answered (train {t['lead_holds_evidence']}); "
        f"model written to {model}"
    )


@app.command("train-answerability")
def train_answerability(
    train: list[Path] = typer.Option(
        ..., "--train", exists=True, dir_okay=False, help="Training questions (dev.jsonl format; repeatable)."
    ),
    validation: Path = typer.Option(
        ..., "--validation", exists=True, dir_okay=False, help="Validation split: chooses the threshold."
    ),
    model: Path = typer.Option(SHIPPED_ANSWERABILITY_MODEL, "--model", dir_okay=False, help="Where to write it."),
    report: Path | None = typer.Option(None, "--report", help="Also write the report (coefficients, curve) here."),
    max_false_declines: float = typer.Option(
        0.01, "--max-false-declines", help="Share of answerable validation questions the service may decline."
    ),
    without_enrichment: bool = typer.Option(
        False,
        "--without-enrichment",
        help="The model for texts without enrichment (a user's own documents), written by default to "
        "assistant/resources/answerability-plain.json: run over an index ingested with REGQA_ENRICHMENT_DIR= (empty).",
    ),
) -> None:
    """Train the answerability model on a question bank (see assistant/answering/answerability_training.py)."""
    from assistant.answering.answerability import PLAIN_MODEL_FILE
    from assistant.answering.answerability_training import train as fit

    train_items, validation_items = _training_splits(train, validation)
    service = _service(_settings(feedback_log_declined=False), None)
    with _split_progress() as progress:
        if without_enrichment and model == SHIPPED_ANSWERABILITY_MODEL:
            model = PLAIN_MODEL_FILE
        try:
            result = fit(
                service, train_items, validation_items, model, report, max_false_declines, progress, without_enrichment
            )
        except ValueError as exc:
            console.print(f"[red]error[/red] {exc}")
            raise typer.Exit(1) from exc
    v = result["validation"]
    console.print(
        f"threshold {result['threshold']} (naming a document: {result['named_threshold']}); validation: "
        f"unanswerable declined {v['all']['unanswerable_declined']} "
        f"(zh {v['zh']['unanswerable_declined']}, en {v['en']['unanswerable_declined']}), answerable declined "
        f"{v['all']['answerable_declined']}; model written to {model}"
    )


EVAL_COLUMNS = (
    "hit@1",
    "hit@3",
    "hit@5",
    "hit@10",
    "mrr@10",
    "citation_correct",
    "citation_precision",
    "unanswerable_refused",
    "answerable_refused",
    "latency_p50_ms",
    "latency_p95_ms",
)
GROUP_COLUMNS = ("items", "hit@5", "mrr@10", "citation_correct", "unanswerable_refused", "answerable_refused")


def _figure(value: object) -> str:
    return "-" if value is None else str(value)


def _print_eval(report: dict, title: str) -> None:
    """The system's figures beside the baselines' (retrieval figures only), then the system's by language and type."""
    system = report["system"]
    table = Table(title=title)
    table.add_column("metric")
    runs = {"regqa": system["overall"], **report["baselines"]}
    for name in runs:
        table.add_column(name, justify="right")
    for c in EVAL_COLUMNS:
        table.add_row(
            c,
            *[
                _figure(f.get(c)) if name == "regqa" or c.startswith(("hit", "mrr", "lat")) else "-"
                for name, f in runs.items()
            ],
        )
    console.print(table)
    for group in ("by_lang", "by_type"):
        sub = Table(title=group.replace("_", " "))
        sub.add_column(group[3:])
        for c in GROUP_COLUMNS:
            sub.add_column(c, justify="right")
        for key, figures in system[group].items():
            sub.add_row(key, *[_figure(figures.get(c)) for c in GROUP_COLUMNS])
        console.print(sub)


@app.command()
def obligations(
    doc: list[str] = typer.Option([], "--doc", help="Only these documents (doc_id; repeatable)."),
    role: str | None = typer.Option(
        None,
        "--role",
        help="Only items for this role: provider, deployer (user), "
        "platform, app_store, data_handler, developer, importer, distributor, "
        "representative, authority; items for anyone are always included.",
    ),
    jurisdiction: list[str] = typer.Option([], "--jurisdiction", help="Only these jurisdictions (CN, EU, US …)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Only items that apply on this date (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help='Print {"items": [...]} as JSON.'),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    docx: Path | None = typer.Option(None, "--docx", help="Write a DOCX checklist to this file."),
) -> None:
    """The obligation register: what each role must, must not and may do, from when, and where it says so."""
    from assistant.obligations import (
        InvalidObligationQuery,
        ObligationRegister,
        checklist_lines,
        grouped,
        parse_query,
        to_csv,
        to_docx,
    )
    from ingest.store import IndexError_

    try:
        query = parse_query(doc, [role] if role else [], jurisdiction, as_of)
        items = ObligationRegister(_settings()).find(query)
    except InvalidObligationQuery as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except IndexError_ as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps({"items": items}, ensure_ascii=False, indent=2))
    elif as_csv:
        sys.stdout.write(to_csv(items))
    if docx:
        to_docx(items, docx)
        err_console.print(f"wrote {len(items)} items to {docx}")
    if as_json or as_csv or docx:
        return
    from rich.markup import escape

    for group in grouped(items):
        console.print(f"[bold]{escape(group.title)}[/bold] ({escape(group.doc_id)})", highlight=False)
        for unit in group.units:
            for item, modalities in checklist_lines(unit.items):
                condition = f" [dim](if: {escape(item['condition'])})[/dim]" if item["condition"] else ""
                console.print(
                    f"  ☐ {escape(item['locator'])} · {escape(item['actor'] or item['actor_norm'])} · "
                    f"{'+'.join(modalities)}{condition}\n      {escape(item['text'])}",
                    highlight=False,
                )
    console.print(f"[dim]{len(items)} items[/dim]")


@app.command()
def feedback(
    limit: int = typer.Option(10, "--limit", min=1, help="How many topics and answers to list."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """What users found wanting: the most-declined topics and the worst-rated answers."""
    import sqlite3

    from assistant.feedback import FeedbackStore

    settings = _settings()
    try:
        summary = FeedbackStore(settings).summary(limit)
    except (sqlite3.Error, OSError) as exc:
        err_console.print(f"[red]error:[/red] cannot read {settings.feedback_file}: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    _print_feedback(summary, settings.feedback_file)


def _print_feedback(summary, path: Path) -> None:
    console.print(
        f"[bold]Feedback[/bold] ({path}): {summary.declined_total} declined questions; "
        f"{summary.ratings_total} ratings ({summary.thumbs_up} up, {summary.thumbs_down} down)"
    )
    if summary.declined_by_kind:
        console.print("Declined by reason: " + ", ".join(f"{k} {n}" for k, n in summary.declined_by_kind.items()))
    if summary.declined_topics:
        table = Table(title="Most-declined topics")
        for col in ("topic", "count", "reasons", "examples"):
            table.add_column(col, overflow="fold")
        for t in summary.declined_topics:
            table.add_row(
                t.topic, str(t.count), ", ".join(f"{k} {n}" for k, n in t.refusal_kinds.items()), "\n".join(t.examples)
            )
        console.print(table)
    if summary.worst_rated:
        table = Table(title="Worst-rated answers")
        for col in ("down", "up", "question", "citations", "comments", "answer_id"):
            table.add_column(col, overflow="fold")
        for a in summary.worst_rated:
            table.add_row(
                str(a.down), str(a.up), a.question, "\n".join(a.citations), "\n".join(a.comments), a.answer_id
            )
        console.print(table)


@app.command()
def serve(
    host: str | None = typer.Option(None, "--host", help="Default: setting host (REGQA_HOST, 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Default: setting port (REGQA_PORT, 7860)."),
) -> None:
    """Serve the web chat and the API (one FastAPI app, Gradio at /)."""
    import uvicorn

    from assistant.web import create_app

    settings = _settings()
    from assistant.security import is_loopback

    bind = host or settings.host
    if not settings.auth_enabled and not is_loopback(bind):
        err_console.print(
            f"[yellow]warning:[/yellow] serving on {bind} without authentication: anyone who can reach "
            "it reads everything"
            + (" and can add or remove documents" if settings.open_uploads else "")
            + ". Set REGQA_AUTH_USERS or REGQA_API_TOKEN (README, Deploying)."
        )
    if bind in ("0.0.0.0", "::") and not (settings.allowed_hosts or settings.allowed_origins):
        err_console.print(
            "[yellow]warning:[/yellow] bound to every interface with no REGQA_ALLOWED_HOSTS: any Host "
            "header is accepted (DNS rebinding). Name the host(s) users reach (README, Deploying)."
        )
    # X-Forwarded-For/-Proto only from the proxies named in REGQA_FORWARDED_ALLOW_IPS (never by default): a
    # client-chosen address would dodge the sign-in throttle
    forwarded = settings.forwarded_allow_ips.strip()
    uvicorn.run(
        create_app(settings.with_overrides(host=bind)),
        host=bind,
        port=port or settings.port,
        log_level="info",
        proxy_headers=bool(forwarded),
        forwarded_allow_ips=forwarded or None,
    )


@app.command()
def passwd(
    user: str = typer.Argument(..., help="The user name the entry is for."),
    stdin: bool = typer.Option(False, "--stdin", help="Read the password from standard input (for scripts)."),
) -> None:
    """Print a REGQA_AUTH_USERS entry (user:bcrypt-hash) for a password, so settings never hold it in clear."""
    from assistant.security import hash_password

    if ":" in user or "," in user or not user.strip():
        err_console.print("[red]error:[/red] a user name cannot be empty or hold ':' or ','")
        raise typer.Exit(2)
    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        print(f"{user.strip()}:{hash_password(password)}")
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def slack(
    socket: bool = typer.Option(False, "--socket", help="Socket Mode (no public URL; needs REGQA_SLACK_APP_TOKEN)."),
) -> None:
    """Run the Slack bot: Socket Mode with --socket, else HTTP mode (the web server, events at /slack/events)."""
    from assistant.channels.slack import missing_settings

    settings = _settings()
    missing = missing_settings(settings, socket=socket)
    if missing:
        err_console.print(
            f"[red]error:[/red] the Slack bot needs {', '.join(missing)} (see README, Slack and WeCom bots)"
        )
        raise typer.Exit(2)
    if not socket:
        serve(host=None, port=None)
        return
    from assistant.channels.slack import socket_mode_handler

    handler = socket_mode_handler(settings)
    err_console.print("Slack bot in Socket Mode (loading the index in the background); Ctrl-C to stop.")
    handler.start()


def main() -> None:  # pragma: no cover - console entry point
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
