"""Export (plain text, Markdown, DOCX; ``POST /v1/export``) and feedback (``POST /v1/feedback``, declined
questions, ``regqa feedback``) on real answers from the real app over HTTP, with a real SQLite file."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import docx
import httpx
import pytest
from support.live_server import LiveServer

from assistant.export import InvalidExport, answer_as_text, conversation_docx, conversation_markdown
from assistant.feedback import FeedbackStore, InvalidFeedback, record_declined

LABELLING = "深度合成服务提供者要做哪些标识？"
UN_QUESTION = "What does the UN resolution say about human rights?"
COLORADO = "What does Colorado's AI Act require?"
LEAD = "深度合成服务提供者应当对可能导致公众混淆或者误认的生成内容进行显著标识[1]。"
EXPORTED = datetime(2025, 3, 4, 5, 6)


def ask(server: LiveServer, question: str) -> dict:
    r = httpx.post(server.url + "/v1/ask", json={"question": question}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def regqa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("regqa")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def answers(live_server) -> dict[str, dict]:
    return {q: ask(live_server, q) for q in (LABELLING, UN_QUESTION, COLORADO)}


# ---- plain text ---------------------------------------------------------------------------------------------


def test_answer_as_text_puts_the_lead_first_then_the_clauses_then_full_references(answers):
    answer = {**answers[LABELLING], "lead": LEAD}
    assert answer["citations"] and "**" in answer["text"] and "\n> " in answer["text"]  # Markdown going in
    text = answer_as_text(answer)

    assert text.startswith(LEAD + "\n")
    assert "**" not in text and not re.search(r"(?m)^\s*(>|#)", text)
    first = answer["citations"][0]
    body, references = text.split("\n参考文献\n")
    first_line = first["quote"].strip().splitlines()[0]
    assert f"[1] {first_line}" in body  # the clause itself, verbatim
    for c in answer["citations"]:
        line = next(ln for ln in references.splitlines() if ln.startswith(f"[{c['n']}] "))
        for part in (c["title"], c["unit"], c["issued"], "现行有效", c["source_url"]):
            assert part in line, (part, line)
    assert body.index(first_line) > body.index(LEAD)


def test_answer_as_text_without_a_lead_opens_with_the_answer_s_own_words(answers):
    answer = answers[UN_QUESTION]
    assert not answer["refused"] and answer["language"] == "en"
    text = answer_as_text({**answer, "lead": ""})
    assert text.splitlines()[0] == answer["text"].splitlines()[0].replace("**", "")  # the answer's first line
    assert "\nReferences\n" in text and "non-binding" in text and "https://docs.un.org/" in text
    assert "**" not in text and not re.search(r"(?m)^\s*(>|#)", text)


def test_a_declined_answer_as_text_says_so_and_lists_no_references(answers):
    answer = answers[COLORADO]
    assert answer["refused"]
    text = answer_as_text(answer)
    assert text.startswith("The corpus does not cover this question") and "References" not in text


# ---- Markdown and DOCX ----------------------------------------------------------------------------------------


def turns_of(answers: dict[str, dict], lead: str = LEAD) -> list[dict]:
    return [
        {"question": LABELLING, "answer": {**answers[LABELLING], "lead": lead}},
        {"question": UN_QUESTION, "answer": answers[UN_QUESTION]},
        {"question": COLORADO, "answer": answers[COLORADO]},
    ]


def test_conversation_markdown_has_a_title_the_date_and_every_turn_with_lead_clauses_and_references(answers):
    md = conversation_markdown(turns_of(answers), exported=EXPORTED)
    assert md.startswith("# ") and "2025-03-04 05:06" in md.split("\n## ")[0]
    sections = md.split("\n## ")[1:]
    assert len(sections) == 3
    for section, question in zip(sections, (LABELLING, UN_QUESTION, COLORADO)):
        assert question in section.splitlines()[0]
    labelling, un, colorado = sections
    assert LEAD in labelling
    first = answers[LABELLING]["citations"][0]
    assert f"> {first['quote'].strip().splitlines()[0]}" in labelling
    assert f"<{first['source_url']}>" in labelling and "[1]" in labelling
    assert "> 3\\. Calls upon the international community" in un  # "3." escaped: not a numbered list
    assert "does not cover this question" in colorado


def test_document_text_never_becomes_html_in_the_markdown_export(answers):
    answer = json.loads(json.dumps(answers[UN_QUESTION]))
    answer["citations"][0]["quote"] = "<script>alert(1)</script> text"
    answer["citations"][0]["source_url"] = "javascript:alert(1)"
    md = conversation_markdown([{"question": "<img src=x onerror=alert(1)>", "answer": answer}])
    assert "<script" not in md and "<img" not in md and "javascript:" not in md
    assert "&lt;script>alert(1)&lt;/script> text [1]" in md


def test_conversation_docx_opens_and_holds_the_lead_the_clauses_and_linked_references(answers):
    data = conversation_docx(turns_of(answers), exported=EXPORTED)
    document = docx.Document(io.BytesIO(data))
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs]
    assert paragraphs[0][0] == "Title" and "2025-03-04 05:06" in paragraphs[1][1]
    headings = [text for style, text in paragraphs if style == "Heading 1"]
    assert headings == [f"Question {i}: {q}" for i, q in enumerate((LABELLING, UN_QUESTION, COLORADO), 1)]
    assert ("Normal", LEAD) in paragraphs
    first = answers[LABELLING]["citations"][0]
    quotes = [text for style, text in paragraphs if style == "Quote"]
    assert any(text.startswith(first["quote"].strip().splitlines()[0]) and text.endswith("[1]") for text in quotes)
    references = [text for style, text in paragraphs if style == "List Bullet"]
    assert any(
        text.startswith("[1] ") and first["title"] in text and first["source_url"] in text for text in references
    )
    links = {rel.target_ref for rel in document.part.rels.values() if rel.reltype.endswith("/hyperlink")}
    assert first["source_url"] in links and answers[UN_QUESTION]["citations"][0]["source_url"] in links


@pytest.mark.parametrize(
    "turns,message",
    [
        ([], "non-empty"),
        ([{"question": "q", "answer": "just text"}], "answer object"),
        ([{"question": "q", "answer": {"text": "t", "citations": "none"}}], "citations"),
        ([{"question": "q", "answer": {"text": "t", "citations": [{"n": "1"}]}}], "must be a number"),
        ([{"question": "q", "answer": {"text": "t"}}] * 3, "too many turns"),
    ],
)
def test_malformed_conversations_are_refused_clearly(turns, message):
    for export in (conversation_markdown, conversation_docx):
        with pytest.raises(InvalidExport, match=message):
            export(turns, max_turns=2)


# ---- POST /v1/export -----------------------------------------------------------------------------------------


def test_export_endpoint_returns_markdown_and_docx_attachments(live_server, answers):
    turns = turns_of(answers)
    md = httpx.post(live_server.url + "/v1/export", json={"turns": turns, "format": "markdown"}, timeout=60)
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert re.fullmatch(r'attachment; filename="regqa-conversation-\d{8}-\d{6}\.md"', md.headers["content-disposition"])
    assert LEAD in md.text and md.text.count("\n## ") == 3

    word = httpx.post(live_server.url + "/v1/export", json={"turns": turns, "format": "docx"}, timeout=60)
    assert word.status_code == 200 and word.headers["content-disposition"].endswith('.docx"')
    assert word.headers["content-type"].startswith("application/vnd.openxmlformats")
    texts = [p.text for p in docx.Document(io.BytesIO(word.content)).paragraphs]
    assert LEAD in texts


@pytest.mark.parametrize(
    "payload",
    [
        {"turns": [], "format": "markdown"},
        {"turns": [{"question": "q", "answer": {"text": "t"}}], "format": "pdf"},
        {"turns": [{"question": "q", "answer": "not an answer"}]},
        {"turns": ["not a turn"]},
        {"format": "docx"},
    ],
)
def test_export_endpoint_refuses_bad_input_with_422(live_server, payload):
    r = httpx.post(live_server.url + "/v1/export", json=payload, timeout=30)
    assert r.status_code == 422 and r.json()["error"]["message"]


def test_export_endpoint_refuses_a_body_that_is_not_json(live_server):
    r = httpx.post(
        live_server.url + "/v1/export", content=b"{turns", timeout=30, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


# ---- feedback -----------------------------------------------------------------------------------------------


def _server_on(settings) -> LiveServer:
    from assistant.web import create_app

    return LiveServer(create_app(settings, with_ui=False)).start()


@pytest.fixture
def feedback_settings(tmp_path, clean_index, settings_factory):
    """A private copy of the small index; feedback goes to the default file, ``<index_dir>/feedback.sqlite3``."""
    shutil.copytree(clean_index.settings.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns("feedback*"))
    settings = settings_factory(tmp_path, clean_index.corpus_dir, feedback_max_comment_chars=200)
    assert settings.feedback_file == tmp_path / "index" / "feedback.sqlite3"
    return settings


def _summary(settings, cli_env) -> dict:
    result = regqa("feedback", "--json", env=cli_env(settings))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_ratings_survive_a_server_restart_and_declined_questions_are_logged(feedback_settings, cli_env):
    server = _server_on(feedback_settings)
    try:
        answered = ask(server, LABELLING)
        r = httpx.post(
            server.url + "/v1/feedback",
            timeout=30,
            json={
                "answer_id": answered["answer_id"],
                "rating": -1,
                "comment": "第十七条 is not the whole answer",
                "answer": answered,
            },
        )
        assert r.status_code == 200 and r.json() == {"ok": True}
        declined = ask(server, COLORADO)
        assert declined["refused"]
    finally:
        server.stop()

    server = _server_on(feedback_settings)  # a new app and store on the same index dir
    try:
        r = httpx.post(
            server.url + "/v1/feedback",
            timeout=30,
            json={"answer_id": answered["answer_id"], "rating": 1, "question": LABELLING},
        )
        assert r.status_code == 200
    finally:
        server.stop()

    summary = _summary(feedback_settings, cli_env)
    assert (summary["ratings_total"], summary["thumbs_up"], summary["thumbs_down"]) == (2, 1, 1)
    worst = summary["worst_rated"][0]
    assert (worst["answer_id"], worst["down"], worst["up"]) == (answered["answer_id"], 1, 1)
    assert worst["question"] == LABELLING and worst["comments"] == ["第十七条 is not the whole answer"]
    assert worst["citations"] == [c["label"] for c in answered["citations"]]
    assert summary["declined_total"] == 1 and summary["declined_by_kind"] == {declined["refusal_kind"]: 1}
    topic = summary["declined_topics"][0]
    assert topic["topic"] == "colorado" and topic["examples"] == [COLORADO]

    table = regqa("feedback", env=cli_env(feedback_settings))
    assert table.returncode == 0 and "Most-declined topics" in table.stdout and "colorado" in table.stdout


@pytest.fixture(scope="module")
def feedback_server(tmp_path_factory, clean_index, settings_factory):
    base = tmp_path_factory.mktemp("feedback")
    settings = settings_factory(
        base,
        clean_index.corpus_dir,
        index_dir=clean_index.settings.index_dir,
        feedback_path=base / "feedback.sqlite3",
        feedback_max_comment_chars=200,
    )
    server = _server_on(settings)
    yield server, settings
    server.stop()


@pytest.mark.parametrize(
    "payload",
    [
        {"answer_id": "a1b2", "rating": 0},
        {"answer_id": "a1b2", "rating": 2},
        {"answer_id": "a1b2", "rating": "1"},
        {"answer_id": "a1b2", "rating": True},
        {"answer_id": "a1b2", "rating": 1.0},
        {"rating": -1},
        {"answer_id": "", "rating": -1},
        {"answer_id": "not an id!", "rating": -1},
        {"answer_id": "a1b2", "rating": -1, "comment": "x" * 201},
        {"answer_id": "a1b2", "rating": -1, "comment": 5},
        {"answer_id": "a1b2", "rating": -1, "answer": {"citations": "no"}},
        ["not", "an", "object"],
    ],
)
def test_bad_feedback_is_a_422_and_stores_nothing(feedback_server, payload):
    server, settings = feedback_server
    before = FeedbackStore(settings).summary().ratings_total
    r = httpx.post(server.url + "/v1/feedback", json=payload, timeout=30)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"]
    assert FeedbackStore(settings).summary().ratings_total == before


def test_a_comment_at_the_limit_is_stored(feedback_server):
    server, settings = feedback_server
    r = httpx.post(
        server.url + "/v1/feedback", json={"answer_id": "c0ffee", "rating": -1, "comment": "y" * 200}, timeout=30
    )
    assert r.status_code == 200
    assert FeedbackStore(settings).summary().worst_rated[0].comments == ["y" * 200]


def test_feedback_from_another_site_is_refused(feedback_server):
    server, _ = feedback_server
    r = httpx.post(
        server.url + "/v1/feedback",
        json={"answer_id": "abc", "rating": 1},
        timeout=30,
        headers={"origin": "https://evil.example"},
    )
    assert r.status_code == 403


# ---- the store itself ---------------------------------------------------------------------------------------


def test_declined_topics_group_questions_by_their_salient_words(tmp_path, clean_index, settings_factory):
    settings = settings_factory(tmp_path, clean_index.corpus_dir, feedback_path=tmp_path / "fb.sqlite3")
    store = FeedbackStore(settings)
    for question, kind in [
        (COLORADO, "unknown-document"),
        ("Does the Colorado AI Act apply to deployers?", "foreign-jurisdiction"),
        ("科罗拉多州的人工智能法要求什么？", "foreign-jurisdiction"),
        ("科罗拉多州人工智能法何时生效？", "foreign-jurisdiction"),
        ("What did OpenAI get fined for?", "events"),
    ]:
        store.log_declined(question, kind, "zh" if "科" in question else "en")
    summary = store.summary(limit=2)
    assert summary.declined_total == 5
    assert summary.declined_by_kind == {"foreign-jurisdiction": 3, "unknown-document": 1, "events": 1}
    # equal counts: the topic asked about most recently comes first
    assert [(t.topic, t.count) for t in summary.declined_topics] == [("科罗拉多州", 2), ("colorado", 2)]
    colorado = summary.declined_topics[1]
    assert colorado.refusal_kinds == {"foreign-jurisdiction": 1, "unknown-document": 1}
    assert colorado.examples == ["Does the Colorado AI Act apply to deployers?", COLORADO]  # most recent first


def test_concurrent_ratings_are_all_kept(tmp_path, clean_index, settings_factory):
    settings = settings_factory(tmp_path, clean_index.corpus_dir, feedback_path=tmp_path / "fb.sqlite3")
    errors: list[BaseException] = []

    def rate(worker: int) -> None:
        store = FeedbackStore(settings)
        try:
            for i in range(15):
                store.add_rating(f"w{worker}", -1 if i % 3 else 1, f"comment {i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=rate, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    summary = FeedbackStore(settings).summary(limit=10)
    assert (summary.ratings_total, summary.thumbs_up, summary.thumbs_down) == (90, 30, 60)
    assert sorted(a.answer_id for a in summary.worst_rated) == [f"w{w}" for w in range(6)]
    assert all((a.down, a.up, len(a.comments)) == (10, 5, 15) for a in summary.worst_rated)


def test_rating_validation_in_the_store(tmp_path, clean_index, settings_factory):
    settings = settings_factory(
        tmp_path, clean_index.corpus_dir, feedback_path=tmp_path / "fb.sqlite3", feedback_max_comment_chars=10
    )
    store = FeedbackStore(settings)
    for args in (("id1", 0), ("id1", True), ("bad id", 1), (None, 1)):
        with pytest.raises(InvalidFeedback):
            store.add_rating(*args)
    with pytest.raises(InvalidFeedback, match="comment is too long"):
        store.add_rating("id1", -1, "x" * 11)
    store.rate_answer(
        {
            "answer_id": "id2",
            "question": "q",
            "text": "t",
            "citations": [{"label": "L"}],
            "refused": False,
            "language": "en",
        },
        -1,
        "why",
    )
    worst = store.summary().worst_rated
    assert [(a.answer_id, a.question, a.citations, a.comments) for a in worst] == [("id2", "q", ["L"], ["why"])]


def test_a_broken_store_never_breaks_an_answer(tmp_path, clean_index):
    from assistant.answering.service import AnswerService

    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the store's directory should be")
    settings = clean_index.settings.with_overrides(feedback_path=blocked / "feedback.sqlite3")
    assert record_declined(settings, COLORADO, "unknown-document", "en") is False
    answer = AnswerService(settings).answer(COLORADO)
    assert answer.refused and "does not cover" in answer.text


def test_declined_logging_can_be_turned_off(tmp_path, clean_index):
    settings = clean_index.settings.with_overrides(feedback_path=tmp_path / "fb.sqlite3", feedback_log_declined=False)
    assert record_declined(settings, COLORADO, "unknown-document", "en") is False
    assert not (tmp_path / "fb.sqlite3").exists()


def test_with_auth_on_feedback_and_export_need_a_signed_in_caller(tmp_path, clean_index, settings_factory, answers):
    import sqlite3

    settings = settings_factory(
        tmp_path,
        clean_index.corpus_dir,
        index_dir=clean_index.settings.index_dir,
        feedback_path=tmp_path / "fb.sqlite3",
        api_token="tok-feedback",
    )
    server = _server_on(settings)
    try:
        rating = {"answer_id": "feedface", "rating": -1, "comment": "too long"}
        export = {"turns": turns_of(answers), "format": "markdown"}
        assert httpx.post(server.url + "/v1/feedback", json=rating, timeout=30).status_code == 401
        assert httpx.post(server.url + "/v1/export", json=export, timeout=30).status_code == 401
        bearer = {"authorization": "Bearer tok-feedback"}
        assert httpx.post(server.url + "/v1/feedback", json=rating, headers=bearer, timeout=30).status_code == 200
        assert httpx.post(server.url + "/v1/export", json=export, headers=bearer, timeout=30).status_code == 200
    finally:
        server.stop()
    with sqlite3.connect(tmp_path / "fb.sqlite3") as conn:
        assert conn.execute("SELECT answer_id, rating, comment, user FROM ratings").fetchall() == [
            ("feedface", -1, "too long", "__token__")
        ]
