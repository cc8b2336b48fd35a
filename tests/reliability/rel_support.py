"""Helpers for the reliability tests: memory readings, latency figures, JSON requests that survive any string,
a ``regqa`` subprocess with readable progress, a real ``chroma run`` process, and snapshots of an index.

Everything is real: processes are started and killed for real, HTTP goes over 127.0.0.1 only.
"""

from __future__ import annotations

import gc
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from hypothesis import HealthCheck

# ---- numbers -----------------------------------------------------------------------------------------------

# The fuzz tests' hypothesis settings: deterministic by default (reproducible runs); REGQA_TEST_FUZZ_RANDOM=1 explores new examples on every run.
FUZZ_SETTINGS = dict(
    deadline=None,
    database=None,
    derandomize=not os.environ.get("REGQA_TEST_FUZZ_RANDOM"),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def rss_mb() -> float:
    """Resident set size of this process now (Linux /proc), else the peak RSS (other platforms)."""
    gc.collect()
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- HTTP ----------------------------------------------------------------------------------------------------


def json_bytes(payload) -> bytes:
    """JSON with every non-ASCII character escaped: also carries lone surrogates, which UTF-8 cannot."""
    return json.dumps(payload, ensure_ascii=True).encode("ascii")


def post_json(client: httpx.Client, url: str, payload, timeout: float = 60) -> httpx.Response:
    return client.post(url, content=json_bytes(payload), headers={"content-type": "application/json"}, timeout=timeout)


def assert_json_error(response: httpx.Response, status: int | tuple[int, ...] | None = None) -> dict:
    """A JSON error body ``{"error": {"message": "...", "type": "..."}}`` and no stack trace."""
    if status is not None:
        allowed = (status,) if isinstance(status, int) else status
        assert response.status_code in allowed, (response.status_code, response.text[:500])
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body.get("error"), dict), body
    message = body["error"].get("message")
    assert isinstance(message, str) and message.strip(), body
    assert "Traceback" not in response.text and 'File "' not in response.text, response.text[:500]
    return body["error"]


# ---- the regqa command line in a subprocess ------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
STAGE = re.compile(r"\b(load|embed|index|keyword)\s+\S*\s+(\d+)/(\d+)")


def regqa_command() -> list[str]:
    script = Path(sys.executable).with_name("regqa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]


class IngestProcess:
    """``regqa ingest`` in a subprocess; its live progress (rich, drawn into a pipe) is read as it comes."""

    def __init__(self, env: dict[str, str], preexec_fn=None) -> None:
        env = {**env, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}
        self.proc = subprocess.Popen(
            [*regqa_command(), "ingest"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=preexec_fn
        )
        self.started = time.monotonic()
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in iter(lambda: self.proc.stderr.read1(4096), b""):
            self.stderr += ANSI.sub("", raw.decode("utf-8", "replace"))

    def phase(self) -> str:
        """Where the run was, from its progress display: startup (no progress yet), or the last stage shown."""
        found = STAGE.findall(self.stderr[-6000:])
        if not found:
            return "startup"
        stage, done, total = found[-1]
        if stage == "keyword" and done == total:
            return "after keyword index"
        return stage

    def stage_reached(self, stage: str, done: int | None = None) -> bool:
        """Whether the progress display has shown ``stage`` (at ``done`` or more, when given)."""
        return any(s == stage and (done is None or int(d) >= done) for s, d, _ in STAGE.findall(self.stderr[-6000:]))

    def kill_when(self, anchor, extra_s: float, timeout: float = 300) -> tuple[bool, float]:
        """SIGKILL ``extra_s`` seconds after ``anchor(self)`` first holds. (True, seconds since start) when
        killed, (False, seconds) when the process ended first."""
        deadline = self.started + timeout
        fired = None
        while self.proc.poll() is None and time.monotonic() < deadline:
            now = time.monotonic()
            if fired is None and anchor(self):
                fired = now
            if fired is not None and now - fired >= extra_s:
                break
            time.sleep(0.01)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
            self._close()
            return True, time.monotonic() - self.started
        self._close()
        return False, time.monotonic() - self.started

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        try:
            out = self.proc.stdout.read()  # until the process closes it
            self.proc.wait(timeout)
        finally:
            self._close()
        return self.proc.returncode, out.decode("utf-8", "replace"), self.stderr

    def _close(self) -> None:
        self._reader.join(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream and not stream.closed:
                stream.close()


# ---- a real Chroma server --------------------------------------------------------------------------------------


class ChromaServer:
    """``chroma run --path DIR --port PORT`` (the CLI of the chromadb package) as a child process."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> ChromaServer:
        chroma = Path(sys.executable).with_name("chroma")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "server.log", "a") as log:  # the child writes through its own copy
            self.proc = subprocess.Popen(
                [
                    str(chroma),
                    "run",
                    "--path",
                    str(self.data_dir / "db"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("chroma server did not start: " + (self.data_dir / "server.log").read_text()[-2000:])

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(20)
        self.proc = None


# ---- index snapshots -------------------------------------------------------------------------------------------


def snapshot(settings) -> dict[str, tuple[dict, str, np.ndarray]]:
    """id -> (metadata, text, embedding) of everything in the collection."""
    from ingest.store import ClauseStore

    page = ClauseStore(settings).collection.get(include=["metadatas", "documents", "embeddings"])
    return {
        cid: (meta, doc, np.asarray(emb, dtype=np.float32))
        for cid, meta, doc, emb in zip(page["ids"], page["metadatas"], page["documents"], page["embeddings"])
    }


def rows_differ(a: dict, b: dict, atol: float = 1e-4) -> list[str]:
    """What differs between two snapshots (empty when they hold the same rows): ids, metadata, text, vectors."""
    problems = []
    if sorted(a) != sorted(b):
        missing, extra = sorted(set(b) - set(a)), sorted(set(a) - set(b))
        problems.append(f"ids differ: missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)})")
    for cid in sorted(set(a) & set(b)):
        (ma, ta, ea), (mb, tb, eb) = a[cid], b[cid]
        if ma != mb:
            keys = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
            problems.append(f"{cid}: metadata differs in {keys}")
        if ta != tb:
            problems.append(f"{cid}: text differs")
        if ea.shape != eb.shape or not np.allclose(ea, eb, rtol=0, atol=atol):
            problems.append(f"{cid}: embedding differs")
    return problems


def keyword_index_problems(settings) -> list[str]:
    """The saved keyword index must hold exactly the collection's chunks with the collection's fingerprint."""
    from ingest.keyword_index import KeywordIndex, fingerprint
    from ingest.pipeline import keyword_dir, sorted_rows
    from ingest.store import ClauseStore

    rows = sorted_rows(ClauseStore(settings))
    index = KeywordIndex.load(keyword_dir(settings))
    if index is None:
        return ["keyword index missing or unreadable"]
    problems = []
    if index.ids != [cid for cid, _, _ in rows]:
        problems.append("keyword index ids differ from the collection")
    if index.fingerprint != fingerprint((cid, meta) for cid, meta, _ in rows):
        problems.append("keyword index fingerprint differs from the collection")
    return problems


def release_chroma(path: Path) -> None:
    """Stop the embedded Chroma system this process keeps for ``path`` (frees its files and memory).

    Chroma caches one system per persist directory for the life of the process; tests that open many
    throw-away indexes release theirs. Best effort: it uses a chromadb internal and ignores its absence.
    """
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        system = SharedSystemClient._identifier_to_system.pop(str(path), None)
        SharedSystemClient._identifier_to_refcount.pop(str(path), None)
        if system is not None:
            system.stop()
    except Exception:  # noqa: BLE001 - only housekeeping
        pass


def tree_digest(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``root`` (to prove a directory was not touched)."""
    import hashlib

    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def env_seed(default: int) -> int:
    return int(os.environ.get("REGQA_TEST_SEED", default))
