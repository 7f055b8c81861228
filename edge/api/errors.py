"""Edge domain errors as HTTP answers, in one table; the shape itself is runtime's."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from edge.errors import (
    CentralCallError,
    CentralNotConfigured,
    CentralRefused,
    CentralUnreachable,
    ConflictNotFound,
    EdgeError,
    NotASupervisor,
    NotInCacheError,
    OperatorNotSignedInError,
    QuantityOverLimitError,
    QueueError,
    QueueFullError,
    RefCacheUnavailable,
    ResolutionFailed,
    ScanError,
    UnknownActionError,
    UnknownStationError,
)
from protocol import ProtocolError
from runtime.http_errors import error_response, error_responses, install_common_handlers

__all__ = ["error_responses", "install_error_handlers"]

# First match wins, so a subclass comes before its base. A code of None means the error's
# own code (a ProtocolError carries its reject code, e.g. BODY_INVALID).
STATUS: list[tuple[type[Exception], int, str | None]] = [
    (UnknownStationError, 404, "STATION_NOT_FOUND"),
    (UnknownActionError, 404, "ACTION_NOT_FOUND"),
    (NotInCacheError, 404, "NOT_IN_CACHE"),
    (RefCacheUnavailable, 503, "REF_CACHE_OFF"),
    (ScanError, 422, None),  # its own code: SCAN_INVALID, GS1_INVALID, NO_RULE_MATCHED...
    (OperatorNotSignedInError, 409, "OPERATOR_NOT_SIGNED_IN"),
    (QuantityOverLimitError, 422, "QTY_OVER_LIMIT"),
    (ProtocolError, 422, None),
    (NotASupervisor, 403, "NOT_A_SUPERVISOR"),
    (ConflictNotFound, 404, None),
    (ResolutionFailed, 409, None),  # central's own code: RESOLUTION_FAILED, CONFLICT_NOT_OPEN
    (CentralRefused, 502, None),
    (CentralUnreachable, 503, None),
    (CentralNotConfigured, 503, None),
    (QueueFullError, 507, "QUEUE_FULL"),
    (QueueError, 503, "QUEUE_ERROR"),
    (EdgeError, 500, "EDGE_ERROR"),
]


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    """An edge or protocol error raised under a request."""
    status, code = next(
        ((s, c) for kind, s, c in STATUS if isinstance(exc, kind)), (500, "EDGE_ERROR")
    )
    if isinstance(exc, ProtocolError):
        return error_response(status, code or exc.code, exc.message)
    if isinstance(exc, NotInCacheError):
        return error_response(status, code or "NOT_IN_CACHE", str(exc), exc.details)
    if isinstance(exc, CentralCallError):
        return error_response(status, code or exc.code, str(exc), exc.details)
    if isinstance(exc, ScanError):
        return error_response(status, code or exc.code, str(exc))
    return error_response(status, code or "EDGE_ERROR", str(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Register the domain table and the shared validation and framework handlers."""
    app.add_exception_handler(EdgeError, _domain_error)
    app.add_exception_handler(ProtocolError, _domain_error)
    install_common_handlers(app)
