"""API load benchmark: POST /v1/ask latency and errors at 1, 8 and 32 concurrent clients, and start-up time.

Usage: python bench/api_load.py [--levels 1,8,32] [--requests-per-client 20] [--max-seconds 120]
                                [--dataset ../shared/eval/dev.jsonl] [--out bench/results/api_load.json]

Runs `regqa ingest` first (incremental: a no-op when the default index is current), then starts `regqa serve`
on a free 127.0.0.1 port as a subprocess with the default settings and index, and measures the time from
process start to /healthz 200 and to /readyz 200 (index loaded, model warm). Then, for each concurrency level,
that many asyncio clients (httpx, one connection each) post the dev-set questions (with their history) in turn,
after a short warm-up; each level is bounded in count (clients x requests-per-client) and in time. Reports p50 /
p95 / max latency, errors (any non-200 or transport error) and throughput per level, and the server's RSS.
Targets (issue): zero errors at 32 clients; p95 at 8 clients <= 1 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402

from assistant.metrics import load_dataset  # noqa: E402
from common.settings import PROJECT_ROOT, get_settings  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def regqa() -> list[str]:
    script = Path(sys.executable).with_name("regqa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


def pct(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pick(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))], 1)

    return {"n": len(values), "p50": pick(0.5), "p95": pick(0.95), "max": round(ordered[-1], 1)}


async def level(url: str, clients: int, total: int, payloads: list[dict], max_seconds: float) -> dict:
    latencies: list[float] = []  # of every completed HTTP exchange, whatever its status
    errors: list[str] = []
    attempts = 0
    counter = 0
    stop_at = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def one_client() -> None:
            nonlocal counter, attempts
            while counter < total and time.monotonic() < stop_at:
                payload = payloads[counter % len(payloads)]
                counter += 1
                attempts += 1
                t = time.perf_counter()
                try:
                    r = await client.post("/v1/ask", json=payload)
                    if r.status_code != 200:
                        errors.append(f"{r.status_code}: {r.text[:200]}")
                    latencies.append((time.perf_counter() - t) * 1000)
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        wall = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": attempts,
        "latency_ms": pct(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "throughput_rps": round(len(latencies) / wall, 1),
        "wall_s": round(wall, 1),
        "stopped_by_time_bound": counter < total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--requests-per-client", type=int, default=20)
    parser.add_argument("--min-requests", type=int, default=60, help="at least this many requests per level")
    parser.add_argument("--max-seconds", type=float, default=120, help="time bound per level")
    parser.add_argument("--dataset", default=str(PROJECT_ROOT.parent / "shared" / "eval" / "dev.jsonl"))
    parser.add_argument("--out", default=str(PROJECT_ROOT / "bench" / "results" / "api_load.json"))
    args = parser.parse_args()
    settings = get_settings()
    items = load_dataset(Path(args.dataset))
    payloads = [{"question": i.question, "history": i.history} for i in items]

    print("regqa ingest (incremental) ...", flush=True)
    t = time.perf_counter()
    ingest = subprocess.run([*regqa(), "ingest"], capture_output=True, text=True)
    ingest_s = time.perf_counter() - t
    if ingest.returncode not in (0, 1):  # 1: some file failed, the index is still usable
        sys.exit(f"regqa ingest failed ({ingest.returncode}):\n{ingest.stdout[-2000:]}\n{ingest.stderr[-2000:]}")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = PROJECT_ROOT / "var" / "bench" / "api_load-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log_path, "w") as log:  # the server writes through its own copy
        server = subprocess.Popen(
            [*regqa(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "REGQA_FEEDBACK_LOG_DECLINED": "false"},
        )
    healthy_s = ready_s = None
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and ready_s is None:
            if server.poll() is not None:
                sys.exit(f"regqa serve exited with {server.returncode}; see {log_path}")
            try:
                if healthy_s is None and httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    healthy_s = time.perf_counter() - started
                if healthy_s is not None and httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    ready_s = time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        if ready_s is None:
            sys.exit(f"regqa serve was not ready within 300 s; see {log_path}")
        ready = httpx.get(url + "/readyz").json()
        print(f"ready in {ready_s:.1f} s (alive in {healthy_s:.1f} s): {ready}", flush=True)
        rss_ready = rss_mb(server.pid)
        asyncio.run(level(url, 4, 12, payloads, 60))  # warm-up
        levels = []
        for clients in (int(c) for c in args.levels.split(",")):
            total = max(args.min_requests, clients * args.requests_per_client)
            result = asyncio.run(level(url, clients, total, payloads, args.max_seconds))
            result["server_rss_mb"] = rss_mb(server.pid)
            levels.append(result)
            lat = result["latency_ms"]
            print(
                f"{clients:>3} clients: {result['requests']} requests, p50 {lat['p50']} ms, p95 {lat['p95']} ms, "
                f"max {lat['max']} ms, {result['errors']} errors, {result['throughput_rps']} req/s",
                flush=True,
            )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(30)

    by_clients = {lv["clients"]: lv for lv in levels}
    targets = {}
    if 32 in by_clients:
        targets["zero_errors_at_32_clients"] = by_clients[32]["errors"] == 0
    if 8 in by_clients:
        targets["p95_at_8_clients_le_1s"] = by_clients[8]["latency_ms"]["p95"] <= 1000
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "settings": {
            "embedding_model": settings.embedding_model,
            "answer_mode": settings.answer_mode,
            "index_dir": str(settings.index_dir),
            "corpus_dir": str(settings.corpus_dir),
        },
        "index": {"documents": ready.get("documents"), "chunks": ready.get("chunks")},
        "ingest_before_s": round(ingest_s, 1),
        "startup": {
            "to_healthz_s": round(healthy_s, 2),
            "to_readyz_s": round(ready_s, 2),
            "server_rss_when_ready_mb": rss_ready,
        },
        "questions": f"{len(payloads)} dev-set questions (with history) in turn: {args.dataset}",
        "levels": levels,
        "targets": targets,
    }
    print(json.dumps({"startup": result["startup"], "targets": targets}, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
