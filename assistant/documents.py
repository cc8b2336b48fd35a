"""Document management for the web app: uploads (size- and extension-checked, stored under the index dir with
safe generated names), removal of uploaded documents, and re-indexing. The shared corpus itself is read-only."""
from __future__ import annotations

import re
import secrets
from pathlib import Path

from assistant.config import Settings
from ingest.loaders import LoadError, load_document
from ingest.catalog import load_catalog
from ingest.models import IngestReport
from ingest.pipeline import ProgressCallback, run_ingest
from ingest.store import ClauseStore

UPLOAD_SUFFIXES = {".md", ".txt", ".html", ".htm", ".pdf", ".docx"}


class UploadError(ValueError):
    """An upload that is refused; ``str(err)`` says why."""


def upload_dir(settings: Settings) -> Path:
    return settings.index_dir / "uploads"


def safe_name(original: str) -> str:
    """A generated file name: a slug of the original stem (letters, digits, CJK, -) plus a random suffix."""
    stem = Path(original.replace("\\", "/")).name
    suffix = Path(stem).suffix.lower()
    slug = re.sub(r"[^\w\-\u4e00-\u9fff]+", "-", Path(stem).stem, flags=re.UNICODE).strip("-_.").lower()[:60]
    return f"{slug or 'document'}-{secrets.token_hex(4)}{suffix}"


def save_upload(settings: Settings, original_name: str, data: bytes) -> Path:
    suffix = Path(original_name or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadError(f"unsupported file type {suffix or '(none)'}; allowed: {', '.join(sorted(UPLOAD_SUFFIXES))}")
    limit = int(settings.upload_max_mb * 1024 * 1024)
    if len(data) > limit:
        raise UploadError(f"file too large ({len(data) / 1e6:.1f} MB; the limit is {settings.upload_max_mb:g} MB)")
    if not data.strip():
        raise UploadError("empty file")
    directory = upload_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / safe_name(original_name)
    tmp = directory / ".incoming" / target.name  # hidden while checked: ingest skips dot-directories
    tmp.parent.mkdir(exist_ok=True)
    tmp.write_bytes(data)
    try:
        doc = load_document(tmp, load_catalog(settings.catalog_path))
        indexed = ClauseStore(settings).documents()
        owner = indexed.get(doc.doc_id)
        if owner is not None and not owner.source_file.startswith("uploads/"):
            raise UploadError(f"document id {doc.doc_id!r} already belongs to the corpus")
    except LoadError as exc:
        tmp.unlink(missing_ok=True)
        raise UploadError(str(exc)) from None
    except UploadError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.rename(target)
    return target


def uploaded_documents(settings: Settings) -> dict[str, str]:
    """doc_id -> source file (uploads/...) of the documents that came in through uploads."""
    return {d.doc_id: d.source_file for d in ClauseStore(settings).documents().values()
            if d.source_file.startswith("uploads/")}


def remove_upload(settings: Settings, doc_id: str) -> bool:
    source = uploaded_documents(settings).get(doc_id)
    if not source:
        return False
    path = upload_dir(settings) / source.split("/", 1)[1]
    if path.resolve().parent != upload_dir(settings).resolve():
        return False
    path.unlink(missing_ok=True)
    return True


def reindex(settings: Settings, progress: ProgressCallback | None = None) -> IngestReport:
    return run_ingest(settings, progress=progress) if progress else run_ingest(settings)
