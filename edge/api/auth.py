"""The local API's key check: whoever can reach the edge must not be able to act as it.

On a loopback address only this machine can call, so the key is optional there (but a key
that is sent must be right). On any other address every call but /healthz needs it, the
event stream and the OpenAPI pages included. It runs as plain ASGI middleware, ahead of
routing, so no route can forget it and the event stream is not buffered. A call with the
right key is identified: the failure budget does not hold it back nor charge it.
"""

import hmac
import logging

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from runtime.http_errors import error_response
from runtime.http_limits import mark_identified

log = logging.getLogger(__name__)

API_KEY_HEADER = "x-api-key"
PUBLIC_PATHS = frozenset({"/healthz"})  # liveness probes carry no secrets


def presented_keys(headers: Headers) -> list[str]:
    """The keys a request carries: ``X-API-Key: <key>`` and/or ``Authorization: Bearer <key>``."""
    keys = headers.getlist(API_KEY_HEADER)
    scheme, _, credential = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        keys.append(credential.strip())
    return keys


def key_matches(presented: str, expected: str) -> bool:
    """Constant-time comparison, so response timing does not leak the key."""
    return hmac.compare_digest(presented.encode(), expected.encode())


def holds_key(scope: Scope, api_key: str | None) -> bool:
    """True when the call carries this edge's key, and no other."""
    keys = presented_keys(Headers(scope=scope))
    return api_key is not None and bool(keys) and all(key_matches(k, api_key) for k in keys)


def client_address(scope: Scope) -> str:
    """``host:port`` of the caller, as the server saw it."""
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "unknown"


def refuse_key(scope: Scope, code: str, message: str) -> Response:
    """The one place a refused key is handled: logged with the caller's address, answered 401."""
    log.warning(
        "edge API: refused %s %s from %s: %s",
        scope.get("method", "?"),
        scope.get("path", "?"),
        client_address(scope),
        code,
    )
    return error_response(401, code, message, headers={"WWW-Authenticate": "Bearer"})


class ApiKeyGuard:
    """ASGI middleware that lets a request through only with the right API key, when needed."""

    def __init__(self, app: ASGIApp, *, api_key: str | None, required: bool) -> None:
        if required and not api_key:
            raise ValueError("an API key is required but none is configured")
        self.app = app
        self.api_key = api_key
        self.required = required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in PUBLIC_PATHS:
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        keys = presented_keys(Headers(scope=scope))
        if not keys:
            if not self.required:
                return None
            return refuse_key(
                scope,
                "API_KEY_REQUIRED",
                "this edge's API needs its key: send 'Authorization: Bearer <api_key>' "
                "or 'X-API-Key: <api_key>' (api_key is in the edge's edge.toml)",
            )
        if self.api_key is None:
            return None  # loopback without a key: there is nothing to check a key against
        if not all(key_matches(key, self.api_key) for key in keys):
            return refuse_key(scope, "API_KEY_INVALID", "the API key sent is not this edge's key")
        mark_identified(scope.setdefault("state", {}))
        return None
