"""The kiosk in a browser: textual-serve publishing the kiosk behind a token and an Origin check.

textual-serve has no authentication of its own: whoever reaches its port gets a new kiosk
process per websocket. Here every request but textual-serve's own static assets needs the
token: the page takes it as ``?token=`` and hands it to its websocket in the websocket's path
(``/ws/<token>``; the page's script appends ``?width=&height=`` to that URL, so a query string
cannot carry it). A wrong or missing token is answered 403 before any kiosk process starts,
and so is a websocket opened from another site's page (cross-site websocket hijacking: a page
elsewhere that learnt the token, e.g. from a link, still cannot drive a kiosk from a browser).
"""

import asyncio
import ipaddress
import logging
import re
import secrets
import shlex
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.server import Server

log = logging.getLogger("ioe.kiosk.serve")

DEFAULT_PORT = 8702
# Each open page runs a kiosk process (~60 MB); a box beside a line has room for a few pages
# of its station, not for one per request of someone who holds the token.
DEFAULT_MAX_SESSIONS = 8
TITLE = "IOE kiosk"
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# The page carries the token in its URL: no referrer leaves with it, no cache keeps it, and no
# other site may frame it (a framed kiosk could be clicked and typed into unseen).
PAGE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}

# A <link> to another host in textual-serve's page (its web font, from Google's servers).
EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*/?>\s*", re.S)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _first(value: str | None) -> str | None:
    """The first of a comma-separated forwarded header's values (the client-facing hop)."""
    if not value:
        return None
    return value.split(",", 1)[0].strip() or None


def public_base(request: web.Request) -> tuple[str, str]:
    """The scheme and host[:port] the browser used to reach us, through a proxy or not.

    A reverse proxy that terminates TLS says so in ``X-Forwarded-Proto``; one that rewrites
    ``Host`` keeps the original in ``X-Forwarded-Host``. Trusting them is safe here: they only
    shape the page sent back to the same client and the Origin check below, and a browser
    cannot set either on a cross-site websocket.
    """
    scheme = _first(request.headers.get("X-Forwarded-Proto")) or request.scheme
    host = _first(request.headers.get("X-Forwarded-Host")) or request.host
    return scheme.lower(), host.lower()


def _host_port(netloc: str, scheme: str) -> tuple[str, int | None]:
    """(host, port) of a netloc, the scheme's default port filled in."""
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port
    except ValueError:
        return netloc, None
    return (parts.hostname or ""), port or DEFAULT_PORTS.get(scheme)


def same_origin(origin: str | None, request: web.Request) -> bool:
    """Whether a websocket's ``Origin`` is the page this server served (not another site)."""
    if not origin:
        return False  # every browser sends Origin on a websocket; its absence is not a page
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    scheme, host = public_base(request)
    return _host_port(parts.netloc, parts.scheme) == _host_port(host, scheme)


class KioskServer(Server):
    """textual-serve's server with a token on every request and no file downloads."""

    def __init__(
        self, command: str, *, host: str, port: int, token: str, max_sessions: int
    ) -> None:
        super().__init__(command, host=host, port=port, title=TITLE)
        self.token = token
        self.max_sessions = max_sessions
        self.sessions = 0

    def token_ok(self, given: str | None) -> bool:
        """Whether ``given`` is this server's token (constant time)."""
        return given is not None and secrets.compare_digest(given.encode(), self.token.encode())

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse, before any handler runs, a request without the token or a foreign websocket."""
        route = request.match_info.route.name
        if route == "static":
            return await handler(request)  # textual-serve's published JS, CSS and fonts
        if route == "websocket":
            if not self.token_ok(request.match_info.get("token")):
                return _refuse(request, "the websocket's token is wrong")
            if not same_origin(request.headers.get("Origin"), request):
                return _refuse(request, "the websocket was opened from another site's page")
            if self.sessions >= self.max_sessions:
                log.warning("refused a kiosk session from %s: %d open, the most this serves",
                            request.remote, self.sessions)  # fmt: skip
                return web.Response(
                    status=503,
                    text=f"503: {self.sessions} kiosks are open here, the most this serves; "
                    "close one (or its browser tab) and reload\n",
                )
            self.sessions += 1
            try:
                return await handler(request)  # runs as long as the page's kiosk does
            finally:
                self.sessions -= 1
        if route == "index":
            if not self.token_ok(request.query.get("token")):
                return _refuse(request, "open the kiosk with the link that has its ?token=")
            response = await handler(request)
            response.headers.update(PAGE_HEADERS)
            return response
        return await handler(request)  # no such route: aiohttp's 404

    async def _make_app(self) -> web.Application:
        """The routes of textual-serve less its download route (a kiosk delivers no files)."""
        app = web.Application(middlewares=[self.guard])
        aiohttp_jinja2.setup(app, loader=jinja2.FunctionLoader(self._template))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws/{token}", self.handle_websocket, name="websocket"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        return app

    def _template(self, name: str) -> str:
        """textual-serve's page without what it loads from other hosts (a web font): a tablet
        on a floor without internet waits for nothing, and no request leaves the plant."""
        page = (Path(self.templates_path) / name).read_text(encoding="utf-8")
        return EXTERNAL_LINK.sub("", page)

    async def handle_index(self, request: web.Request) -> web.Response:
        """The page, its URLs built from the address the browser used (LAN name or proxy)."""
        scheme, host = public_base(request)
        ws_scheme = "wss" if scheme == "https" else "ws"
        ws_path = request.app.router["websocket"].url_for(token=self.token)
        try:
            font_size = int(request.query.get("fontsize", "16"))
        except ValueError:
            font_size = 16
        context = {
            "font_size": max(8, min(font_size, 64)),
            "app_websocket_url": f"{ws_scheme}://{host}{ws_path}",
            "config": {"static": {"url": f"{scheme}://{host}/static/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT/SIGTERM; no access log (its lines would carry the token)."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        loop = asyncio.new_event_loop()
        try:
            web.run_app(
                self._make_app(),
                host=self.host,
                port=self.port,
                access_log=None,
                print=None,
                loop=loop,
            )
        finally:
            loop.close()


def _refuse(request: web.Request, why: str) -> web.Response:
    """403, logged with the caller's address (never the token)."""
    path = "/ws/…" if request.path.startswith("/ws/") else request.path
    log.warning("refused %s %s from %s: %s", request.method, path, request.remote, why)
    return web.Response(status=403, text=f"403 Forbidden: {why}\n")


def open_url(host: str, port: int, token: str) -> str:
    """The URL an operator opens; a wildcard bind shows this machine's name instead."""
    shown = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}"


def run_served(
    command: list[str],
    host: str,
    port: int,
    token: str | None,
    *,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
) -> None:
    """Serve the Textual app ``command`` (an argv) to browsers until stopped.

    ``token`` None: one is made for this run and printed in the URL to open. At most
    ``max_sessions`` pages run a kiosk at once; more are answered 503.
    """
    if not command:
        raise ValueError("run_served needs the kiosk's command line")
    made = token is None
    token = token if token is not None else secrets.token_urlsafe(24)
    server = KioskServer(
        shlex.join(command), host=host, port=port, token=token, max_sessions=max_sessions
    )
    shown = token if made else "<the token you gave>"
    print(f"kiosk in a browser: open {open_url(host, port, shown)}", flush=True)
    if not is_loopback(host):
        print(
            f"warning: serving on {host}, beyond this machine: the token is the only protection, "
            "and over plain HTTP anyone on the network can read it from the traffic. Put a "
            "reverse proxy with TLS in front (docs/kiosk.md, 'In a browser').",
            file=sys.stderr,
            flush=True,
        )
    server.serve()
