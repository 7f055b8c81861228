"""The one JSON error shape edge and central answer with, and the framework handlers for it."""

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}


class ErrorOut(BaseModel):
    """Every error answer: a stable code, a message for people, details for programs."""

    code: str = Field(description="stable, upper-case error code, e.g. VALIDATION_ERROR")
    message: str = Field(description="what went wrong, in words")
    details: dict[str, Any] = Field(default_factory=dict, description="always an object")


ERROR_MEANINGS = {
    400: "the request cannot be read (e.g. a Content-Length that is not a number)",
    401: "no bearer token or API key, or one that is not valid",
    403: "the caller may not do this, or not at this site",
    404: "a record the call names does not exist (or is at a site the caller cannot see)",
    409: "the call conflicts with the current state (already exists, in use, ambiguous)",
    413: "the body is over the size limit",
    422: "the request does not match its schema, or names a record that does not fit",
    429: "too many failed calls from this client; retry after Retry-After seconds",
    502: "a service this one forwards the call to refused it (its answer is in details)",
    503: "the database or a needed service is unavailable; retry later",
    507: "the disk is full: nothing was saved",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses: each answers :class:`ErrorOut` as JSON, also
    on a route whose success is another media type (an event stream)."""
    json_error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    return {
        status: {
            "model": ErrorOut,
            "content": json_error,
            "description": ERROR_MEANINGS.get(status, "error"),
        }
        for status in statuses
    }


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one error shape every endpoint answers with; details is always an object."""
    return JSONResponse(
        {"code": code, "message": message, "details": details or {}},
        status_code=status,
        headers=headers,
    )


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    """A request that does not match its schema: name every bad field."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(e['loc'][1:]) or 'body'}: {e['msg']}" for e in errors[:5])
    return error_response(422, "VALIDATION_ERROR", summary or "invalid request", {"errors": errors})


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    """Framework answers (unknown path, wrong method) in the same shape."""
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


def install_common_handlers(app: FastAPI) -> None:
    """Register the validation and framework handlers; domain errors stay with each app."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
