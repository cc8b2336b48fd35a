"""Faults: an index directory that cannot be written. Ingest (CLI and API) must fail with a clear one-line
message — no stack trace — and leave the index as it was; once the cause is gone, the next ingest completes.

- Portable: the index dir lies under a regular *file* (so it cannot be created) — works for any user, root too.
- Portable: the ingest process may not grow any file (``RLIMIT_FSIZE`` = 0, like a full disk for that process).
- As root only (skipped otherwise, with the reason): a read-only bind mount of an existing index, and a tiny
  tmpfs filled up (a real disk-full: ENOSPC) — both before the first write and half-way through an ingest.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from rel_support import (
    IngestProcess,
    assert_json_error,
    free_port,
    keyword_index_problems,
    regqa_command,
    release_chroma,
    rows_differ,
    snapshot,
    tree_digest,
)

EXTRA_DOC = "cn-commentary-why-ai-safety-regulation-2024.md"  # 6 chunks: a small change to ingest


def _cli(args: list[str], env: dict, preexec_fn=None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*regqa_command(), *args],
        env={**env, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def _assert_clear_cli_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 2, (result.returncode, output[-3000:])
    assert "Traceback" not in output and "╭─" not in output, output[-3000:]
    flat = " ".join(result.stderr.split())
    assert "error: " in flat, output[-2000:]
    message = flat[flat.index("error: ") :]  # the error line (rich may wrap it)
    assert all(n in message for n in needles), (needles, message)
    return message


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


def _can_mount(tmp_path: Path) -> str | None:
    """None when this process may mount file systems (root with CAP_SYS_ADMIN), else why not."""
    if os.name != "posix" or not shutil.which("mount"):
        return "no mount command"
    if os.geteuid() != 0:
        return "needs root (mount)"
    probe = tmp_path / "mount-probe"
    probe.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe))
    except (subprocess.CalledProcessError, OSError) as exc:
        return f"mount not permitted here: {getattr(exc, 'stderr', b'') or exc}"
    subprocess.run(["umount", str(probe)], capture_output=True, timeout=30)
    return None


@pytest.fixture
def changed_corpus(index_copy, shared_corpus):
    """The private index copy, with one more document in its corpus (so an ingest has something to write)."""
    shutil.copyfile(shared_corpus / EXTRA_DOC, index_copy.corpus_dir / EXTRA_DOC)
    return index_copy


# ---- portable ------------------------------------------------------------------------------------------------


def test_index_dir_under_a_regular_file(tmp_path, clean_index, settings_factory, cli_env):
    from support.live_server import LiveServer

    from assistant.web import create_app
    from ingest.pipeline import run_ingest
    from ingest.store import IndexError_

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a regular file where the index directory should be\n")
    settings = settings_factory(blocker, clean_index.corpus_dir)  # index_dir = not-a-dir/index
    with pytest.raises(IndexError_, match=r"cannot create index directory .*not-a-dir/index/chroma: Not a directory"):
        run_ingest(settings)
    env = cli_env(settings)
    message = _assert_clear_cli_error(_cli(["ingest"], env), "cannot create index directory", "Not a directory")
    _assert_clear_cli_error(_cli(["ask", "深度合成服务提供者的标识义务"], env), "cannot create index directory")
    assert blocker.read_text().startswith("a regular file")  # untouched

    # the web app starts, says why it is not ready, and answers the API with a JSON 503 (no stack trace)
    server = LiveServer(create_app(settings, with_ui=False), free_port())
    server.thread.start()
    try:
        r = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                r = httpx.get(server.url + "/readyz", timeout=5)
                if r.status_code == 503 and "cannot create" in r.text:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert r is not None, "the web app never answered /readyz"
        error = assert_json_error(r, 503)
        assert "cannot create index directory" in error["message"] and error["type"] == "not_ready"
        ask = httpx.post(server.url + "/v1/ask", json={"question": "深度合成服务提供者的标识义务"}, timeout=30)
        assert "cannot create index directory" in assert_json_error(ask, 503)["message"]
        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    finally:
        server.stop()
    print(f"\n[index under a file] CLI: {message[:200]}")


def _no_file_growth() -> None:
    """In the child: any write past offset 0 of any file fails with EFBIG (as with a full disk)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def test_ingest_that_may_not_write_fails_clearly_and_changes_nothing(changed_corpus, cli_env):
    settings = changed_corpus.settings
    before_files = tree_digest(settings.index_dir)
    result = _cli(["ingest"], cli_env(settings), preexec_fn=_no_file_growth)
    message = _assert_clear_cli_error(result, "cannot", "index")
    assert tree_digest(settings.index_dir) == before_files  # not one byte changed

    # with the limit gone, the same ingest completes
    result = _cli(["ingest"], cli_env(settings))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = snapshot(settings)
    assert {m["doc_id"] for m, _, _ in rows.values()} >= {Path(EXTRA_DOC).stem}
    assert not keyword_index_problems(settings)
    print(f"\n[RLIMIT_FSIZE=0] CLI: {message[:200]}")


# ---- root only: a read-only mount, a full disk -------------------------------------------------------------------


def test_read_only_index_mount(tmp_path, changed_corpus, settings_factory, cli_env):
    from ingest.pipeline import run_ingest
    from ingest.store import IndexError_

    reason = _can_mount(tmp_path)
    if reason:
        pytest.skip(f"read-only bind mount: {reason}")
    source = changed_corpus.settings.index_dir
    mountpoint = tmp_path / "ro" / "index"
    mountpoint.mkdir(parents=True)
    before = tree_digest(source)
    _mount("--bind", str(source), str(mountpoint))
    try:
        _mount("-o", "remount,bind,ro", str(mountpoint))
        settings = settings_factory(tmp_path / "ro", changed_corpus.corpus_dir)
        assert settings.index_dir == mountpoint
        with pytest.raises(IndexError_, match="cannot open the index at .*read-?only"):
            run_ingest(settings)
        message = _assert_clear_cli_error(_cli(["ingest"], cli_env(settings)), "cannot open the index", "readonly")
        _assert_clear_cli_error(_cli(["docs"], cli_env(settings)), "cannot open the index")
    finally:
        release_chroma(mountpoint / "chroma")
        _unmount(mountpoint)
    assert tree_digest(source) == before
    print(f"\n[read-only mount] CLI: {message[:200]}")


def _unmount(path) -> None:
    """Unmount; if a handle in this process still holds it (busy), detach it lazily so no mount outlives the test."""
    if subprocess.run(["umount", str(path)], capture_output=True, timeout=30).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@pytest.mark.parametrize("room_kb", [0, 256], ids=["full-before-opening", "full-while-writing"])
def test_disk_full_fails_clearly_and_the_next_ingest_recovers(
    tmp_path, changed_corpus, settings_factory, cli_env, shared_corpus, room_kb
):
    """A tmpfs just big enough for the index, then filled (leaving ``room_kb``); ingest two more documents."""
    from ingest.pipeline import run_ingest

    reason = _can_mount(tmp_path)
    if reason:
        pytest.skip(f"tmpfs disk-full: {reason}")
    corpus = changed_corpus.corpus_dir
    shutil.copyfile(shared_corpus / "cn-data-security-law-2021.md", corpus / "cn-data-security-law-2021.md")
    reference_settings = settings_factory(tmp_path / "reference", corpus)
    assert run_ingest(reference_settings).ok  # what the index must hold in the end
    reference = snapshot(reference_settings)
    release_chroma(reference_settings.index_dir / "chroma")

    disk = tmp_path / "disk"
    disk.mkdir()
    index_kb = sum(p.stat().st_size for p in changed_corpus.settings.index_dir.rglob("*") if p.is_file()) // 1024
    _mount("-t", "tmpfs", "-o", f"size={index_kb + room_kb + 2048}k", "tmpfs", str(disk))
    try:
        shutil.copytree(changed_corpus.settings.index_dir, disk / "index")
        settings = settings_factory(disk, corpus)
        free_kb = shutil.disk_usage(disk).free // 1024
        with open(disk / "filler", "wb") as f:  # leave room_kb free
            f.write(b"\0" * max(0, (free_kb - room_kb) * 1024))
        before_files = tree_digest(disk / "index")
        run = IngestProcess(cli_env(settings))
        code, out, err = run.finish()
        result = subprocess.CompletedProcess([], code, out, err)
        message = _assert_clear_cli_error(result, "cannot", "index")
        if room_kb == 0:
            assert tree_digest(disk / "index") == before_files  # failed before writing anything

        (disk / "filler").unlink()  # space again: the next ingest completes, equal to a clean one
        result = _cli(["ingest"], cli_env(settings))
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        problems = rows_differ(snapshot(settings), reference)
        problems += keyword_index_problems(settings)
        assert not problems, problems[:5]
    finally:
        release_chroma(disk / "index" / "chroma")
        _unmount(disk)
    print(f"\n[disk full, {room_kb} KB left] CLI: {message[:220]}")
