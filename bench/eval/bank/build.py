"""Build the question bank from the writers' raw files: verify every item by script, then split it.

    python bench/eval/bank/build.py [--corpus ../shared/corpus]

Checks (the conventions of ../shared/eval/README.md), each failure dropping the item and listed in the report:
- the record has the fields of the dev format; `history` only with `history_kind`; unanswerable <=> empty gold;
- every gold evidence (Markdown removed, whitespace removed) occurs in the named document AND inside a chunk of the
  named unit, as our splitter cuts the document (unit labels compared without case/whitespace, Sec./Section);
- the question shares no 12-character (zh) / 25-character (en) string with any document it names as gold.
Split: by a hash of the item id (not of the document), 60 % train / 20 % validation / 20 % test, so every document
appears in every split. The test split is frozen: measured once, at the end, and reported.

Writes bench/eval/bank/{train,validation,test}.jsonl and bench/eval/bank/report.json.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from ingest.catalog import load_catalog  # noqa: E402
from ingest.loaders import load_document  # noqa: E402
from ingest.splitter import chunk_document  # noqa: E402

TYPES = {
    "factoid",
    "obligation",
    "definition",
    "scenario",
    "lookup",
    "cross-lingual",
    "cross-doc",
    "comparison",
    "follow-up",
    "unanswerable",
}
SPLITS = (("train", 60), ("validation", 20), ("test", 20))


def norm(s: str) -> str:
    s = re.sub(r"\*\*|\[\^\d+\]", "", s)
    s = re.sub(r"(?m)^\s*(#{1,6}|-)\s+", "", s)
    return re.sub(r"\s+", "", s)


def unit_key(label: str) -> str:
    key = re.sub(r"\s+", "", label).lower()
    return re.sub(r"^(section|sec\.)", "sec.", re.sub(r"^(article|art\.)", "article", key))


def split_of(item_id: str) -> str:
    bucket = int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % 100
    edge = 0
    for name, share in SPLITS:
        edge += share
        if bucket < edge:
            return name
    return SPLITS[-1][0]


class Corpus:
    def __init__(self, corpus_dir: Path) -> None:
        catalog = load_catalog(ROOT / "corpus" / "catalog.toml")
        self.text: dict[str, str] = {}
        self.units: dict[str, dict[str, str]] = {}
        for path in sorted(corpus_dir.glob("*.md")):
            if path.name == "README.md":
                continue
            doc = load_document(path, catalog)
            self.text[doc.doc_id] = norm(doc.body)
            units: dict[str, str] = collections.defaultdict(str)
            for chunk in chunk_document(doc, catalog.get(doc.doc_id)):
                units[unit_key(chunk.unit)] += norm(chunk.text)
            self.units[doc.doc_id] = dict(units)

    def check_gold(self, gold: dict) -> str | None:
        doc, unit, evidence = gold.get("doc_id"), gold.get("unit", ""), norm(gold.get("evidence", ""))
        if doc not in self.text:
            return f"unknown doc_id {doc!r}"
        if not 4 <= len(evidence) <= 40:
            return f"evidence length {len(evidence)}"
        if evidence not in self.text[doc]:
            return f"evidence not in {doc}"
        chunk_text = self.units[doc].get(unit_key(unit))
        if chunk_text is None:
            return f"no unit {unit!r} in {doc}"
        if evidence not in chunk_text:
            return f"evidence not inside {doc} {unit}"
        return None

    def copies(self, question: str, lang: str, docs: set[str]) -> str | None:
        width = 12 if lang == "zh" else 25
        q = re.sub(r"\s+", "", question) if lang == "zh" else question
        for doc in docs:
            text = self.text[doc] if lang == "zh" else None
            if text is None:  # English: compare with whitespace kept but collapsed
                continue
            for i in range(0, max(0, len(q) - width + 1)):
                if q[i : i + width] in text:
                    return f"question copies {q[i : i + width]!r} from {doc}"
        return None


def check_item(item: dict, corpus: Corpus, english_text: dict[str, str]) -> list[str]:
    problems = []
    for key in ("id", "question", "lang", "type", "gold", "answer_points"):
        if key not in item:
            problems.append(f"missing {key}")
    if problems:
        return problems
    if item["type"] not in TYPES:
        problems.append(f"type {item['type']!r}")
    if item["lang"] not in ("zh", "en"):
        problems.append(f"lang {item['lang']!r}")
    if bool(item.get("history")) != bool(item.get("history_kind")):
        problems.append("history without history_kind (or the reverse)")
    if (item["type"] == "unanswerable") != (not item["gold"]):
        problems.append("unanswerable must have empty gold and only it")
    for gold in item["gold"]:
        problem = corpus.check_gold(gold)
        if problem:
            problems.append(problem)
    docs = {g["doc_id"] for g in item["gold"] if g.get("doc_id") in corpus.text}
    if item["lang"] == "zh":
        problem = corpus.copies(item["question"], "zh", docs)
    else:
        q = re.sub(r"\s+", " ", item["question"])
        problem = next(
            (
                f"question copies {q[i : i + 25]!r}"
                for doc in docs
                for i in range(len(q) - 24)
                if q[i : i + 25] in english_text[doc]
            ),
            None,
        )
    if problem:
        problems.append(problem)
    return problems


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = parser.parse_args()
    corpus = Corpus(args.corpus)
    english_text = {}
    for path in sorted(args.corpus.glob("*.md")):
        if path.name != "README.md":
            doc = load_document(path, {})
            english_text[path.stem] = re.sub(r"\s+", " ", doc.body)
    items, dropped, seen = [], [], set()
    for raw in sorted((HERE / "raw").glob("w*.jsonl")):
        for n, line in enumerate(raw.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                dropped.append({"file": raw.name, "line": n, "problems": [f"json: {exc}"]})
                continue
            problems = check_item(item, corpus, english_text)
            if item.get("id") in seen:
                problems.append("duplicate id")
            seen.add(item.get("id"))
            if problems:
                dropped.append({"id": item.get("id"), "problems": problems})
                continue
            item["split"] = split_of(item["id"])
            items.append(item)
    by_split = collections.defaultdict(list)
    for item in items:
        by_split[item["split"]].append(item)
    for name, _ in SPLITS:
        with open(HERE / f"{name}.jsonl", "w", encoding="utf-8") as out:
            for item in by_split[name]:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
    n = len(items)
    mix = {
        "items": n,
        "dropped": len(dropped),
        "by_split": {k: len(v) for k, v in sorted(by_split.items())},
        "by_type": dict(collections.Counter(i["type"] for i in items).most_common()),
        "by_lang": dict(collections.Counter(i["lang"] for i in items)),
        "scenario_or_colloquial": round(
            sum(i["type"] == "scenario" or bool(i.get("colloquial")) for i in items) / n, 3
        ),
        "cross_lingual": round(
            sum(
                i["type"] == "cross-lingual"
                or any((g["doc_id"].startswith("cn-")) != (i["lang"] == "zh") for g in i["gold"])
                for i in items
            )
            / n,
            3,
        ),
        "with_dependent_history": round(sum(i.get("history_kind") == "dependent" for i in items) / n, 3),
        "with_unrelated_history": round(sum(i.get("history_kind") == "unrelated" for i in items) / n, 3),
        "unanswerable": round(sum(i["type"] == "unanswerable" for i in items) / n, 3),
        "unanswerable_kinds": dict(
            collections.Counter(
                i.get("unanswerable_kind", "?") for i in items if i["type"] == "unanswerable"
            ).most_common()
        ),
        "documents_in_gold": len({g["doc_id"] for i in items for g in i["gold"]}),
    }
    (HERE / "report.json").write_text(
        json.dumps({"mix": mix, "dropped": dropped}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    print(json.dumps(mix, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
