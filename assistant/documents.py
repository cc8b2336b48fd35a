"""Document management for the web app: uploads (size-, type- and id-checked, stored under the index dir with
safe generated names), removal of uploaded documents, and re-indexing as background jobs, one at a time.
The shared corpus itself is read-only."""

from __future__ import annotations

import re
import secrets
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from common.settings import Settings
from ingest.catalog import load_catalog
from ingest.loaders import LoadError, load_document
from ingest.models import IngestReport
from ingest.pipeline import ProgressCallback, run_ingest
from ingest.store import ClauseStore

UPLOAD_SUFFIXES = {".md", ".txt", ".html", ".htm", ".pdf", ".docx"}


class UploadError(ValueError):
    """An upload that is refused; ``str(err)`` says why."""


class DuplicateDocument(UploadError):
    """The upload's document id is already indexed or waiting to be."""


def upload_dir(settings: Settings) -> Path:
    return settings.index_dir / "uploads"


def safe_name(original: str) -> str:
    """A safe file name: a slug of the original stem (letters, digits, CJK, -) and its suffix. Without an ``id``
    in its front matter a document's id is its file stem, so this slug is the upload's id ("drone-delivery.md"
    is ``drone-delivery``), never a random one."""
    stem = Path(original.replace("\\", "/")).name
    suffix = Path(stem).suffix.lower()
    slug = re.sub(r"[^\w\-\u4e00-\u9fff]+", "-", Path(stem).stem, flags=re.UNICODE).strip("-_.").lower()[:60]
    return f"{slug or 'document'}{suffix}"


def check_upload_size(settings: Settings, size: int) -> None:
    limit = int(settings.upload_max_mb * 1024 * 1024)
    if size > limit:
        raise UploadError(f"file too large ({size / 1e6:.1f} MB; the limit is {settings.upload_max_mb:g} MB)")


def _pending_ids(settings: Settings, catalog) -> dict[str, str]:
    """doc_id -> file name of the stored uploads (indexed or not yet)."""
    ids: dict[str, str] = {}
    directory = upload_dir(settings)
    for path in sorted(directory.glob("*")) if directory.is_dir() else []:
        if path.is_file() and path.suffix.lower() in UPLOAD_SUFFIXES:
            try:
                ids[load_document(path, catalog, settings.upload_max_unpacked_bytes).doc_id] = path.name
            except LoadError:
                continue
    return ids


def save_upload(settings: Settings, original_name: str, data: bytes) -> Path:
    """Check an upload and store it under ``<index_dir>/uploads``; it is indexed by the next re-index job."""
    suffix = Path(original_name or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadError(f"unsupported file type {suffix or '(none)'}; allowed: {', '.join(sorted(UPLOAD_SUFFIXES))}")
    check_upload_size(settings, len(data))
    if not data.strip():
        raise UploadError("empty file")
    directory = upload_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / safe_name(original_name)
    # hidden while checked (ingest skips dot-directories); its own folder, so its stem (its id) is the target's
    tmp = directory / ".incoming" / secrets.token_hex(4) / target.name
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(data)
    try:
        with _UPLOAD_LOCK:  # two uploads of one id at once: the second sees the first
            catalog = load_catalog(settings.catalog_path)
            doc = load_document(tmp, catalog, settings.upload_max_unpacked_bytes)
            owner = ClauseStore(settings).documents().get(doc.doc_id)
            if owner is not None and not owner.source_file.startswith("uploads/"):
                raise DuplicateDocument(f"document id {doc.doc_id!r} already belongs to the corpus")
            if owner is not None or doc.doc_id in _pending_ids(settings, catalog):
                raise DuplicateDocument(
                    f"document id {doc.doc_id!r} is already uploaded; remove it first to replace it"
                )
            if target.exists():
                raise DuplicateDocument(
                    f"a file named {target.name!r} is already uploaded; remove it first or rename the file"
                )
            tmp.rename(target)
    except LoadError as exc:
        raise UploadError(str(exc)) from None
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)
    return target


_UPLOAD_LOCK = threading.Lock()


def uploaded_documents(settings: Settings) -> dict[str, str]:
    """doc_id -> source file (uploads/...) of the documents that came in through uploads."""
    return {
        d.doc_id: d.source_file
        for d in ClauseStore(settings).documents().values()
        if d.source_file.startswith("uploads/")
    }


def remove_upload(settings: Settings, doc_id: str) -> bool:
    """Delete the stored upload(s) holding ``doc_id`` (indexed or still waiting); False when there is none."""
    directory = upload_dir(settings).resolve()
    names = set()
    source = uploaded_documents(settings).get(doc_id)
    if source:
        names.add(source.split("/", 1)[1])
    with _UPLOAD_LOCK:
        pending = _pending_ids(settings, load_catalog(settings.catalog_path)).get(doc_id)
        if pending:
            names.add(pending)
        removed = False
        for name in names:
            path = directory / name
            if path.resolve().parent == directory and path.exists():
                path.unlink()
                removed = True
    return removed or bool(source)


def reindex(settings: Settings, progress: ProgressCallback | None = None) -> IngestReport:
    return run_ingest(settings, progress=progress) if progress else run_ingest(settings)


@dataclass
class IngestJob:
    """One re-index run: queued, running (with its latest progress), done or failed."""

    id: str
    reason: str
    state: str = "queued"
    stage: str = ""
    done: int = 0
    total: int = 0
    label: str = ""
    report: IngestReport | None = None
    error: str = ""
    created: float = field(default_factory=time.time)
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def to_dict(self) -> dict:
        data = {
            "job_id": self.id,
            "reason": self.reason,
            "state": self.state,
            "progress": {"stage": self.stage, "done": self.done, "total": self.total, "label": self.label},
        }
        if self.report is not None:
            data["report"] = {
                "added": self.report.added,
                "replaced": self.report.replaced,
                "removed": self.report.removed,
                "failed": [{"file": f.path.name, "reason": f.reason} for f in self.report.failed],
            }
        if self.error:
            data["error"] = self.error
        return data


class IngestJobs:
    """Re-index jobs run in one background thread, so at most one re-index runs at a time; a job queued while
    another waits joins it (one run picks up every stored upload). ``on_done`` runs after each job."""

    KEEP = 50

    def __init__(self, settings: Settings, on_done: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.on_done = on_done or (lambda: None)
        self.jobs: dict[str, IngestJob] = {}
        self._queue: list[IngestJob] = []
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None

    def submit(self, reason: str) -> IngestJob:
        with self._lock:
            if self._queue:  # not started yet: it will see this change too
                return self._queue[-1]
            job = IngestJob(uuid.uuid4().hex[:12], reason)
            self.jobs[job.id] = job
            self._queue.append(job)
            for old in sorted(self.jobs.values(), key=lambda j: j.created)[: -self.KEEP]:
                if old.finished.is_set():
                    self.jobs.pop(old.id, None)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="regqa-ingest", daemon=True)
                self._worker.start()
            self._wakeup.notify()
        return job

    def get(self, job_id: str) -> IngestJob | None:
        return self.jobs.get(job_id)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    if not self._wakeup.wait(timeout=60):
                        self._worker = None
                        return
                job = self._queue.pop(0)
                job.state = "running"
            try:
                job.report = reindex(
                    self.settings,
                    progress=partial(self._progress, job),
                )
                job.state = "done"
                self.on_done()
            except Exception as exc:  # reported on the job, never lost in a thread
                job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
            finally:
                job.finished.set()

    @staticmethod
    def _progress(job: IngestJob, stage: str, done: int, total: int, label: str) -> None:
        job.stage, job.done, job.total, job.label = stage, done, total, label
