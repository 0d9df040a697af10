"""Errors as JSON that says what went wrong and what to do: `{"error": <code>, "message": <text>}`."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from hiveboard.storage import StorageError
from hiveboard.storage.keys import AuthenticationError

# Seconds a client should wait before retrying when storage is unavailable.
RETRY_AFTER_SECONDS = 5


class ErrorResponse(BaseModel):
    """Body of every error response but request validation (422, FastAPI's own shape)."""

    error: str
    message: str


# Documented on every router so OpenAPI shows the error shape.
ERROR_RESPONSES: dict[int | str, dict] = {
    401: {"model": ErrorResponse, "description": "No, malformed, unknown or revoked API key"},
    503: {"model": ErrorResponse, "description": "Storage unavailable; retry after Retry-After seconds"},
}


def documented(status: int, description: str) -> dict[int | str, dict]:
    """OpenAPI `responses` entry for an error an endpoint may answer besides 401 and 503."""
    return {status: {"model": ErrorResponse, "description": description}}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    code = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    return JSONResponse(ErrorResponse(error=code, message=message).model_dump(), status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AuthenticationError)
    async def unauthenticated(_: Request, error: AuthenticationError) -> JSONResponse:
        return error_response(401, str(error), {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(StorageError)
    async def storage_unavailable(_: Request, error: StorageError) -> JSONResponse:
        return error_response(503, f"storage unavailable: {error}", {"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return error_response(error.status_code, str(error.detail), error.headers)
