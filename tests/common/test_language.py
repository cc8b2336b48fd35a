"""The one language detector (common/language.py), for questions and for documents that name no language."""

from __future__ import annotations

import pytest

from common.language import detect_language


@pytest.mark.parametrize(
    "text, lang",
    [
        ("生成式人工智能服务提供者有哪些义务？", "zh"),
        ("What are the obligations of providers?", "en"),
        ("AI Act 第五十条讲了什么？", "zh"),
        ("What does 第十七条 of the GenAI measures require from providers of such services?", "en"),
        ("", "en"),
        ("㐀㐁㐂 (CJK Extension A)", "zh"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_a_long_text_is_judged_by_its_opening():
    assert detect_language("中文条款。" * 5000 + "English " * 100000) == "zh"
    assert detect_language("English words here. " * 2000 + "中文" * 100000) == "en"
