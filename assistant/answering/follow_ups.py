"""Suggested follow-up questions under an answer: templates (``resources/follow_ups.toml``) filled with the first
cited document's title, skipping topics the question already asks about."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

TEMPLATES_FILE = Path(__file__).resolve().parent.parent / "resources" / "follow_ups.toml"


@lru_cache(maxsize=1)
def _templates() -> tuple[list[tuple[dict[str, str], re.Pattern]], int]:
    data = tomllib.loads(TEMPLATES_FILE.read_text(encoding="utf-8"))
    templates = [({"zh": t["zh"], "en": t["en"]}, re.compile("|".join(t["skip_if"]), re.I)) for t in data["templates"]]
    return templates, int(data["settings"]["max_suggestions"])


def suggest_follow_ups(question: str, language: str, cited_titles: list[str]) -> list[str]:
    if not cited_titles:
        return []
    templates, limit = _templates()
    lang = "zh" if language == "zh" else "en"
    doc = cited_titles[0]
    return [t[lang].format(doc=doc) for t, skip in templates if not skip.search(question)][:limit]
