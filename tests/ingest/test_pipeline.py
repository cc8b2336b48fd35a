"""The ingest pipeline end to end: real Chroma (embedded, in temp dirs) and the real embedding model.

The clean ingest of the small corpus is done once per session (``clean_index``); tests that change things
work on a private copy of that index (``index_copy``), so only what they change gets embedded.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from support.chunk_keys import PUBLIC_CHUNK_KEYS

from ingest.catalog import load_catalog
from ingest.keyword_index import KeywordIndex, fingerprint
from ingest.loaders import load_document
from ingest.pipeline import keyword_dir, run_ingest, sorted_rows
from ingest.splitter import chunk_document
from ingest.store import ClauseStore

GENAI = "cn-genai-interim-measures-2023"
DEEP = "cn-deep-synthesis-provisions-2022"
UN = "un-ga-res-78-311-2024"
COMMENTARY = "cn-commentary-why-ai-safety-regulation-2024"


def snapshot(settings) -> dict[str, tuple[dict, str, np.ndarray]]:
    """id -> (metadata, document text, embedding) of everything in the collection."""
    page = ClauseStore(settings).collection.get(include=["metadatas", "documents", "embeddings"])
    return {
        cid: (meta, doc, np.asarray(emb, dtype=np.float32))
        for cid, meta, doc, emb in zip(page["ids"], page["metadatas"], page["documents"], page["embeddings"])
    }


def of_doc(snap: dict, doc_id: str) -> dict:
    return {cid: row for cid, row in snap.items() if row[0]["doc_id"] == doc_id}


# Chroma round-trips a stored vector with float32 rounding (a reused vector can move by ~1e-8), so "the same
# embedding" is a tight tolerance; a re-embedded changed text moves by orders of magnitude more.
SAME = 1e-6


def same_vector(a: np.ndarray, b: np.ndarray, atol: float = SAME) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=atol))


def assert_same_rows(a: dict, b: dict, *, atol: float = SAME) -> None:
    """Same ids, identical metadata and text, and the same embeddings (within ``atol``)."""
    assert sorted(a) == sorted(b)
    for cid in a:
        assert a[cid][0] == b[cid][0], cid
        assert a[cid][1] == b[cid][1], cid
        assert same_vector(a[cid][2], b[cid][2], atol), cid


def assert_keyword_index_consistent(settings) -> KeywordIndex:
    """The saved keyword index holds exactly the collection's chunks, in the collection's document order."""
    store = ClauseStore(settings)
    rows = sorted_rows(store)
    index = KeywordIndex.load(keyword_dir(settings))
    assert index is not None, "keyword index missing"
    assert index.ids == [cid for cid, _, _ in rows]
    assert set(index.ids) == set(store.collection.get(include=[])["ids"])
    assert index.fingerprint == fingerprint((cid, meta) for cid, meta, _ in rows)
    return index


def expected_chunks(settings, corpus_dir: Path) -> dict[str, list]:
    catalog = load_catalog(settings.catalog_path)
    out = {}
    for path in sorted(corpus_dir.glob("*.md")):
        doc = load_document(path, catalog)
        out[doc.doc_id] = (
            doc,
            chunk_document(
                doc,
                catalog.get(doc.doc_id),
                max_chars_zh=settings.chunk_max_chars_zh,
                max_chars_en=settings.chunk_max_chars_en,
            ),
        )
    return out


def front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("\n---", 1)[0].removeprefix("---\n"))


# ---- clean ingest ----------------------------------------------------------------------------------------


def test_clean_ingest_indexes_every_chunk_with_the_public_metadata(clean_index, embedder, small_doc_ids):
    settings, corpus, report = clean_index.settings, clean_index.corpus_dir, clean_index.report
    expected = expected_chunks(settings, corpus)
    total = sum(len(chunks) for _, chunks in expected.values())
    assert sorted(report.added) == list(small_doc_ids)
    assert (report.skipped, report.replaced, report.removed, report.failed) == ([], [], [], [])
    assert report.documents == 3 and report.chunks == total and report.embedded_chunks == total

    snap = snapshot(settings)
    assert sorted(snap) == sorted(
        f"{doc_id}#{i}" for doc_id, (_, chunks) in expected.items() for i in range(len(chunks))
    )
    for doc_id, (doc, chunks) in expected.items():
        fm = front_matter(doc.path)
        file_hash = hashlib.sha256(doc.path.read_bytes()).hexdigest()
        for chunk in chunks:
            meta, text, vector = snap[chunk.chunk_id]
            assert set(PUBLIC_CHUNK_KEYS) <= set(meta)
            assert (meta["doc_id"], meta["unit"], meta["locator"], meta["path"], meta["chunk_index"]) == (
                doc_id,
                chunk.unit,
                chunk.locator,
                chunk.path,
                chunk.chunk_index,
            )
            assert meta["title"] == fm["title"] and meta["language"] == fm["language"]
            assert (meta["jurisdiction"], meta["doc_type"], meta["status"]) == (
                fm["jurisdiction"],
                fm["doc_type"],
                fm["status"],
            )
            assert meta["issued"] == str(fm["issued"]) and meta["source_url"] == fm["official_url"]
            assert meta["sha256"] == file_hash
            assert isinstance(meta["chunk_index"], int)
            assert text == chunk.text
            assert vector.shape == snap[next(iter(snap))][2].shape and abs(np.linalg.norm(vector) - 1) < 1e-3

    # the stored vectors are the embeddings of the chunks' embed texts
    for _, chunks in expected.values():
        for chunk in (chunks[0], chunks[len(chunks) // 2], chunks[-1]):
            fresh = embedder.embed_documents([chunk.embed_text])[0]
            assert float(np.dot(fresh, snap[chunk.chunk_id][2])) > 0.999, chunk.chunk_id

    documents = ClauseStore(settings).documents()
    assert sorted(documents) == list(small_doc_ids)
    for doc_id, state in documents.items():
        assert state.complete and state.chunk_count == state.chunks_present == len(expected[doc_id][1])
    assert ClauseStore(settings).documents()[DEEP].units == 26  # 25 articles + the promulgation order
    assert_keyword_index_consistent(settings)


def test_keyword_index_finds_clauses(clean_index):
    index = assert_keyword_index_consistent(clean_index.settings)
    rows = {cid: meta for cid, meta, _ in sorted_rows(ClauseStore(clean_index.settings))}
    best = index.ids[int(np.argmax(index.scores("深度合成服务提供者 数字水印 标识")))]
    assert rows[best]["doc_id"] == DEEP
    best = index.ids[int(np.argmax(index.scores("capacity-building of artificial intelligence developing countries")))]
    assert rows[best]["doc_id"] == UN


def test_reingest_without_changes_skips_everything(index_copy, small_doc_ids):
    before = snapshot(index_copy.settings)
    report = run_ingest(index_copy.settings)
    assert report.ok
    assert sorted(report.skipped) == list(small_doc_ids)
    assert (report.added, report.replaced, report.removed) == ([], [], [])
    assert report.embedded_chunks == 0 and report.chunks == len(before)
    assert_same_rows(snapshot(index_copy.settings), before)
    assert_keyword_index_consistent(index_copy.settings)


# ---- incremental changes -----------------------------------------------------------------------------------


def test_editing_one_article_reembeds_only_that_chunk(index_copy):
    settings = index_copy.settings
    path = index_copy.corpus_dir / f"{GENAI}.md"
    before = snapshot(settings)
    added = "本条追加的回归测试句子（zqxjtoken）。"
    text = path.read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("第三条 "))
    path.write_text(text.replace(line, line + added), encoding="utf-8")

    report = run_ingest(settings)
    assert report.ok and report.replaced == [GENAI] and sorted(report.skipped) == [DEEP, UN]
    assert report.added == [] and report.removed == []
    assert report.embedded_chunks == 1

    after = snapshot(settings)
    assert sorted(after) == sorted(before)
    changed = [cid for cid in of_doc(after, GENAI) if after[cid][1] != before[cid][1]]
    assert len(changed) == 1
    cid = changed[0]
    assert after[cid][0]["unit"] == "第三条" and after[cid][1] == before[cid][1] + added
    assert float(np.dot(after[cid][2], before[cid][2])) < 0.9999  # re-embedded: a different vector
    new_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    for other, (meta, doc, vector) in of_doc(after, GENAI).items():
        assert meta["sha256"] == new_hash
        if other != cid:  # unchanged chunks: same text, same (reused) embedding, same metadata but the hash
            assert doc == before[other][1] and same_vector(vector, before[other][2])
            assert {**meta, "sha256": None} == {**before[other][0], "sha256": None}
    for doc_id in (DEEP, UN):
        assert_same_rows(of_doc(after, doc_id), of_doc(before, doc_id))

    index = assert_keyword_index_consistent(settings)
    assert index.ids[int(np.argmax(index.scores("zqxjtoken")))] == cid


def test_removing_an_article_shifts_chunks_but_embeds_nothing(index_copy):
    """Embeddings are reused by embedded text, not by position: later chunks move up without re-embedding."""
    settings = index_copy.settings
    path = index_copy.corpus_dir / f"{GENAI}.md"
    before = of_doc(snapshot(settings), GENAI)
    text = path.read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("第十条 "))
    path.write_text(text.replace(line + "\n\n", ""), encoding="utf-8")

    report = run_ingest(settings)
    assert report.ok and report.replaced == [GENAI] and report.embedded_chunks == 0
    after = of_doc(snapshot(settings), GENAI)
    assert len(after) == len(before) - 1
    assert sorted(after) == sorted(f"{GENAI}#{i}" for i in range(len(after)))  # no stale trailing id
    before_by_unit = {meta["locator"]: (doc, vec) for meta, doc, vec in before.values()}
    assert "第十条" not in {meta["unit"] for meta, _, _ in after.values()}
    for meta, doc, vector in after.values():
        assert meta["chunk_count"] == len(after)
        old_doc, old_vector = before_by_unit[meta["locator"]]
        assert doc == old_doc and same_vector(vector, old_vector)
    assert_keyword_index_consistent(settings)


def test_deleting_a_file_removes_its_chunks(index_copy):
    settings = index_copy.settings
    before = snapshot(settings)
    (index_copy.corpus_dir / f"{UN}.md").unlink()
    report = run_ingest(settings)
    assert report.ok and report.removed == [UN] and sorted(report.skipped) == [DEEP, GENAI]
    assert report.embedded_chunks == 0 and report.documents == 2
    after = snapshot(settings)
    assert of_doc(after, UN) == {}
    assert report.chunks == len(after) == len(before) - len(of_doc(before, UN))
    for doc_id in (DEEP, GENAI):
        assert_same_rows(of_doc(after, doc_id), of_doc(before, doc_id))
    assert UN not in ClauseStore(settings).documents()
    assert_keyword_index_consistent(settings)


@pytest.mark.parametrize(
    "breakage,reason",
    [
        ("bad-yaml", "broken front matter"),
        ("emptied", "empty file"),
        ("binary", "binary data"),
    ],
)
def test_a_file_that_becomes_broken_keeps_its_previous_chunks(index_copy, breakage, reason):
    settings = index_copy.settings
    path = index_copy.corpus_dir / f"{GENAI}.md"
    original = path.read_bytes()
    before = snapshot(settings)
    broken = {
        "bad-yaml": original.replace(b"\ntitle: ", b"\ntitle: [unclosed ", 1),
        "emptied": b"",
        "binary": b"\x00\x01\x02" * 1000,
    }[breakage]
    path.write_bytes(broken)

    report = run_ingest(settings)
    assert not report.ok
    assert [(f.path.name, reason in f.reason) for f in report.failed] == [(path.name, True)]
    assert "\n" not in report.failed[0].reason
    assert report.removed == [] and report.embedded_chunks == 0 and report.documents == 2
    assert_same_rows(snapshot(settings), before)  # nothing lost because of a bad edit
    assert_keyword_index_consistent(settings)

    path.write_bytes(original)  # fixed again: the kept chunks are current, nothing to do
    report = run_ingest(settings)
    assert report.ok and len(report.skipped) == 3 and report.embedded_chunks == 0
    assert_same_rows(snapshot(settings), before)


def test_bad_inputs_are_reported_while_everything_else_is_ingested(index_copy, shared_corpus):
    settings, corpus = index_copy.settings, index_copy.corpus_dir
    shutil.copyfile(shared_corpus / f"{COMMENTARY}.md", corpus / f"{COMMENTARY}.md")
    bad = {
        "empty.md": (b"", "empty file"),
        "garbage.md": (b"\x00\xff\xfe" + random.Random(7).randbytes(3000), "binary data"),
        "notes.xyz": (b"some notes", "unsupported file type .xyz"),
        "truncated.pdf": (
            b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Ty",
            "unreadable PDF",
        ),
        "bad-yaml.md": (b"---\nid: bad\ntitle: 'unterminated\n---\n\nBody.\n", "broken front matter"),
        "zz-duplicate.md": ((corpus / f"{GENAI}.md").read_bytes(), f"duplicate document id '{GENAI}'"),
    }
    for name, (raw, _) in bad.items():
        (corpus / name).write_bytes(raw)
    (corpus / ".draft.md").write_bytes(b"")  # hidden: ignored, not a failure
    (corpus / "README.md").write_text("# About this folder\n", encoding="utf-8")  # ignored
    (corpus / "sub").mkdir()
    shutil.copyfile(shared_corpus / f"{COMMENTARY}.md", corpus / "sub" / "commentary-copy.md")

    report = run_ingest(settings)
    assert not report.ok
    reasons = {f.path.relative_to(corpus).as_posix(): f.reason for f in report.failed}
    assert sorted(reasons) == sorted([*bad, "sub/commentary-copy.md"])
    for name, (_, expected) in bad.items():
        assert expected in reasons[name], (name, reasons[name])
        assert "\n" not in reasons[name]
    assert reasons["sub/commentary-copy.md"].startswith(f"duplicate document id '{COMMENTARY}'")
    assert report.added == [COMMENTARY] and sorted(report.skipped) == [DEEP, GENAI, UN]
    assert report.documents == 4 and report.removed == []
    commentary_chunks = of_doc(snapshot(settings), COMMENTARY)
    assert report.embedded_chunks == len(commentary_chunks) == 6
    assert {meta["unit"] for meta, _, _ in commentary_chunks.values()} == {f"para {i}" for i in range(1, 7)}
    assert {meta["source_file"] for meta, _, _ in commentary_chunks.values()} == {f"{COMMENTARY}.md"}
    assert_keyword_index_consistent(settings)


def test_rebuild_starts_over(index_copy, clean_index):
    """--rebuild drops the collection: even chunks kept for files that now fail to load are gone."""
    settings, corpus = index_copy.settings, index_copy.corpus_dir
    (corpus / f"{GENAI}.md").write_bytes(b"")
    (corpus / f"{UN}.md").write_bytes(b"\x00" * 10)
    incremental = run_ingest(settings)
    assert len(incremental.failed) == 2 and incremental.chunks == len(snapshot(settings))  # kept

    report = run_ingest(settings, rebuild=True)
    assert report.added == [DEEP] and report.skipped == [] and report.replaced == []
    assert sorted(f.path.name for f in report.failed) == [f"{GENAI}.md", f"{UN}.md"]
    after = snapshot(settings)
    assert {meta["doc_id"] for meta, _, _ in after.values()} == {DEEP}
    assert report.embedded_chunks == len(after) == report.chunks  # nothing reused
    assert_same_rows(after, of_doc(snapshot(clean_index.settings), DEEP), atol=1e-4)
    assert_keyword_index_consistent(settings)


# ---- killed and resumed ----------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def regqa_command() -> list[str]:
    script = Path(sys.executable).with_name("regqa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]


class IngestProcess:
    """``regqa ingest`` in a subprocess, with its live progress (stderr) readable while it runs."""

    def __init__(self, env: dict[str, str]) -> None:
        # TTY_* make rich draw live progress into the pipe, as it would on a terminal
        env = {**env, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}
        self.proc = subprocess.Popen(
            [*regqa_command(), "ingest"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.started = time.monotonic()
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in iter(lambda: self.proc.stderr.read1(4096), b""):
            self.stderr += ANSI.sub("", raw.decode("utf-8", "replace"))

    @property
    def recent(self) -> str:
        """The last few redraws of the progress display (each redraw shows every stage so far)."""
        return self.stderr[-4000:]

    def _close(self) -> None:
        self._reader.join(10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def kill_when(self, condition, timeout: float = 120) -> bool:
        """SIGKILL as soon as ``condition(self)`` holds; False if the process ended first."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                if condition(self):
                    self.proc.send_signal(signal.SIGKILL)
                    self.proc.wait(30)
                    return True
                time.sleep(0.02)
            self.proc.kill()
            self.proc.wait(30)
            raise AssertionError(f"ingest neither finished nor reached the kill point:\n{self.stderr[-2000:]}")
        finally:
            self._close()

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        out = self.proc.stdout.read()  # until the process closes it (pytest-timeout guards against a hang)
        self.proc.wait(timeout)
        self._close()
        return self.proc.returncode, out.decode("utf-8", "replace")


def _stage(name: str, at_least: int = 1, complete: bool = False):
    """A kill condition: the live progress shows stage ``name`` at >= ``at_least`` done (or done == total)."""
    pattern = re.compile(rf"{name}\s+\S*\s+(\d+)/(\d+)")

    def condition(p: IngestProcess) -> bool:
        return any(
            int(done) >= at_least and (not complete or done == total) for done, total in pattern.findall(p.recent)
        )

    return condition


def test_killed_then_resumed_ingest_equals_a_clean_one(tmp_path, small_corpus, settings_factory, cli_env, clean_index):
    settings = settings_factory(tmp_path, small_corpus)
    env = cli_env(settings)
    delay = random.Random(20240611).uniform(2.0, 6.0)
    # Each run resumes what the previous one left. Documents are processed in file order (deep synthesis,
    # genai, UN); rich redraws its progress 10 times a second, so a kill lands within ~0.1 s of its trigger.
    kill_points = [
        ("files loaded: model loading or first document embedding, nothing written yet", _stage("load", complete=True)),
        ("first document indexed: the next one embedding", _stage("index")),
        ("first document of the resumed run indexed: the next one embedding", _stage("index")),
        ("random delay", lambda p: time.monotonic() - p.started > delay),
    ]
    killed = []
    for name, condition in kill_points:
        if IngestProcess(env).kill_when(condition):
            killed.append(name)
    # (this process opens the index only now: an embedded Chroma client caches what it has read, so one kept
    # open in this process while other processes write the same directory would serve stale state)
    assert len(killed) >= 3, f"the process ended before most kill points: only killed at {killed}"

    code, out = IngestProcess(env).finish()
    assert code == 0, out
    assert "done in" in out
    assert_same_rows(snapshot(settings), snapshot(clean_index.settings), atol=1e-4)
    assert all(d.complete for d in ClauseStore(settings).documents().values())
    assert_keyword_index_consistent(settings)

    again = run_ingest(settings)  # and the resumed index is a normal one: nothing left to do
    assert again.ok and again.embedded_chunks == 0 and len(again.skipped) == 3


def test_killed_after_indexing_before_keyword_step_rebuilds_the_keyword_index(index_copy):
    """A run killed between the last Chroma write and the keyword step leaves a stale keyword index."""
    settings = index_copy.settings
    (index_copy.corpus_dir / f"{UN}.md").unlink()
    store = ClauseStore(settings)
    store.delete_document(UN)  # what a killed run would have done before reaching the keyword step
    stale = KeywordIndex.load(keyword_dir(settings))
    assert any(cid.startswith(UN) for cid in stale.ids)

    report = run_ingest(settings)
    assert report.ok and report.removed == [] and report.embedded_chunks == 0
    index = assert_keyword_index_consistent(settings)
    assert not any(cid.startswith(UN) for cid in index.ids)


def test_a_document_left_half_written_is_redone(index_copy, clean_index):
    """What a kill between two add batches of a long document leaves: only its first chunks are there."""
    settings = index_copy.settings
    store = ClauseStore(settings)
    total = len(of_doc(snapshot(settings), GENAI))
    store.collection.delete(ids=[f"{GENAI}#{i}" for i in range(5, total)])
    state = ClauseStore(settings).documents()[GENAI]
    assert not state.complete and state.chunks_present == 5 and state.chunk_count == total

    report = run_ingest(settings)
    assert report.ok and report.replaced == [GENAI] and sorted(report.skipped) == [DEEP, UN]
    assert report.embedded_chunks == total - 5  # the 5 chunks still there are reused
    assert_same_rows(snapshot(settings), snapshot(clean_index.settings))
    assert ClauseStore(settings).documents()[GENAI].complete
    assert_keyword_index_consistent(settings)


def test_changing_the_chunk_size_resplits_unchanged_files(index_copy, small_doc_ids):
    """Chunks depend on the settings too, not only on the file: a new chunk size re-splits every document,
    re-embedding only the pieces whose text is new."""
    old = index_copy.settings
    new = old.with_overrides(chunk_max_chars_zh=200)
    old_texts = {c.embed_text for _, chunks in expected_chunks(old, index_copy.corpus_dir).values() for c in chunks}
    expected = expected_chunks(new, index_copy.corpus_dir)
    fresh = sum(c.embed_text not in old_texts for _, chunks in expected.values() for c in chunks)
    assert fresh > 0

    report = run_ingest(new)
    assert report.ok and sorted(report.replaced) == list(small_doc_ids) and report.skipped == []
    assert report.embedded_chunks == fresh
    after = snapshot(new)
    assert sorted(after) == sorted(c.chunk_id for _, chunks in expected.values() for c in chunks)
    for _, chunks in expected.values():
        for chunk in chunks:
            assert after[chunk.chunk_id][1] == chunk.text and after[chunk.chunk_id][0]["locator"] == chunk.locator
    assert max(len(text) for meta, text, _ in after.values() if meta["language"] == "zh") <= 1.3 * 200
    assert_keyword_index_consistent(new)

    again = run_ingest(new)
    assert again.ok and again.embedded_chunks == 0 and sorted(again.skipped) == list(small_doc_ids)


def _open_at_once(settings, threads: int) -> list[str]:
    """Open the store from ``threads`` threads released together; the errors raised."""
    start, errors = threading.Barrier(threads), []

    def open_store() -> None:
        start.wait()
        try:
            ClauseStore(settings).documents()
        except Exception as exc:  # the test reports whatever it was
            errors.append(repr(exc))

    workers = [threading.Thread(target=open_store) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return errors


def test_threads_of_one_process_may_open_the_store_at_once(tmp_path, settings_factory, small_corpus):
    # an upload checks its id against the store while a re-index job opens it: Chroma's embedded client failed when
    # two threads opened it at the same moment (14 of 15 trials of six threads before the lock)
    for trial in range(5):
        assert not (errors := _open_at_once(settings_factory(tmp_path / str(trial), small_corpus), 6)), errors
