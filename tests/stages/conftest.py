"""Fixtures for the fast stage tests: a three-document fixture corpus and a deterministic fake embedder.

The corpus (``tests/fixtures/corpus``) is three short invented texts, written for these tests: a Chinese rule
in Markdown with YAML front matter (第X条 articles, a 罚则 chapter, a 施行 final article), an English model
regulation in Markdown (Article N headings, numbered paragraphs and points, a definitions article) and a plain
text rulebook without front matter (rules numbered 1.2.1). The embedder is ``hashing-test``
(``ingest/embeddings.py``: feature hashing, no model). Everything else is real: the loaders, the splitter, the
keyword index, the ingest pipeline, an embedded Chroma ``PersistentClient`` under a temp dir, the retriever and
the answer service. No shared corpus and no embedding model are needed; the directory runs in seconds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

if str(Path(__file__).resolve().parent) not in sys.path:  # stage_support, independent of pytest's import mode
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from stage_support import FAKE_EMBEDDER, copy_fixture_corpus  # noqa: E402

from common.settings import Settings  # noqa: E402

FastSettings = Callable[..., Settings]


@pytest.fixture
def fixture_corpus(tmp_path: Path) -> Path:
    return copy_fixture_corpus(tmp_path / "corpus")


@pytest.fixture(scope="session")
def fast_settings(settings_factory) -> FastSettings:
    """``fast_settings(base_dir, corpus_dir, **overrides)``: settings with the fake embedder, the index under
    ``base_dir`` and no catalog (the fixture documents carry their own metadata, or none)."""

    def make(base_dir: Path, corpus_dir: Path, **overrides) -> Settings:
        values = {"embedding_model": FAKE_EMBEDDER, "catalog_path": Path(base_dir) / "no-catalog.toml"}
        values.update(overrides)
        return settings_factory(base_dir, corpus_dir, **values)

    return make


@dataclass(frozen=True)
class FixtureIndex:
    settings: Settings
    corpus_dir: Path
    report: object  # ingest.models.IngestReport


@pytest.fixture(scope="session")
def fixture_index(tmp_path_factory, fast_settings) -> FixtureIndex:
    """One ingest of the fixture corpus per session. Read it, never write it."""
    from ingest.pipeline import run_ingest

    base = tmp_path_factory.mktemp("fixture-index")
    corpus = copy_fixture_corpus(base / "corpus")
    settings = fast_settings(base, corpus)
    report = run_ingest(settings)
    assert report.ok, report.failed
    return FixtureIndex(settings, corpus, report)


@pytest.fixture(scope="session")
def fixture_service(fixture_index):
    """The extractive ``AnswerService`` over the fixture index."""
    from assistant.answering.service import AnswerService

    return AnswerService(fixture_index.settings)
