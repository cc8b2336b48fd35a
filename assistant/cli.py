"""The ``regqa`` command line."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .config import Settings, get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Compliance Q&A over AI-safety regulation, with clause-level citations.")
console = Console()
err_console = Console(stderr=True)


def _settings(**overrides) -> Settings:
    return get_settings().with_overrides(**overrides)


@app.command()
def ingest(
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Corpus directory (default: setting corpus_dir)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop the index and start over."),
) -> None:
    """Load, split into clauses, embed and index the corpus (incremental)."""
    from ingest.pipeline import run_ingest
    from ingest.store import IndexError_

    settings = _settings()
    with Progress(TextColumn("[bold]{task.fields[stage]:<8}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
                  transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int, label: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(label, total=total, stage=stage)
            bar.update(tasks[stage], completed=done, total=total, description=label[:60])

        try:
            report = run_ingest(settings, corpus_dir=corpus, rebuild=rebuild, progress=progress)
        except IndexError_ as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2)

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
    console.print(table)
    for failure in report.failed:
        console.print(f"[red]FAILED[/red] {failure.path}: {failure.reason}")
    console.print(f"done in {report.seconds:.1f} s")
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
        raise typer.Exit(2)
    indexed = store.documents()
    if not indexed:
        console.print("The index is empty: run `regqa ingest`.")
        return
    table = Table(title=f"{len(indexed)} documents, {store.count()} chunks")
    for col in ("doc_id", "title", "jurisdiction", "status", "units", "chunks", "state"):
        table.add_column(col, overflow="fold")
    for d in sorted(indexed.values(), key=lambda d: d.doc_id):
        table.add_row(d.doc_id, d.title, d.jurisdiction, d.status, str(d.units), str(d.chunks_present),
                      "ok" if d.complete else "[red]incomplete (re-run ingest)[/red]")
    console.print(table)


def main() -> None:  # pragma: no cover - console entry point
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
