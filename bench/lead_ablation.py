"""The lead's sentence model against the rule score it replaced, on the same answers (same run).

    REGQA_INDEX_DIR=var/bench/usem3 python bench/lead_ablation.py [--dataset FILE]...

For every answerable question the service answers, the lead is composed twice from the same cited clauses: with the
learned sentence model (assistant/answering/lead_scoring.py) and with the rule score (``model = ""``). Prints and
writes (bench/results/lead-ablation.json) the share of leads holding a gold evidence string and the median length
of the leads per question language.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answering.service import AnswerService  # noqa: E402
from assistant.metrics import load_dataset, norm  # noqa: E402
from common.settings import Settings  # noqa: E402

DEFAULT_DATASETS = [ROOT / "bench" / "eval" / "bank" / "validation.jsonl"]


def measure(service: AnswerService, path: Path) -> dict:
    composer = service.composer
    held = {"model": [], "rule": []}
    chars: dict[str, dict[str, list[int]]] = {"model": {"zh": [], "en": []}, "rule": {"zh": [], "en": []}}
    for item in load_dataset(path):
        if not item.answerable:
            continue
        prepared = service.prepare(item.question, item.history)
        if prepared.decision.refused:
            continue
        question, groups = composer.lead_choices(prepared.result, prepared.language)
        evidence = [norm(g["evidence"]) for g in item.gold]
        for name, model in (("model", composer.lead_model), ("rule", None)):
            text = composer.compose_groups(question, groups, model).text
            held[name].append(any(e in norm(text) for e in evidence))
            chars[name]["zh" if item.lang == "zh" else "en"].append(len(text))
    return {
        name: {
            "lead_holds_evidence": round(sum(v) / len(v), 3) if v else None,
            "answered": len(v),
            "lead_chars_p50": {lang: statistics.median(c) if c else None for lang, c in chars[name].items()},
        }
        for name, v in held.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, action="append", help="Question files (default: bank validation).")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "lead-ablation.json")
    args = parser.parse_args()
    service = AnswerService(Settings())
    results = {path.name: measure(service, path) for path in (args.dataset or DEFAULT_DATASETS)}
    print(json.dumps(results, indent=1, ensure_ascii=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
