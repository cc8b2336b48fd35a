"""The one shape of every error the web app answers with: ``{"error": {"message": …, "type": …}}``.

Routes and their dependencies raise ``ApiError``; the handler installed by ``install_error_handlers`` turns it into
that JSON body with its status (and headers, e.g. ``Retry-After``)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError


class ApiError(Exception):
    """An error answer: HTTP status, a message for the caller, and its machine-readable type."""

    def __init__(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, headers


def error_response(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, headers=headers, content={"error": {"message": message, "type": kind}})


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.kind, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    return error_response(422, str(exc), "invalid_request")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ValidationError, _validation_error)
