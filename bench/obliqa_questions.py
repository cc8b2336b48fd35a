"""Questions for bench/generality.py from the public ObliQA benchmark (RegNLP/ObliQADataset: 40 ADGM rulebooks and
guidance notes, GPT-4-written questions, each with its gold passages).

    python bench/obliqa_questions.py --repo DIR --corpus DIR/obliqa40 [--split dev] [--sample 300] [--seed 12] \\
        --out bench/eval/generality/questions-obliqa40.jsonl

``--repo`` is a clone of the benchmark (a checkout or a bare git directory). ``--corpus`` must already hold its 40
plain-text documents (``scripts/StandartizedRegulatoryDocumentsTXT/*.txt``): each gold passage names its document by
a number, which is matched to the file holding that document's passages. A passage's whole text is its evidence
(the benchmark's own measure: the gold passage is in the top 10), its ``PassageID`` (``14.2.3.Guidance.10.``,
``14)``) the unit. Questions are answerable (the benchmark has no unanswerable ones) and English.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
from pathlib import Path

_SPACE = re.compile(r"\s+")


def squeeze(text: str) -> str:
    return _SPACE.sub("", text)


def read(repo: Path, path: str) -> bytes:
    """A file of the benchmark from a checkout or, for a bare clone, from its HEAD commit."""
    if (repo / path).is_file():
        return (repo / path).read_bytes()
    return subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], capture_output=True, check=True).stdout


def document_files(repo: Path, corpus: Path, documents: int = 40) -> dict[int, str]:
    """Document number -> the corpus file that holds most of its longer passages."""
    texts = {p.name: squeeze(p.read_text(encoding="utf-8", errors="replace")) for p in corpus.glob("*.txt")}
    if not texts:
        raise SystemExit(f"{corpus}: no .txt documents")
    files = {}
    for n in range(1, documents + 1):
        passages = json.loads(read(repo, f"StructuredRegulatoryDocuments/{n}.json"))
        sample = [squeeze(p["Passage"]) for p in passages if len(p["Passage"]) > 80][:40]
        files[n] = max(texts, key=lambda name: sum(s in texts[name] for s in sample))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--split", default="dev", choices=["train", "dev", "test"])
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    files = document_files(args.repo, args.corpus)
    questions = json.loads(read(args.repo, f"ObliQA_{args.split}.json"))
    items = [
        {
            "id": q["QuestionID"],
            "question": q["Question"],
            "lang": "en",
            "type": "obliqa",
            "gold": [
                {"file": files[p["DocumentID"]], "unit": p["PassageID"], "evidence": p["Passage"]}
                for p in q["Passages"]
            ],
        }
        for q in questions
    ]
    random.seed(args.seed)
    chosen = random.sample(items, min(args.sample, len(items)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for item in chosen:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(chosen)} of {len(items)} {args.split} questions written to {args.out}")


if __name__ == "__main__":
    main()
