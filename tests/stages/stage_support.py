"""Names of the fixture corpus and its documents, shared by the fast stage tests (tests/fixtures/corpus)."""

from __future__ import annotations

import shutil
from pathlib import Path

FIXTURE_CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
FAKE_EMBEDDER = "hashing-test"

CN_DOC = "cn-sample-chatbot-measures"
EN_DOC = "en-sample-hiring-tools-regulation"
RULEBOOK = "sample-data-exchange-rulebook"
CN_TITLE = "智能客服机器人服务管理示例办法"
EN_TITLE = "Model Regulation on Automated Hiring Tools"


def copy_fixture_corpus(dest: Path) -> Path:
    """Writable copies of the three fixture documents in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in FIXTURE_CORPUS.iterdir():
        shutil.copyfile(path, dest / path.name)
    return dest
