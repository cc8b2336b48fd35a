"""``regqa ingest --enrich`` (ingest/enrichment.py generate_missing, ingest/llm.py): for a user's own documents,
an OpenAI-compatible endpoint (a local fake over real HTTP) writes questions and paraphrases per unit; they are
cached by the unit's text hash (never sent twice), kept by a later plain ingest, indexed for keyword search, and a
unit whose reply is unusable is left without them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from fake_openai import FakeOpenAI, Reply

from ingest.enrichment import parse_reply
from ingest.pipeline import run_ingest

RULES = """# Example Data Handling Rules

## Article 1 Purpose
These rules govern how the company keeps customer records.

## Article 2 Retention
Customer records shall be kept for no longer than five years after the account is closed.

## Article 3 Breach notice
A breach of customer records shall be reported to the regulator within seventy-two hours.
"""
REPLY = json.dumps({"zh": ["客户记录要保存多久？", "记录最多保存五年"], "en": ["zyxwv how long may we keep records?"]})


@pytest.fixture
def endpoint():
    with FakeOpenAI(default=Reply.text(f"Here you go:\n```json\n{REPLY}\n```")) as server:
        yield server


def settings_for(settings_factory, tmp_path, server):
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    (corpus / "data-rules.md").write_text(RULES, encoding="utf-8")
    return settings_factory(tmp_path, corpus, enrichment_dir=None, llm_base_url=server.base_url, llm_model=server.model)


def test_the_endpoint_enriches_each_unit_once_and_search_finds_it(tmp_path, settings_factory, endpoint):
    from assistant.retrieval.index import ClauseIndex

    settings = settings_for(settings_factory, tmp_path, endpoint)
    report = run_ingest(settings, enrich=True)
    assert report.ok
    units = len(endpoint.requests)
    assert units >= 3 and report.enrichment.generated == units and report.enrichment.failed == 0
    prompts = [r.body["messages"][-1]["content"] for r in endpoint.requests]
    assert any("seventy-two hours" in p for p in prompts)  # the unit's own text is sent
    index = ClauseIndex(settings)
    assert all(m["enrichment_en"].startswith("zyxwv") for m in index.metas)
    assert np.flatnonzero(index.keyword.scores("zyxwv")).size == len(index)

    again = run_ingest(settings, enrich=True)  # unchanged texts: from the cache, nothing sent
    assert len(endpoint.requests) == units and again.enrichment.cached == units and again.enrichment.generated == 0
    plain = run_ingest(settings)  # a plain ingest keeps what was generated
    assert plain.ok and not plain.replaced
    assert all(m["enrichment_en"] for m in ClauseIndex(settings).metas)


def test_an_unusable_reply_leaves_the_unit_without_enrichment(tmp_path, settings_factory, endpoint):
    endpoint.script(Reply.text("I cannot help with that."), Reply.error(500))
    settings = settings_for(settings_factory, tmp_path, endpoint)
    report = run_ingest(settings, enrich=True)
    assert report.ok and report.enrichment.failed == 2
    assert report.enrichment.generated == len(endpoint.requests) - 2


def test_the_reply_parser_takes_the_json_object_and_nothing_else():
    assert parse_reply('prose {"zh": ["问"], "en": []} more') == (("问",), ())
    assert parse_reply('{"zh": [], "en": []}') is None
    assert parse_reply("no json here") is None
    assert parse_reply('{"zh": "not a list", "en": [1, "ok"]}') == ((), ("ok",))


def test_enrich_without_an_endpoint_is_a_clear_error(tmp_path, settings_factory, cli_env):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "data-rules.md").write_text(RULES, encoding="utf-8")
    env = {k: v for k, v in cli_env(settings_factory(tmp_path, corpus)).items() if not k.startswith("REGQA_LLM")}
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest", "--enrich"],
        env=env | {"REGQA_LLM_BASE_URL": "", "PATH": os.environ.get("PATH", "")},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 2 and "--enrich needs an LLM endpoint" in run.stderr
