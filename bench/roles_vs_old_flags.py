"""Check that the unit roles decided at split time (ingest/roles.py) classify every chunk of a corpus exactly as
the flags the retrieval derived by regex when the index loaded, before roles existed (assistant/retrieval.py at
commit 44056f8: ``_PENALTY_SECTION``, ``_PENALTY_OPENING``, ``_IN_FORCE_SECTION``, ``_framing_flags``,
``_COVER_UNITS``, the ``Recital `` prefix, ``_SIGNATURE_UNITS``; copied below verbatim). Split only, no embedding.

    python bench/roles_vs_old_flags.py [CORPUS_DIR]      # prints "N chunks, 0 differ" when they agree
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# bench/ingest.py is named like the ``ingest`` package: drop this directory from sys.path so that it cannot
# shadow the package, and make the project root importable.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

from common.settings import Settings  # noqa: E402
from ingest.catalog import load_catalog  # noqa: E402
from ingest.loaders import corpus_files, load_document  # noqa: E402
from ingest.splitter import chunk_document  # noqa: E402

# --- the old rules, verbatim -------------------------------------------------------------------------------
SCOPE_UNITS = 6
_PENALTY_SECTION = re.compile(r"法律责任|罚则|PENALT|Penalt|罚款|处罚|fines?\b", re.I)
_PENALTY_OPENING = re.compile(r"\s*(?:第[一二三四五六七八九十百零]+条\s*)?违反本(?:法|办法|规定|条例|措施)")
_IN_FORCE_SECTION = re.compile(r"附则|FINAL PROVISIONS|Final provisions|Entry into force|ADDEND|施行", re.I)
_DEFINITIONS_HEADING = re.compile(
    r"下列用语的含义|用语含义|术语和定义|下列术语|\bDefinitions?\b|DEFINITIONS?|"
    r"the following terms",
    re.I,
)
_DEFINES = re.compile(r"是指|[’”\"'] means\b")
_SCOPE_HEADING = re.compile(r"^#*\s*\S+ [\d.-]+ ?[–—-]? ?\(?Scope\b|适用范围", re.I)
_SCOPE_TEXT = re.compile(
    r"适用本(规定|办法|法|条例|规范|文件)|本(规定|办法|法|条例|文件)适用于|"
    r"(This|The) (Regulation|Act|Convention|Order|Framework|Recommendation) (shall )?appl(y|ies)\b",
    re.I,
)
_COVER_UNITS = {"preamble", "通知"}
_SIGNATURE_UNITS = {"signatories", "note"}


def old_flags(metas: list[dict], texts: list[str]) -> list[dict[str, bool]]:
    definitions: set[tuple[str, str]] = set()
    scope: set[tuple[str, str]] = set()
    keys = [(m.get("doc_id", ""), m.get("unit", "")) for m in metas]
    for key, meta, text in zip(keys, metas, texts):
        if _DEFINITIONS_HEADING.search(text[:200]) or len(_DEFINES.findall(text)) >= 2:
            definitions.add(key)
        if int(meta.get("part", 0) or 0) == 0 and (
            _SCOPE_HEADING.search(text.split("\n", 1)[0])
            or (_SCOPE_TEXT.search(text[:150]) and int(meta.get("unit_index", 0) or 0) < SCOPE_UNITS)
        ):
            scope.add(key)
    return [
        {
            "penalty": bool(_PENALTY_SECTION.search(m.get("path", "")) or _PENALTY_OPENING.match(t)),
            "final": bool(_IN_FORCE_SECTION.search(m.get("path", ""))),
            "definitions": k in definitions,
            "scope": k in scope and k not in definitions,
            "non_operative": m.get("unit", "").startswith("Recital ") or m.get("unit", "") in _COVER_UNITS,
            "signature": m.get("unit", "") in _SIGNATURE_UNITS,
        }
        for k, m, t in zip(keys, metas, texts)
    ]


# -----------------------------------------------------------------------------------------------------------


def flags_from_roles(roles: tuple[str, ...]) -> dict[str, bool]:
    """The old flags as the retrieval now reads them from the stored roles."""
    return {
        "penalty": "penalty" in roles,
        "final": "final_provision" in roles,
        "definitions": "definitions" in roles,
        "scope": "scope" in roles,
        "non_operative": "recital" in roles or "preamble" in roles,
        "signature": "signature_block" in roles,
    }


def main(corpus_dir: Path) -> int:
    settings = Settings()
    catalog = load_catalog(settings.catalog_path)
    total = differ = 0
    for path in corpus_files(corpus_dir):
        doc = load_document(path, catalog)
        chunks = chunk_document(
            doc,
            catalog.get(doc.doc_id),
            max_chars_zh=settings.chunk_max_chars_zh,
            max_chars_en=settings.chunk_max_chars_en,
        )
        metas = [
            {"doc_id": c.doc_id, "unit": c.unit, "path": c.path, "part": c.part, "unit_index": c.unit_index}
            for c in chunks
        ]
        for chunk, old in zip(chunks, old_flags(metas, [c.text for c in chunks])):
            total += 1
            if old != flags_from_roles(chunk.roles):
                differ += 1
                print(f"{chunk.chunk_id} {chunk.unit}: old {old} roles {chunk.roles}")
    print(f"{total} chunks, {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Settings().corpus_dir))
