"""The ``regqa train-*`` commands run as users run them, on question files written from the bank's rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def write_questions(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def run_training(
    command: str,
    train: Path,
    validation: Path,
    model: Path,
    env: dict[str, str],
    report: Path | None = None,
    timeout: float = 600,
    extra: tuple[str, ...] = (),
) -> subprocess.CompletedProcess:
    """``regqa <command> --train … --validation … --model … [--report …] [extra …]`` in a subprocess."""
    args = [command, "--train", str(train), "--validation", str(validation), "--model", str(model), *extra]
    if report is not None:
        args += ["--report", str(report)]
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
