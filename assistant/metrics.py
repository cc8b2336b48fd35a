"""Evaluation metrics, as defined in ``shared/eval/README.md`` (and in agreement with its ``score.py``)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_CN_ARTICLE = re.compile(r"^(第[一二三四五六七八九十百零〇两]+条)")


def norm(text: str) -> str:
    """Remove Markdown markup (**, leading #s and '- ', footnote markers), then all whitespace."""
    text = re.sub(r"\*\*|\[\^\d+\]", "", text or "")
    text = re.sub(r"(?m)^\s*(#{1,6}|-)\s+", "", text)
    return re.sub(r"\s+", "", text)


def unit_norm(unit: str) -> str:
    """Unit label comparison key: 第二十四条第一款 -> 第二十四条, Art. 5(1)(f) -> article5, Section/Sec."""
    unit = re.sub(r"\s+", "", unit or "").lower()
    if m := _CN_ARTICLE.match(unit):
        return m.group(1)
    unit = re.sub(r"^(article|art\.?)", "article", unit)
    unit = re.sub(r"^(section|sec\.?)", "sec", unit)
    if unit.startswith("article"):
        unit = re.sub(r"\(.*$", "", unit)
    return unit


@dataclass
class EvalItem:
    id: str
    question: str
    lang: str
    type: str
    gold: list[dict]
    history: list[dict] = field(default_factory=list)
    answer_points: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


def load_dataset(path: Path) -> list[EvalItem]:
    items = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            items.append(
                EvalItem(
                    id=raw["id"],
                    question=raw["question"],
                    lang=raw.get("lang", ""),
                    type=raw.get("type", ""),
                    gold=raw.get("gold", []),
                    history=raw.get("history", []),
                    answer_points=raw.get("answer_points", []),
                )
            )
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{path}:{n}: not a dataset record ({exc})") from exc
    return items


def first_hit_rank(item: EvalItem, retrieved: list[dict], cutoff: int = 10) -> int | None:
    """1-based rank of the first retrieved chunk (doc_id, text) that contains a gold evidence string."""
    for rank, chunk in enumerate(retrieved[:cutoff], 1):
        text = norm(chunk.get("text", ""))
        if any(g["doc_id"] == chunk.get("doc_id") and norm(g["evidence"]) in text for g in item.gold):
            return rank
    return None


def citation_correct(item: EvalItem, citations: Iterable[dict], refused: bool) -> bool:
    gold = {(g["doc_id"], unit_norm(g["unit"])) for g in item.gold}
    got = {(c.get("doc_id"), unit_norm(c.get("unit", ""))) for c in citations}
    return bool(gold & got) and not refused


def citation_precision(item: EvalItem, citations: list[dict], texts: dict[tuple[str | None, str], str]) -> float | None:
    """Share of cited units that are gold units or contain a gold evidence string."""
    if not citations:
        return None
    gold = {(g["doc_id"], unit_norm(g["unit"])) for g in item.gold}
    good = 0
    for c in citations:
        key = (c.get("doc_id"), unit_norm(c.get("unit", "")))
        text = norm(texts.get((c.get("doc_id"), c.get("unit", "")), ""))
        if key in gold or any(g["doc_id"] == c.get("doc_id") and norm(g["evidence"]) in text for g in item.gold):
            good += 1
    return good / len(citations)


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)


def summarise(items: list[EvalItem], records: dict[str, dict]) -> dict:
    """Figures overall and per type and language. ``records[id]`` follows the eval dump format."""

    def figures(subset: list[EvalItem]) -> dict[str, float | None]:
        hits: dict[int, list[bool]] = {k: [] for k in (1, 3, 5, 10)}
        rr, cites, precision, refused_unans, refused_ans, latency = [], [], [], [], [], []
        lead_evidence, lead_chars = [], []
        for item in subset:
            rec = records.get(item.id, {})
            if rec:
                latency.append(float(rec.get("latency_ms", 0)))
            if not item.answerable:
                refused_unans.append(bool(rec.get("refused")))
                continue
            refused_ans.append(bool(rec.get("refused")))
            rank = first_hit_rank(item, rec.get("retrieved", []))
            for k in hits:
                hits[k].append(rank is not None and rank <= k)
            rr.append(1.0 / rank if rank else 0.0)
            cites.append(citation_correct(item, rec.get("citations", []), bool(rec.get("refused"))))
            if "lead" in rec:  # the lead holds a gold evidence string of a document it cites (issue 13)
                lead = norm(rec.get("lead") or "")
                lead_evidence.append(any(norm(g["evidence"]) in lead for g in item.gold))
                lead_chars.append(float(len(rec.get("lead") or "")))
            texts: dict[tuple[str | None, str], str] = {
                (c.get("doc_id"), c.get("unit", "")): c.get("quote", "") or c.get("text", "")
                for c in rec.get("citations", [])
            }
            p = citation_precision(item, rec.get("citations", []), texts)
            if p is not None:
                precision.append(p)
        out: dict[str, float | None] = {"items": len(subset), "answerable": len(rr)}
        out.update({f"hit@{k}": _mean(v) for k, v in hits.items()})
        out.update(
            {
                "mrr@10": _mean(rr),
                "citation_correct": _mean(cites),
                "citation_precision": _mean(precision),
                "unanswerable_refused": _mean(refused_unans),
                "answerable_refused": _mean(refused_ans),
                "latency_p50_ms": _percentile(latency, 0.5),
                "latency_p95_ms": _percentile(latency, 0.95),
                "lead_has_evidence": _mean(lead_evidence),
                "lead_chars_p50": _percentile(lead_chars, 0.5),
            }
        )
        return out

    by_type: dict[str, list[EvalItem]] = defaultdict(list)
    by_lang: dict[str, list[EvalItem]] = defaultdict(list)
    for item in items:
        by_type[item.type].append(item)
        by_lang[item.lang].append(item)
    return {
        "overall": figures(items),
        "by_type": {k: figures(v) for k, v in sorted(by_type.items())},
        "by_lang": {k: figures(v) for k, v in sorted(by_lang.items())},
    }
