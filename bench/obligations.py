"""Obligation register quality against the hand-written gold list (bench/obligations/gold.jsonl).

The register is built from the same chunks an ingest stores (the splitter with the configured chunk sizes; no
embedding is needed for it) for the documents in bench/obligations/scope.json. Figures:
- units (第N条 / Article N) in scope: precision and recall of "holds at least one item";
- actor correctness on the found gold units: the set of actor_norms the extractor gives the unit equals the
  gold set (strict);
- the same three at paragraph level (第十条第二款 / Article 26(5)), and modality agreement (sets, strict).
Prints the figures and the misses, writes bench/results/obligations.json.

    PYTHONPATH=. .venv/bin/python bench/obligations.py
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.settings import get_settings  # noqa: E402
from ingest.catalog import load_catalog  # noqa: E402
from ingest.loaders import load_document  # noqa: E402
from ingest.obligations import build_register  # noqa: E402
from ingest.splitter import chunk_document  # noqa: E402

GOLD = ROOT / "bench" / "obligations" / "gold.jsonl"
SCOPE = ROOT / "bench" / "obligations" / "scope.json"
OUT = ROOT / "bench" / "results" / "obligations.json"


def paragraph_of(locator: str) -> str:
    """第四条（三） -> 第四条, 第六条第二款（一） -> 第六条第二款, Article 23(1)(a) -> Article 23(1), Article 16(a) -> Article 16."""
    locator = re.sub(r"（[^）]*）$", "", locator)
    m = re.match(r"^(.*?\d+)(\(\d+\))?", locator)
    return (m.group(1) + (m.group(2) or "")) if m and locator.startswith(("Article", "Annex")) else locator


def unit_of(locator: str) -> str:
    return re.sub(r"第[一二三四五六七八九十]+款$", "", re.sub(r"\(\d+\)$", "", paragraph_of(locator)))


def rows_for(doc_ids: list[str]) -> tuple[list, dict[str, list[str]]]:
    settings = get_settings()
    catalog = load_catalog(settings.catalog_path)
    rows, units = [], {}
    for doc_id in doc_ids:
        doc = load_document(settings.corpus_dir / f"{doc_id}.md", catalog)
        chunks = chunk_document(
            doc, catalog.get(doc_id), max_chars_zh=settings.chunk_max_chars_zh, max_chars_en=settings.chunk_max_chars_en
        )
        units[doc_id] = list(dict.fromkeys(c.unit for c in chunks))
        meta = {"language": doc.language, "status": doc.status, "jurisdiction": doc.jurisdiction, "title": doc.title}
        rows += [
            (
                c.chunk_id,
                {
                    **meta,
                    "doc_id": doc_id,
                    "unit": c.unit,
                    "locator": c.locator,
                    "chunk_index": c.chunk_index,
                    "unit_index": c.unit_index,
                },
                c.text,
            )
            for c in chunks
        ]
    return rows, units


def prf(found: set, gold: set) -> dict:
    tp = len(found & gold)
    return {
        "precision": round(tp / len(found), 3) if found else None,
        "recall": round(tp / len(gold), 3) if gold else None,
        "found": len(found),
        "gold": len(gold),
        "tp": tp,
    }


def agreement(found: dict, gold: dict, keys: set, what: int) -> float | None:
    """Share of ``keys`` whose set of (actor or modality) values is the same in ``found`` and ``gold``."""
    hits = sum(1 for k in keys if {t[what] for t in found[k]} == {t[what] for t in gold[k]})
    return round(hits / len(keys), 3) if keys else None


def main() -> int:
    scope = json.loads(SCOPE.read_text())
    rows, units = rows_for(list(scope))
    in_scope = {(d, u) for d, allowed in scope.items() for u in units[d] if allowed == "*" or u in allowed}
    gold_par: dict = defaultdict(set)
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        if line.strip():
            g = json.loads(line)
            gold_par[(g["doc_id"], g["locator"])] |= {tuple(t) for t in g["triples"]}
    found_par: dict = defaultdict(set)
    for item in build_register(rows):
        key = (item["doc_id"], paragraph_of(item["locator"]))
        if (item["doc_id"], unit_of(item["locator"])) in in_scope:
            found_par[key].add((item["actor_norm"], item["modality"]))
    gold_unit, found_unit = defaultdict(set), defaultdict(set)
    for table, target in ((gold_par, gold_unit), (found_par, found_unit)):
        for (doc, par), triples in table.items():
            target[(doc, unit_of(par))] |= triples
    report = {}
    for level, found, gold in (("unit", found_unit, gold_unit), ("paragraph", found_par, gold_par)):
        both = set(found) & set(gold)
        report[level] = {
            **prf(set(found), set(gold)),
            "actor_correct": agreement(found, gold, both, 0),
            "modality_correct": agreement(found, gold, both, 1),
            "false_positives": sorted(" ".join(k) for k in set(found) - set(gold)),
            "missed": sorted(" ".join(k) for k in set(gold) - set(found)),
            "actor_wrong": sorted(
                f"{' '.join(k)}: found {sorted({t[0] for t in found[k]})} gold {sorted({t[0] for t in gold[k]})}"
                for k in both
                if {t[0] for t in found[k]} != {t[0] for t in gold[k]}
            ),
        }
    report["units_in_scope"] = len(in_scope)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    for level in ("unit", "paragraph"):
        r = report[level]
        print(
            f"{level:9} P {r['precision']}  R {r['recall']}  actor {r['actor_correct']}  modality "
            f"{r['modality_correct']}  (found {r['found']}, gold {r['gold']}, tp {r['tp']})"
        )
        for key in ("false_positives", "missed", "actor_wrong"):
            for line in r[key]:
                print(f"   {key}: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
