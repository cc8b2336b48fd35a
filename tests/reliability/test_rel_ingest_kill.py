"""Faults: `regqa ingest` killed with SIGKILL at random points, at least 20 times; each run is then resumed to
completion and must equal one clean ingest (ids, metadata, texts exactly; embeddings to 1e-4), with every
document complete and the keyword index consistent with the collection.

Each trial starts from an empty index dir over the small corpus and kills its process after a random delay.
The delays are stratified over the length of an uninterrupted run (measured by the first trial of each worker,
which is not killed and is checked like the others), so the kills land all over the run: during start-up
(imports, model load), while loading, embedding and writing documents, and while building the keyword index.
Two trials run at a time (two cores); the resume runs in this process (`run_ingest`, model already loaded) —
the same code path as the CLI, without paying the start-up again.
"""
from __future__ import annotations

import random
import shutil
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from rel_support import (IngestProcess, env_seed, keyword_index_problems, release_chroma, rows_differ,
                         snapshot)

KILLS_WANTED = 20
WORKERS = 2
BUDGET_S = 200  # the whole test stops starting trials after this


def test_sigkilled_ingest_resumes_to_the_clean_result(tmp_path, clean_index, settings_factory, cli_env, embedder):
    from ingest.pipeline import run_ingest
    from ingest.store import ClauseStore

    reference = snapshot(clean_index.settings)
    assert reference
    seed = env_seed(20250611)
    rng = random.Random(seed)
    lock = threading.Lock()
    started = time.monotonic()
    trials: list[dict] = []
    run_lengths: list[float] = []
    counter = iter(range(10_000))

    def one_trial(delay: float | None) -> dict:
        n = next(counter)
        base = tmp_path / f"t{n:02d}"
        corpus = base / "corpus"
        shutil.copytree(clean_index.corpus_dir, corpus)
        settings = settings_factory(base, corpus)
        proc = IngestProcess(cli_env(settings))
        if delay is None:  # an uninterrupted run: how long a whole run takes under this load
            code, out, err = proc.finish()
            assert code == 0, out + err[-2000:]
            killed, at, phase = False, time.monotonic() - proc.started, "not killed (timing run)"
            with lock:
                run_lengths.append(at)
        else:
            killed, at = proc.kill_after(delay)
            phase = proc.phase() if killed else "finished before the kill"
        report = run_ingest(settings)  # resume to completion
        problems = [] if report.ok else [f"resume failed: {report.failed}"]
        problems += rows_differ(snapshot(settings), reference)
        incomplete = [d for d, s in ClauseStore(settings).documents().items() if not s.complete]
        problems += [f"incomplete after resume: {incomplete}"] if incomplete else []
        problems += keyword_index_problems(settings)
        release_chroma(settings.index_dir / "chroma")
        shutil.rmtree(base, ignore_errors=True)
        return {"n": n, "delay": delay, "killed": killed, "at": round(at, 2), "phase": phase,
                "resumed_embedded": report.embedded_chunks, "problems": problems}

    with ThreadPoolExecutor(WORKERS) as pool:
        for trial in pool.map(one_trial, [None] * WORKERS):  # timing runs, also checked
            trials.append(trial)
        run_length = max(run_lengths)
        # stratified random kill delays over the whole run (a little past its end, so late kills happen too)
        strata = KILLS_WANTED + 2
        delays = [run_length * 1.05 * (i + rng.random()) / strata for i in range(strata)]
        rng.shuffle(delays)
        pending = list(delays)
        futures = []
        while pending or futures:
            while pending and len(futures) < WORKERS and time.monotonic() - started < BUDGET_S:
                futures.append(pool.submit(one_trial, pending.pop()))
            if not futures:
                break
            done = futures.pop(0).result()
            trials.append(done)
            kills = sum(t["killed"] for t in trials)
            if not done["killed"] and kills + len(futures) + len(pending) < KILLS_WANTED:
                pending.append(rng.uniform(0.2, run_length * 0.9))  # replace a trial that ended first

    kills = [t for t in trials if t["killed"]]
    phases = Counter(t["phase"] for t in kills)
    print(f"\n[kill] seed {seed}; uninterrupted run {run_length:.1f} s; {len(kills)} SIGKILLs at "
          f"{sorted(t['at'] for t in kills)} s; phases {dict(phases)}; "
          f"{len(trials) - len(kills)} runs ended before their kill; "
          f"resume re-embedded {sorted(t['resumed_embedded'] for t in kills)} chunks; "
          f"{time.monotonic() - started:.0f} s")
    failed = [t for t in trials if t["problems"]]
    assert not failed, "\n".join(f"trial {t['n']} (killed at {t['at']} s, {t['phase']}): {t['problems'][:5]}"
                                 for t in failed)
    assert len(kills) >= KILLS_WANTED, f"only {len(kills)} kills landed within the {BUDGET_S} s budget"
    # the kills really were spread over the run: before anything was written and while writing
    assert phases["startup"] + phases["load"] >= 1, phases
    assert phases["embed"] + phases["index"] + phases["keyword"] >= KILLS_WANTED // 3, phases
