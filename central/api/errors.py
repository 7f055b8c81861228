"""Domain errors and framework errors as JSON ``{"code", "message", "details"}``."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from central.errors import (
    ActionConflict,
    AlreadyExists,
    CentralError,
    Forbidden,
    InUse,
    InvalidInput,
    InvalidReference,
    NotFound,
    Unauthorized,
)

log = logging.getLogger(__name__)

STATUS: list[tuple[type[CentralError], int]] = [
    (NotFound, 404),
    (AlreadyExists, 409),
    (ActionConflict, 409),
    (InUse, 409),
    (InvalidReference, 422),
    (InvalidInput, 422),
    (Unauthorized, 401),
    (Forbidden, 403),
]
HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The one error shape every endpoint answers with."""
    return JSONResponse(
        {"code": code, "message": message, "details": details or {}},
        status_code=status,
        headers=headers,
    )


async def _central_error(_: Request, exc: Exception) -> JSONResponse:
    """A domain error raised by a service."""
    assert isinstance(exc, CentralError)
    status = next((s for kind, s in STATUS if isinstance(exc, kind)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, exc.code, exc.message, exc.details, headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
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


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    """Framework answers (unknown path, wrong method) in the same shape."""
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    """The database failed under a request: say so, and let the client retry."""
    log.warning("database error under a request: %s", exc)
    return error_response(503, "DATABASE_UNAVAILABLE", "the database is unavailable; retry later")


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on the app."""
    app.add_exception_handler(CentralError, _central_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
