"""An index of our own for the obligation register: the 2025 labelling measures in full and an excerpt of the EU
AI Act (front matter, Articles 16-27 and 50, verbatim from the shared corpus) under its real document id, so the
done-when checks run against a real ingest (real Chroma, the real embedding model) in well under a minute."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from common.settings import Settings

LABELLING = "cn-ai-content-labeling-measures-2025"
AI_ACT = "eu-ai-act-2024"


def ai_act_excerpt(source: Path) -> str:
    """Front matter and title, CHAPTER III Articles 16-27, CHAPTER IV Article 50, cut at headings."""
    text = source.read_text(encoding="utf-8")
    front = text[: text.index("\n---", 4) + 4]
    title = re.search(r"^# .+$", text, re.MULTILINE).group(0)
    articles = text[text.index("### Article 16 —") : text.index("**SECTION 4")]
    article_50 = text[text.index("## CHAPTER IV") : text.index("## CHAPTER V")]
    return f"{front}\n\n{title}\n\n## CHAPTER III — HIGH-RISK AI SYSTEMS\n\n{articles}\n{article_50}"


@dataclass
class RegisterIndex:
    settings: Settings
    corpus_dir: Path


@pytest.fixture(scope="session")
def register_index(tmp_path_factory, shared_corpus, settings_factory, embedder) -> RegisterIndex:
    from ingest.pipeline import run_ingest

    base = tmp_path_factory.mktemp("obligations")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copyfile(shared_corpus / f"{LABELLING}.md", corpus / f"{LABELLING}.md")
    (corpus / f"{AI_ACT}.md").write_text(ai_act_excerpt(shared_corpus / f"{AI_ACT}.md"), encoding="utf-8")
    settings = settings_factory(base, corpus)
    report = run_ingest(settings)
    assert report.ok and sorted(report.added) == [LABELLING, AI_ACT], report
    return RegisterIndex(settings, corpus)


@pytest.fixture(scope="session")
def register_server(register_index):
    from support.live_server import LiveServer

    from assistant.web import create_app

    server = LiveServer(create_app(register_index.settings)).start()
    yield server
    server.stop()
