"""The one language detector: "zh" when CJK ideographs are more than 15% of the letters, else "en".

Used for questions (the answer language) and for documents whose front matter and catalog entry name no language.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u9fff]")  # CJK Unified Ideographs and Extension A
ZH_SHARE = 0.15  # "AI Act 第五十条讲了什么？" is Chinese; "What does 第十七条 of the GenAI measures require …" English
SAMPLE_CHARS = 20_000  # a long document is judged by its opening


def detect_language(text: str) -> str:
    """ "zh" or "en" for ``text`` (its first ``SAMPLE_CHARS`` characters)."""
    sample = text[:SAMPLE_CHARS]
    letters = sum(ch.isalpha() for ch in sample) or 1
    return "zh" if len(_CJK.findall(sample)) / letters > ZH_SHARE else "en"
