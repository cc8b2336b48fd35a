"""Splitting long texts to the platforms' limits: characters (Slack) and UTF-8 bytes (WeCom)."""

from __future__ import annotations

import re

import pytest

from assistant.channels.base import split_text, utf8_len


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("measure,limit", [(len, 100), (utf8_len, 2048), (utf8_len, 61)])
def test_pieces_fit_and_nothing_is_lost(measure, limit):
    link = '<a href="https://www.cac.gov.cn/2023-07/13/c_1690898327029107.htm">《生成式人工智能服务管理暂行办法》第十二条</a>'
    slack_link = "<https://docs.un.org/en/A/RES/78/311|UN GA Resolution A/RES/78/311 para 3>"
    text = "\n\n".join(
        [
            "以下为《互联网信息服务深度合成管理规定》第十七条的原文：",
            "深度合成服务提供者" * 120,  # one line far longer than the limit, no spaces
            "Calls upon the international community to foster an enabling environment " * 6,
            f"[1] {link}\n[2] {slack_link} &amp; more",
        ]
    )
    pieces = split_text(text, limit, measure)
    assert len(pieces) >= 2
    assert all(measure(p) <= limit for p in pieces)
    assert _squeeze("".join(pieces)) == _squeeze(text)
    if measure(link) <= limit:
        assert any(link in p for p in pieces)  # links are never cut
        assert any(slack_link in p for p in pieces)


def test_short_text_is_one_piece_and_paragraphs_stay_whole():
    assert split_text("one\n\ntwo", 4000) == ["one\n\ntwo"]
    clause_a, clause_b = "> " + "a" * 50, "> " + "b" * 50
    pieces = split_text(f"lead line\n\n{clause_a}\n\n{clause_b}\n", 70)
    assert pieces == [f"lead line\n\n{clause_a}", clause_b]
