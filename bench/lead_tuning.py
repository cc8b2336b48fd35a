"""Fit the lead's numbers (assistant/resources/lead.toml) on the question bank's train split, check on validation.

    REGQA_INDEX_DIR=var/bench/usem3 python bench/lead_tuning.py

Answers every answerable question once (retrieval and citations do not depend on the lead), then re-composes the
lead for each setting in a small grid and reports, per split: the share of leads holding a gold evidence string,
and the median lead length per language (targets: Chinese <= 200, English <= 400 characters). Writes
bench/results/lead_tuning.json. The test split is never read here.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answering import lead as lead_module  # noqa: E402
from assistant.answering.service import AnswerService  # noqa: E402
from assistant.metrics import load_dataset, norm  # noqa: E402
from assistant.retrieval import asks_definition  # noqa: E402
from common.settings import Settings  # noqa: E402

GRID = {
    "also_within": [0.5, 0.6, 0.75, 0.9],
    "rank_prior": [0.0, 0.15, 0.3],
    "value_bonus": [0.3, 0.6],
    "max_sentences": [1, 2, 3],
}


def collect(service: AnswerService, path: Path) -> list[dict]:
    cases = []
    for item in load_dataset(path):
        if not item.answerable:
            continue
        answer = service.answer(item.question, history=item.history)
        if answer.refused:
            continue
        index = service.retriever.index
        pieces = [lead_module.Piece(c.n, c.quote, index.is_framing(c.chunk_id)) for c in answer.citations]
        analysis = service.retriever.analyse(item.question, item.history)
        cases.append(
            {
                "item": item,
                "pieces": pieces,
                "language": answer.language,
                "question": " ".join([analysis.question, *analysis.expansions]),
            }
        )
    return cases


def score(cases: list[dict], weight_of) -> dict:
    hits, chars = [], {"zh": [], "en": []}
    for case in cases:
        lead = lead_module.compose_lead(
            case["question"],
            case["language"],
            case["pieces"],
            weight_of,
            wants_definition=asks_definition(case["question"]),
        )
        text = norm(lead.text)
        hits.append(any(norm(g["evidence"]) in text for g in case["item"].gold))
        chars["zh" if case["language"] == "zh" else "en"].append(len(lead.text))
    return {
        "lead_has_evidence": round(sum(hits) / max(1, len(hits)), 3),
        "answered": len(hits),
        "chars_p50": {k: statistics.median(v) if v else None for k, v in chars.items()},
    }


def main() -> None:
    service = AnswerService(Settings())
    weight_of = service.retriever.index.keyword.idf
    splits = {
        name: collect(service, ROOT / "bench" / "eval" / "bank" / f"{name}.jsonl") for name in ("train", "validation")
    }
    base = lead_module.policy()

    def use(setting: dict) -> None:  # compose_lead reads lead_module.policy() on every call
        patched = dataclasses.replace(base, **setting)
        lead_module.policy = lambda: patched  # type: ignore[assignment]

    rows = []
    for values in itertools.product(*GRID.values()):
        setting = dict(zip(GRID, values))
        use(setting)
        rows.append({"setting": setting, "train": score(splits["train"], weight_of)})
    fits = [
        r for r in rows if (r["train"]["chars_p50"]["zh"] or 0) <= 200 and (r["train"]["chars_p50"]["en"] or 0) <= 400
    ]
    best = max(fits, key=lambda r: r["train"]["lead_has_evidence"])
    use(best["setting"])
    best["validation"] = score(splits["validation"], weight_of)
    use({})
    report = {
        "current": {
            "setting": {k: getattr(base, k) for k in GRID},
            "train": score(splits["train"], weight_of),
            "validation": score(splits["validation"], weight_of),
        },
        "best_on_train": best,
        "grid": rows,
    }
    out = ROOT / "bench" / "results" / "lead_tuning.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "grid"}, ensure_ascii=False, indent=1, default=str))


if __name__ == "__main__":
    main()
