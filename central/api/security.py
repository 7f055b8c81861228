"""Refused API calls as security events: a 401 is a failed login, a 403 a token misused."""

from fastapi import Request

from central.access.callers import Caller
from central.clock import now
from central.errors import CentralError, Unauthorized
from central.security.events import SecurityEvent, login_failed, record_apart, token_misuse


def client_address(request: Request) -> str:
    """The calling client's address: the source of its security events."""
    return request.client.host if request.client else "unknown"


def _event(request: Request, exc: CentralError) -> SecurityEvent:
    """The event of one refused call, from the request and the refusal."""
    source = client_address(request)
    detail = f"{request.method} {request.url.path}: {exc.message}"
    if isinstance(exc, Unauthorized):
        return login_failed(source=source, detail=detail)
    caller: Caller | None = getattr(request.state, "caller", None)
    site = exc.details.get("site") if isinstance(exc.details, dict) else None
    return token_misuse(
        source=source,
        subject=caller.name if caller is not None else "unknown",
        site=site if isinstance(site, str) else None,
        detail=detail,
    )


async def refused_call(request: Request, exc: CentralError) -> None:
    """Record a 401 or 403 apart from the request (whose transaction is already gone); a
    failure to record is logged and the caller still gets the refusal it earned."""
    await record_apart(request.app.state.engine, [_event(request, exc)], at=now())
