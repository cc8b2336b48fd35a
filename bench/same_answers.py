"""Compare two `regqa eval --dump` files item by item: what was retrieved (doc, unit, text, order), the answer text,
the citations and the refusal flag. Latency and scores are ignored. Prints the differing items and exits 1 if any.

A structural change (issue 11) must leave every item identical: `python bench/same_answers.py REF.jsonl NEW.jsonl`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COMPARED = ("answer", "refused")


def _records(path: Path) -> dict[str, dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {rec["id"]: rec for rec in (json.loads(line) for line in lines if line.strip())}


def _view(rec: dict) -> dict:
    out = {key: rec.get(key) for key in COMPARED}
    out["retrieved"] = [(r["doc_id"], r["unit"], r["text"]) for r in rec.get("retrieved", [])]
    out["citations"] = [(c["doc_id"], c["unit"]) for c in rec.get("citations", [])]
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    ref, new = (_records(Path(p)) for p in argv)
    differing = []
    for item_id in sorted(set(ref) | set(new)):
        if item_id not in ref or item_id not in new:
            differing.append((item_id, "missing in " + ("reference" if item_id not in ref else "new")))
            continue
        a, b = _view(ref[item_id]), _view(new[item_id])
        fields = [key for key in a if a[key] != b[key]]
        if fields:
            differing.append((item_id, ", ".join(fields)))
    for item_id, what in differing:
        print(f"{item_id}: {what}")
    print(f"{len(ref)} reference items, {len(new)} new items, {len(differing)} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
