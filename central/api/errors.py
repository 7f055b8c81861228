"""Domain errors and framework errors as JSON ``{"code", "message", "details"}``."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from central.api.security import refused_call
from central.errors import (
    ActionConflict,
    AlreadyExists,
    Ambiguous,
    CentralError,
    EdgeKeyRefused,
    Forbidden,
    InUse,
    InvalidInput,
    InvalidReference,
    NotConfigured,
    NotFound,
    Unauthorized,
)
from runtime.http_errors import error_response, install_common_handlers

log = logging.getLogger(__name__)

STATUS: list[tuple[type[CentralError], int]] = [
    (NotFound, 404),
    (AlreadyExists, 409),
    (ActionConflict, 409),
    (InUse, 409),
    (Ambiguous, 409),
    (EdgeKeyRefused, 409),
    (InvalidReference, 422),
    (InvalidInput, 422),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotConfigured, 503),
]


async def _central_error(request: Request, exc: Exception) -> JSONResponse:
    """A domain error raised by a service."""
    assert isinstance(exc, CentralError)
    status = next((s for kind, s in STATUS if isinstance(exc, kind)), 400)
    if isinstance(exc, Unauthorized | Forbidden):
        await refused_call(request, exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, exc.code, exc.message, exc.details, headers)


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    """The database failed under a request: say so, and let the client retry."""
    log.warning("database error under a request: %s", exc)
    return error_response(503, "DATABASE_UNAVAILABLE", "the database is unavailable; retry later")


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on the app."""
    app.add_exception_handler(CentralError, _central_error)
    install_common_handlers(app)
    app.add_exception_handler(DBAPIError, _database_error)
