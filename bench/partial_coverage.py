"""Partial coverage (issue 12, item 3): does the answer say which part of a question the corpus does not cover?

    python bench/partial_coverage.py [--split validation|test] [--bank bench/eval/bank/validation.jsonl]
                                     [--out bench/results/partial-coverage-<split>.json]

Data: ``bench/eval/partial/raw/*.jsonl``, written blind (``bench/eval/partial/WRITERS.md``): ``partial`` questions
with one part a document answers and one part no corpus text answers (``uncovered``: the words of the question
that ask for it), and ``multi-part`` controls whose parts are all answered. Split by writer, so by document: p1
(EU AI Act, CoE Convention) and p2 (four Chinese rules) are the validation split (choices are made on it); p3
(NIST AI RMF, SB 53, Korean AI Basic Act, Cybersecurity Law, Algorithm Recommendation) is the frozen test split.

Figures, each over the service as a user meets it (``AnswerService.answer``):
- partial: share declined as a whole; share with an uncovered-part notice; share whose notice names the right part
  (a reported part holds at least half of the writer's ``uncovered`` words);
- multi-part controls and the bank's answerable questions: share with a (false) notice; share declined;
- latency of questions of several parts (median, ms) against those of one part, same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answering.question_parts import split_parts  # noqa: E402

RAW = ROOT / "bench" / "eval" / "partial" / "raw"
SPLITS = {"validation": ("p1", "p2"), "test": ("p3",)}


def names_part(question: str, uncovered: str, reported: list[str]) -> bool:
    """A reported part covers at least half of the writer's uncovered span (and is not the whole question)."""
    start = question.find(uncovered)
    if start < 0:
        return False
    want = set(range(start, start + len(uncovered)))
    for part in reported:
        at = question.find(part)
        if at < 0 or part.strip() == question.strip():
            continue
        if len(want & set(range(at, at + len(part)))) >= len(want) / 2:
            return True
    return False


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def run(split: str, bank: Path | None) -> dict:
    from assistant.answering.service import AnswerService

    service = AnswerService()
    service.warm_up()
    items = [
        json.loads(line)
        for writer in SPLITS[split]
        if (RAW / f"{writer}.jsonl").exists()
        for line in (RAW / f"{writer}.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    rows, latency_multi, latency_single = [], [], []
    for item in items:
        t = time.perf_counter()
        answer = service.answer(item["question"])
        ms = (time.perf_counter() - t) * 1000
        (latency_multi if len(split_parts(item["question"])) > 1 else latency_single).append(ms)
        rows.append(
            {
                "id": item["id"],
                "type": item["type"],
                "lang": item["lang"],
                "parts": split_parts(item["question"]),
                "refused": answer.refused,
                "uncovered": answer.uncovered,
                "right_part": item["type"] == "partial"
                and names_part(item["question"], item["uncovered"], answer.uncovered),
            }
        )
    partial = [r for r in rows if r["type"] == "partial"]
    controls = [r for r in rows if r["type"] == "multi-part"]
    out = {
        "split": split,
        "writers": list(SPLITS[split]),
        "partial": {
            "questions": len(partial),
            "split_into_parts": _share([len(r["parts"]) > 1 for r in partial]),
            "declined_whole": _share([r["refused"] for r in partial]),
            "notice": _share([bool(r["uncovered"]) for r in partial]),
            "notice_names_right_part": _share([r["right_part"] for r in partial]),
        },
        "multi_part_controls": {
            "questions": len(controls),
            "false_notice": _share([bool(r["uncovered"]) for r in controls]),
            "declined": _share([r["refused"] for r in controls]),
        },
        "latency_ms_p50": {
            "several_parts": round(statistics.median(latency_multi), 1) if latency_multi else None,
            "one_part": round(statistics.median(latency_single), 1) if latency_single else None,
        },
        "items": rows,
    }
    if bank:
        answerable = [json.loads(line) for line in bank.read_text(encoding="utf-8").splitlines() if line.strip()]
        answerable = [i for i in answerable if i["type"] != "unanswerable"]
        flags = [bool(service.answer(i["question"], history=i.get("history")).uncovered) for i in answerable]
        out["bank_answerable"] = {"file": bank.name, "questions": len(flags), "false_notice": _share(flags)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="validation")
    parser.add_argument(
        "--bank", type=Path, default=None, help="a bank file whose answerable questions must get no notice"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = run(args.split, args.bank)
    out = args.out or ROOT / "bench" / "results" / f"partial-coverage-{args.split}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "items"}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
