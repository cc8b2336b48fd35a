"""Without the shared corpus, a run that selects tests needing it fails at once with one clear message (it used
to skip them and pass with almost nothing run); tests that do not need it still run and pass on their own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common.settings import PROJECT_ROOT

NEEDS_CORPUS = """
def test_needs_the_corpus(shared_corpus):
    assert shared_corpus.is_dir()
"""
NEEDS_NOTHING = """
def test_needs_nothing():
    assert True
"""


@pytest.fixture(scope="module")
def checkout_without_shared(tmp_path_factory) -> Path:
    """``<tmp>/repo`` with its own ``common/`` (so that ``SHARED_CORPUS`` is ``<tmp>/shared/corpus``, absent), the
    real ``tests/conftest.py`` and two tests; ``ingest``/``assistant`` come from this checkout via PYTHONPATH."""
    repo = tmp_path_factory.mktemp("no-shared") / "repo"
    shutil.copytree(PROJECT_ROOT / "common", repo / "common", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "tests").mkdir()
    shutil.copyfile(PROJECT_ROOT / "tests" / "conftest.py", repo / "tests" / "conftest.py")
    (repo / "tests" / "test_needs_corpus.py").write_text(NEEDS_CORPUS, encoding="utf-8")
    (repo / "tests" / "test_needs_nothing.py").write_text(NEEDS_NOTHING, encoding="utf-8")
    assert not (repo.parent / "shared").exists()
    return repo


def run_pytest(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), str(PROJECT_ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_corpus_stops_the_run_with_the_expected_path(checkout_without_shared):
    proc = run_pytest(checkout_without_shared, "tests")
    out = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, out
    expected = checkout_without_shared.parent / "shared" / "corpus"
    assert "the shared corpus is missing" in out and str(expected) in out and "REGQA_CORPUS_DIR" in out
    assert "1 of the 2 selected tests need the shared corpus" in out
    assert " passed" not in out and " skipped" not in out


def test_tests_that_need_no_corpus_still_run(checkout_without_shared):
    proc = run_pytest(checkout_without_shared, "tests/test_needs_nothing.py")
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr
