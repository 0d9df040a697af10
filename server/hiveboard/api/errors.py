"""Errors as JSON that says what went wrong and what to do: `{"error": <code>, "message": <text>}`.

What a client is told never carries SQL, the storage's location or a stack trace: a storage error
is answered with a generic message, and its details go to the server's log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from hiveboard.storage import StorageError
from hiveboard.storage.keys import AuthenticationError, ConflictingKeysError

logger = logging.getLogger(__name__)

# Seconds a client should wait before retrying when storage is unavailable.
RETRY_AFTER_SECONDS = 5
STORAGE_UNAVAILABLE = f"storage unavailable: retry in {RETRY_AFTER_SECONDS} seconds"
# Where FastAPI's validation errors place a request's parameters (the body's errors keep their 422).
_PARAMETER_LOCATIONS = frozenset({"query", "path", "header", "cookie"})
# How much of an invalid value a message quotes.
_MAX_QUOTED = 80


class ErrorResponse(BaseModel):
    """Body of every error response but a request body's validation (422, FastAPI's own shape)."""

    error: str
    message: str


# Documented on every router so OpenAPI shows the error shape.
ERROR_RESPONSES: dict[int | str, dict] = {
    400: {
        "model": ErrorResponse,
        "description": "A parameter the API does not accept (the message lists the accepted values), "
        "an invalid cursor, or two different API keys",
    },
    401: {"model": ErrorResponse, "description": "No, malformed, unknown or revoked API key"},
    503: {"model": ErrorResponse, "description": "Storage unavailable; retry after Retry-After seconds"},
}


def documented(status: int, description: str) -> dict[int | str, dict]:
    """OpenAPI `responses` entry for an error an endpoint may answer besides 400, 401 and 503."""
    return {status: {"model": ErrorResponse, "description": description}}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    code = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    return JSONResponse(ErrorResponse(error=code, message=message).model_dump(), status, headers=headers)


def parameter_errors_message(errors: Sequence[Any]) -> str | None:
    """One sentence per invalid parameter of FastAPI's validation `errors` (pydantic's message names
    the accepted values of an enum); None when an error is not a parameter's (a request body's)."""
    sentences = []
    for error in errors:
        location = error.get("loc", ())
        if not location or location[0] not in _PARAMETER_LOCATIONS:
            return None
        name = location[1] if len(location) > 1 else location[0]
        given = f" {_shown(error['input'])}" if error.get("input") is not None else ""
        sentences.append(f"{location[0]} parameter {name}{given}: {error.get('msg', 'invalid')}")
    return "; ".join(sentences) if sentences else None


def _shown(value: Any) -> str:
    """A value the client sent, as the message quotes it: cut, since a parameter can be as long as the URL."""
    text = repr(value)
    return text if len(text) <= _MAX_QUOTED else text[:_MAX_QUOTED] + "..."


def install_error_handlers(app: FastAPI) -> None:
    """Answer HiveBoard's errors as `ErrorResponse`s, and document them so in the OpenAPI document."""
    _document_parameter_errors_as_400(app)

    @app.exception_handler(ConflictingKeysError)
    async def conflicting_keys(_: Request, error: ConflictingKeysError) -> JSONResponse:
        return error_response(400, str(error))

    @app.exception_handler(AuthenticationError)
    async def unauthenticated(_: Request, error: AuthenticationError) -> JSONResponse:
        return error_response(401, str(error), {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(StorageError)
    async def storage_unavailable(request: Request, error: StorageError) -> JSONResponse:
        logger.warning("%s %s: storage error: %s", request.method, request.url.path, error)
        return error_response(503, STORAGE_UNAVAILABLE, {"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        message = parameter_errors_message(error.errors())
        if message is None:
            return await request_validation_exception_handler(request, error)
        return error_response(400, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return error_response(error.status_code, str(error.detail), error.headers)

    @app.exception_handler(Exception)
    async def internal_error(_: Request, __: Exception) -> JSONResponse:
        # Starlette logs the exception with its traceback once this answer is sent.
        return error_response(500, "internal error: the server's log has the details")


def _document_parameter_errors_as_400(app: FastAPI) -> None:
    """Leave FastAPI's "422 Validation Error" out of the OpenAPI document for the operations without
    a request body: their invalid parameters are answered 400 (`invalid_request`), which every
    operation documents (`ERROR_RESPONSES`); only a request body's errors keep the 422."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            for path in generate()["paths"].values():
                for operation in path.values():
                    if "requestBody" not in operation:
                        operation["responses"].pop("422", None)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
