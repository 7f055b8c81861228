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
