"""Index enrichment: for a unit of a text, questions and everyday paraphrases it answers, in Chinese and English.

Stored as data beside the catalog (``corpus/enrichment/<doc_id>.jsonl``, one line per unit: ``doc_id``, ``unit``,
``sha`` = the unit's text hash, ``zh`` and ``en`` lists), written at development time by writers that saw only
that unit (bench/eval/README.md). At ingest each piece of a unit carries its unit's entries (metadata
``enrichment_zh`` / ``enrichment_en``); the keyword index reads them with the clause, and the enrichment source
searches their embeddings (``sync_vectors``). They are never shown or cited. An entry whose ``sha`` no longer
matches the unit's text (the text changed) is not used.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from ingest.models import ENRICHMENT_KEYS, Chunk, GenerationReport
from ingest.text_vectors import sync_text_vectors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnitEnrichment:
    doc_id: str
    unit: str
    sha: str
    zh: tuple[str, ...]
    en: tuple[str, ...]


class EnrichmentError(ValueError):
    """A malformed enrichment file; the message names the file and line."""


def unit_sha(texts: Sequence[str]) -> str:
    """The hash an entry is tied to: the unit's text without its whitespace, so that cutting a unit into pieces
    differently (the splitter's packing) keeps its entries."""
    return hashlib.sha256("".join("".join(t.split()) for t in texts).encode("utf-8")).hexdigest()[:16]


def _entries(path: Path) -> dict[str, UnitEnrichment]:
    out: dict[str, UnitEnrichment] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            entry = UnitEnrichment(
                str(raw["doc_id"]),
                str(raw["unit"]),
                str(raw["sha"]),
                tuple(str(t) for t in raw.get("zh", ())),
                tuple(str(t) for t in raw.get("en", ())),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise EnrichmentError(f"{path}:{n}: not an enrichment record ({exc})") from exc
        out[entry.unit] = entry
    return out


@lru_cache(maxsize=64)
def _document_entries(path: str, mtime_ns: int) -> dict[str, UnitEnrichment]:
    return _entries(Path(path))


def document_enrichment(directory: Path | None, doc_id: str) -> dict[str, UnitEnrichment]:
    """A document's entries by unit label ({} when the directory or its file does not exist)."""
    if directory is None:
        return {}
    path = directory / f"{doc_id}.jsonl"
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _document_entries(str(path), mtime)


def entries_for(directories: Sequence[Path | None], doc_id: str) -> dict[str, UnitEnrichment]:
    """A document's entries from several directories (the shipped ones first: they win over generated ones)."""
    out: dict[str, UnitEnrichment] = {}
    for directory in reversed(directories):
        out.update(document_enrichment(directory, doc_id))
    return out


def fingerprint(directories: Sequence[Path | None], doc_id: str) -> str:
    """What a document's enrichment is (part of its ingest key: new entries re-index it)."""
    entries = entries_for(directories, doc_id)
    if not entries:
        return ""
    digest = hashlib.sha256()
    for unit in sorted(entries):
        e = entries[unit]
        digest.update(json.dumps([e.unit, e.sha, e.zh, e.en], ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def enrich(chunks: list[Chunk], entries: dict[str, UnitEnrichment]) -> tuple[list[Chunk], int]:
    """The chunks with their unit's entries attached; and how many entries were stale (the text changed)."""
    if not entries:
        return chunks, 0
    pieces: dict[str, list[str]] = {}
    for c in chunks:
        pieces.setdefault(c.unit, []).append(c.text)
    usable = {u: e for u, e in entries.items() if u in pieces and e.sha == unit_sha(pieces[u])}
    stale = sum(1 for u, e in entries.items() if u in pieces and u not in usable)
    out = [
        replace(c, enrichment_zh="\n".join(usable[c.unit].zh), enrichment_en="\n".join(usable[c.unit].en))
        if c.unit in usable
        else c
        for c in chunks
    ]
    return out, stale


def texts_of(meta: dict) -> list[str]:
    """A chunk's enrichment texts to embed: one per language (its entries joined)."""
    return [meta[k] for k in ENRICHMENT_KEYS if meta.get(k)]


@dataclass(frozen=True)
class EnrichmentVectors:
    """Unit-length embeddings of the enrichment texts, and for each chunk row the rows of its texts."""

    vectors: np.ndarray  # (texts, dim)
    text_rows: np.ndarray  # (chunks, per_chunk) indexes into vectors, -1 = none

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Per chunk row: the best cosine similarity of its enrichment texts to the query (0 without any)."""
        if not self.vectors.size:
            return np.zeros(len(self.text_rows), dtype=np.float32)
        norm = float(np.linalg.norm(query))
        sims = self.vectors @ (np.asarray(query, dtype=np.float32) / (norm if norm else 1.0))
        padded = np.append(sims, np.float32(0.0))  # index -1 -> the appended 0
        return padded[self.text_rows].max(axis=1) if self.text_rows.size else np.zeros(0, dtype=np.float32)


def sync_vectors(
    metas: list[dict],
    directory: Path,
    model: str,
    embed: Callable[[list[str]], np.ndarray],
) -> EnrichmentVectors:
    """The enrichment embeddings of these chunk rows: reused from ``directory`` where the text and the model are
    unchanged, the rest embedded (``embed``) and saved; texts no row uses any more are dropped."""
    per_row = [texts_of(m) for m in metas]
    wanted = list(dict.fromkeys(t for texts in per_row for t in texts))
    matrix = sync_text_vectors(wanted, directory, model, embed)
    position = {t: n for n, t in enumerate(wanted)}
    width = max((len(t) for t in per_row), default=0) or 1
    text_rows = np.full((len(metas), width), -1, dtype=np.int64)
    for r, texts in enumerate(per_row):
        for j, t in enumerate(texts):
            text_rows[r, j] = position[t]
    return EnrichmentVectors(matrix, text_rows)


# ---- generated at ingest (``regqa ingest --enrich``): for units no shipped entry covers, by an LLM endpoint ----


def parse_reply(text: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The ``{"zh": [...], "en": [...]}`` object in an endpoint's reply (code fences and prose around it are
    ignored); None when there is none or it has no text in either language."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None

    def texts(key: str) -> tuple[str, ...]:
        value = data.get(key) or []
        items = value if isinstance(value, list) else []
        return tuple(s.strip() for s in items if isinstance(s, str) and s.strip())[:MAX_GENERATED_PER_LANGUAGE]

    zh, en = texts("zh"), texts("en")
    return (zh, en) if zh or en else None


MAX_GENERATED_PER_LANGUAGE = 6
MAX_UNIT_CHARS_IN_PROMPT = 6000


def generate_missing(
    doc_id: str,
    title: str,
    chunks: list[Chunk],
    known: dict[str, UnitEnrichment],
    cache_dir: Path,
    ask: Callable[[str], str],
    prompt: str,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationReport:
    """Entries for the units of ``chunks`` that ``known`` does not cover for their current text: from the cache
    (``cache_dir/<doc_id>.jsonl``, keyed by the unit's text hash), else by ``ask(prompt)``; the cache is
    rewritten with the entries of the units the document has now."""
    pieces: dict[str, list[str]] = {}
    for c in chunks:
        pieces.setdefault(c.unit, []).append(c.text)
    cached = document_enrichment(cache_dir, doc_id)
    keep: dict[str, UnitEnrichment] = {}
    generated = hits = failed = 0
    todo = [u for u in pieces if not (u in known and known[u].sha == unit_sha(pieces[u]))]
    for n, unit in enumerate(todo, 1):
        sha = unit_sha(pieces[unit])
        if unit in cached and cached[unit].sha == sha:
            keep[unit], hits = cached[unit], hits + 1
        else:
            text = "\n".join(pieces[unit])[:MAX_UNIT_CHARS_IN_PROMPT]
            try:
                parsed = parse_reply(ask(prompt.format(title=title, unit=unit, text=text)))
            except Exception as exc:  # endpoint down, timeout: the unit stays without enrichment
                log.warning("enrichment of %s %s failed: %s", doc_id, unit, exc)
                parsed = None
            if parsed is None:
                failed += 1
            else:
                keep[unit], generated = UnitEnrichment(doc_id, unit, sha, *parsed), generated + 1
        if progress:
            progress(n, len(todo))
    if keep or cached:
        cache_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            json.dumps({"doc_id": e.doc_id, "unit": e.unit, "sha": e.sha, "zh": e.zh, "en": e.en}, ensure_ascii=False)
            for e in keep.values()
        ]
        path = cache_dir / f"{doc_id}.jsonl"
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        tmp.replace(path)
    return GenerationReport(generated, hits, failed)
