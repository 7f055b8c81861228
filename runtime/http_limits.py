"""Bounds on what one HTTP request may cost, shared by central and the edge's local API.

``BodyLimit`` counts the body's bytes as they arrive and answers 413 the moment a request
goes over its limit (or declares it will, in Content-Length), before the app parses
anything. ``FailureLimit`` lets each client address cause only so many failed calls (any
4xx, or a call its route marks as failed) per second; past that it answers 429 with
Retry-After before the app does any work. Both are plain ASGI middleware ahead of routing,
so no route can forget them; both answer in the shared error shape.

The failure budget bounds what callers who have not shown who they are can cost. A caller
that shows a credential the server accepts (central: a bearer token; the edge: its API key)
is identified: its failures are its own, not charged to its address, and an address out of
budget (because of a scanner, or of other clients behind the same NAT) does not hold it
back. Callers on the edge box itself (loopback) share one address with every kiosk and
integration there, so the edge does not budget them at all.
"""

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.http_errors import error_response
from runtime.rate_limit import RateLimiter

# A REST body rarely needs more than a few MB; the largest floor message (an MQTT batch)
# is 512 KiB.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
FAILED_STATE_KEY = "ioe_call_failed"  # set in scope["state"] by a route whose call failed
IDENTIFIED_STATE_KEY = "ioe_caller_identified"  # set once the caller's credential is accepted


def mark_failed(scope_state: dict[str, Any]) -> None:
    """Count this call against its client's failure budget although it answers 2xx
    (e.g. ``POST /actions`` whose every envelope was refused)."""
    scope_state[FAILED_STATE_KEY] = True


def mark_identified(scope_state: dict[str, Any]) -> None:
    """The caller showed a credential the server accepts: this call's failures are not
    charged to its address."""
    scope_state[IDENTIFIED_STATE_KEY] = True


def client_host(scope: Scope) -> str:
    """The caller's address, the key of its failure budget: the peer of the connection, or
    the client a trusted proxy names in X-Forwarded-For (uvicorn puts it in the scope for
    proxies in FORWARDED_ALLOW_IPS, by default only this machine)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def is_loopback(address: str) -> bool:
    """True for an address of this machine (127.x, ::1, ::ffff:127.x)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def remote_host(scope: Scope) -> str | None:
    """The caller's address as a failure budget's key, or None (not budgeted) for a caller on
    this machine."""
    host = client_host(scope)
    return None if is_loopback(host) else host


def too_large(limit: int) -> Any:
    """The 413 answer (the connection is closed: the rest of the body is never read)."""
    return error_response(
        413,
        "PAYLOAD_TOO_LARGE",
        f"the request body is larger than this server accepts ({limit} bytes)",
        {"limit_bytes": limit},
        headers={"Connection": "close"},
    )


class BodyLimit:
    """ASGI middleware: no request body over ``limit(scope)`` bytes reaches the app."""

    def __init__(self, app: ASGIApp, *, limit: int | Callable[[Scope], int]) -> None:
        self.app = app
        self.limit = limit if callable(limit) else (lambda _scope, fixed=limit: fixed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope)
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await error_response(400, "BAD_REQUEST", "Content-Length is not a number")(
                    scope, receive, send
                )
                return
            if int(declared) > limit:
                await too_large(limit)(scope, receive, send)
                return
            if int(declared) == 0:
                await self.app(scope, receive, send)
                return
        elif "chunked" not in headers.get("transfer-encoding", "").lower():
            await self.app(scope, receive, send)  # no body (the event streams read nothing)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left; nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await too_large(limit)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        chunks.clear()
        delivered = False

        async def replay() -> Message:
            """The body read above, once; then whatever the connection says next."""
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


Vouch = Callable[[Scope], Awaitable[bool]]


class FailureLimit:
    """ASGI middleware: a client that keeps failing is answered 429 until its budget refills.

    ``source`` names a call's budget (None: not budgeted); ``vouch``, asked only for a call
    whose source is out of budget, lets it through when it carries a credential the server
    accepts. A call marked identified (``mark_identified``) is not charged for failing."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter | Callable[[Scope], RateLimiter | None],
        source: Callable[[Scope], str | None] = client_host,
        vouch: Vouch | None = None,
        exempt: frozenset[str] = frozenset({"/healthz", "/readyz"}),
    ) -> None:
        self.app = app
        self.limiter = limiter if callable(limiter) else (lambda _scope, fixed=limiter: fixed)
        self.source = source
        self.vouch = vouch
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self.limiter(scope) if scope["type"] == "http" else None
        source = self.source(scope) if limiter is not None else None
        if limiter is None or source is None or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        if not limiter.allowed(source) and not (self.vouch and await self.vouch(scope)):
            wait = limiter.refuse(source)
            await error_response(
                429,
                "RATE_LIMITED",
                f"too many failed calls from {source}; retry in {wait} s",
                {"retry_after_seconds": wait},
                headers={"Retry-After": str(wait)},
            )(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            failed = 400 <= status < 500 or state.get(FAILED_STATE_KEY)
            if failed and not state.get(IDENTIFIED_STATE_KEY):
                limiter.spend(source)
