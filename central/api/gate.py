"""What central does before routing: bound the body, bound failing callers, and turn away a
caller with no token at once on a guarded central.

FastAPI reads and parses a request's body before its dependencies run, so without the gate
a call with no token would cost a full body parse before its 401. The gate answers that 401
(recorded as a failed login, like any other) before a byte of the body is read. A call that
does carry a token is checked by the route's dependency, after a body bounded by
``max_body_bytes``; a client that keeps failing is answered 429 by ``FailureLimit``.

A call with a token central accepts is not held back by its address's failure budget, so an
admin can still read what is being dropped while a scanner behind the same address is
throttled. Checking a token there costs a lookup; tokens central refuses at an address out
of budget spend a second budget of the same size, so a throttled source cannot turn its
refused calls into unbounded lookups.
"""

import hmac
import logging

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from central.access.callers import caller_for_token
from central.clock import now
from central.errors import Unauthorized
from central.security.events import login_failed, record_apart
from central.settings import CentralSettings
from runtime.http_errors import error_response
from runtime.http_limits import BodyLimit, FailureLimit, client_host
from runtime.rate_limit import RateLimiter

log = logging.getLogger(__name__)

# Authenticated by what they carry, not by a token: envelopes are signed by their edge,
# carrier tracking updates with the shared tracking secret.
TOKENLESS = frozenset({"/api/v1/actions", "/api/v1/shipments/tracking"})


def _settings(scope: Scope) -> CentralSettings:
    settings: CentralSettings = scope["app"].state.settings
    return settings


def _failure_limiter(scope: Scope) -> RateLimiter | None:
    limiter: RateLimiter | None = getattr(scope["app"].state, "failure_limiter", None)
    return limiter


def failure_limiter(settings: CentralSettings) -> RateLimiter:
    """The per-address budget of failed calls, from the settings (also the budget of refused
    token lookups at an address out of it)."""
    return RateLimiter(rate=settings.failure_rate, burst=settings.failure_burst)


def bearer_token(scope: Scope) -> str | None:
    """The token of ``Authorization: Bearer <token>``, if the call carries one."""
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def vouch_for_token(scope: Scope) -> bool:
    """At an address out of failure budget: True when the call carries a token central
    accepts (the admin token, or a token neither revoked nor expired)."""
    settings = _settings(scope)
    token = bearer_token(scope)
    if not settings.admin_token or token is None:
        return False  # an open central knows no one: every caller is its address
    if hmac.compare_digest(token.encode(), settings.admin_token.encode()):
        return True
    lookups: RateLimiter = scope["app"].state.token_lookups
    source = client_host(scope)
    if not lookups.allowed(source):
        return False
    try:
        async with scope["app"].state.engine.connect() as conn:
            conn = await conn.execution_options(ioe_read_only=True)
            await caller_for_token(conn, token=token, admin_token=settings.admin_token)
    except Unauthorized:
        lookups.spend(source)
        return False
    except SQLAlchemyError as err:  # the database is away: the address stays refused
        log.warning("token of a throttled caller not checked: %s", err)
        return False
    return True


class TokenGate:
    """ASGI middleware: on a guarded central, an API call without a bearer token is 401."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith("/api/")
            or path in TOKENLESS
            or not _settings(scope).admin_token
        ):
            await self.app(scope, receive, send)
            return
        if bearer_token(scope) is not None:
            await self.app(scope, receive, send)
            return
        message = "this call needs a token: Authorization: Bearer <token>"
        event = login_failed(
            source=client_host(scope), detail=f"{scope.get('method')} {path}: {message}"
        )
        await record_apart(scope["app"].state.engine, [event], at=now())
        await error_response(401, "UNAUTHORIZED", message, headers={"WWW-Authenticate": "Bearer"})(
            scope, receive, send
        )


def install_limits(app: FastAPI) -> None:
    """Outermost first: the failure budget, the token gate, the body limit."""
    app.add_middleware(BodyLimit, limit=lambda scope: _settings(scope).max_body_bytes)
    app.add_middleware(TokenGate)
    app.add_middleware(FailureLimit, limiter=_failure_limiter, vouch=vouch_for_token)
