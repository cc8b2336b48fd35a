"""What the three ``regqa train-*`` commands share: a progress callback per split, the hash that records which
question files a model was trained on, and writing a JSON report or metadata file."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

SplitProgress = Callable[[str, int, int], None]  # progress(split, done, total)


def split_progress(progress: SplitProgress | None, split: str) -> Callable[[int, int], None]:
    """The per-split callback ``collect`` functions take (a no-op without ``progress``)."""

    def report(done: int, total: int) -> None:
        if progress:
            progress(split, done, total)

    return report


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
