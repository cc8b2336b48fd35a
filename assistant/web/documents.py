"""Adding and removing documents (admins; in open mode only with REGQA_OPEN_UPLOADS): ``POST /v1/documents``
(multipart ``file``) stores an upload and queues a re-index job, ``DELETE /v1/documents/{doc_id}`` removes an
uploaded document the same way; ``GET /v1/jobs/{job_id}`` reports a job. With ``?wait=SECONDS`` the answer is the
finished job (200, or 503 when it failed); otherwise 202 with the job to poll."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from assistant.documents import DuplicateDocument, IngestJob, UploadError, remove_upload, save_upload
from assistant.web.dependencies import Context, DocumentChangeRequest
from assistant.web.errors import ApiError
from ingest.store import IndexError_

router = APIRouter()


async def uploaded_file(request: Request, limit_mb: float) -> tuple[str, bytes]:
    """(file name, content) of the multipart ``file`` field: 413 past the limit, 422 for anything else."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit_mb * 1024 * 1024 + 64 * 1024:
        raise ApiError(413, f"file too large (the limit is {limit_mb:g} MB)", "too_large")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as exc:  # not multipart, or a broken body
        raise ApiError(422, f"expected multipart/form-data with a 'file' field ({exc})", "invalid_request") from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(422, "expected multipart/form-data with a 'file' field", "invalid_request")
    return upload.filename or "", await upload.read()


async def job_response(job: IngestJob, wait: float, extra: dict) -> JSONResponse:
    if wait > 0:
        await asyncio.to_thread(job.finished.wait, min(wait, 3600))
    body = {**extra, **job.to_dict()}
    if job.state == "failed":
        return JSONResponse(
            status_code=503,
            content={**body, "error": {"message": f"could not index: {job.error}", "type": "index_unavailable"}},
        )
    return JSONResponse(status_code=200 if job.finished.is_set() else 202, content=body)


@router.post("/v1/documents")
async def upload_document(request: Request, change: DocumentChangeRequest, context: Context):
    """Store an upload and queue a re-index job: 202 with the job (poll ``GET /v1/jobs/{id}``), or, with
    ``?wait=SECONDS``, the finished job when it ends within that time."""
    settings = context.settings
    name, data = await uploaded_file(request, settings.upload_max_mb)
    try:
        path = await asyncio.to_thread(save_upload, settings, name, data)
    except DuplicateDocument as exc:
        raise ApiError(409, str(exc), "duplicate_document") from exc
    except UploadError as exc:
        raise ApiError(400, str(exc), "invalid_document") from exc
    except (IndexError_, OSError) as exc:  # disk full, read-only index dir, Chroma down
        raise ApiError(503, f"could not store the document: {exc}", "index_unavailable") from exc
    job = context.jobs.submit(f"upload {path.name}")
    return await job_response(job, change.wait, {"stored_as": path.name})


@router.get("/v1/jobs/{job_id}")
def job_status(job_id: str, context: Context):
    job = context.jobs.get(job_id)
    if job is None:
        raise ApiError(404, "no such job", "not_found")
    return job.to_dict()


@router.delete("/v1/documents/{doc_id}")
async def delete_document(doc_id: str, change: DocumentChangeRequest, context: Context):
    try:
        if not await asyncio.to_thread(remove_upload, context.settings, doc_id):
            raise ApiError(
                404, f"no uploaded document {doc_id!r} (corpus documents cannot be removed here)", "not_found"
            )
    except (IndexError_, OSError) as exc:
        raise ApiError(503, f"could not update the index: {exc}", "index_unavailable") from exc
    job = context.jobs.submit(f"remove {doc_id}")
    return await job_response(job, change.wait, {"removing": doc_id})
