"""Running ASGI apps and long-lived tasks together in one process, with one signal owner."""

import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

import uvicorn

from runtime.fatal import FatalError, PortInUse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListenSettings:
    """What sets a server's host and port, as its messages name it: an operator who is told
    to choose another port must be pointed at the setting that does it."""

    host: str = "--host / IOE_HOST"
    port: str = "--port / IOE_PORT"


COMMAND_LINE = ListenSettings()


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the process (several servers share one loop),
    serving on sockets bound when it was made."""

    sockets: list[socket.socket]

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_listeners(
    host: str, port: int, *, set_by: ListenSettings = COMMAND_LINE
) -> list[socket.socket]:
    """Listening sockets for ``host``:``port`` (every address the name resolves to), bound
    now so a taken port ends the start with PortInUse instead of failing inside uvicorn;
    its message names ``set_by``."""
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as err:
        raise PortInUse(
            f"cannot listen on {host}:{port}: unknown host ({err.strerror}); "
            f"set {set_by.host} to an address of this machine"
        ) from None
    bound: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(2048)
            sock.setblocking(False)
    except OSError as err:
        for sock in bound:
            sock.close()
        raise PortInUse(_bind_problem(host, port, err, set_by)) from None
    return bound


def _bind_problem(host: str, port: int, err: OSError, set_by: ListenSettings) -> str:
    if err.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use by another process; stop it, "
            f"or choose another port with {set_by.port}"
        )
    if err.errno == errno.EACCES:
        return f"not allowed to listen on {host}:{port}; use a port above 1023 ({set_by.port})"
    if err.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine; set {set_by.host} to one"
    return f"cannot listen on {host}:{port}: {err.strerror or err}"


def make_server(
    app: Any,
    host: str,
    port: int,
    *,
    sockets: list[socket.socket] | None = None,
    set_by: ListenSettings = COMMAND_LINE,
) -> QuietServer:
    """A uvicorn server for ``app`` without its own signal handling or access log, on
    ``sockets`` from bind_listeners, or on ``host``:``port`` bound here (PortInUse when
    taken, naming ``set_by``)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = QuietServer(config)
    server.sockets = sockets if sockets is not None else bind_listeners(host, port, set_by=set_by)
    return server


async def serve_app(server: QuietServer) -> None:
    """Serve until cancelled, then let uvicorn shut down gracefully (lifespan included).

    uvicorn ends a failed start with SystemExit, which would tear through the TaskGroup and
    the event loop; it is turned into a FatalError here so the process ends cleanly."""
    serving = asyncio.ensure_future(_serve(server))
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving  # bounded by timeout_graceful_shutdown
        raise
    finally:
        for sock in server.sockets:
            sock.close()


async def _serve(server: QuietServer) -> None:
    try:
        await server.serve(sockets=server.sockets)
    except SystemExit:
        raise FatalError(
            "the API server failed to start (see the log above); "
            "fix the reported problem and start again"
        ) from None


# How often a stop is asked again while the task is still running.
RECANCEL_SECONDS = 1.0


async def _until_done(task: asyncio.Future[None], stopping: asyncio.Event) -> None:
    """Wait for ``task``; once a stop was asked, ask again every second until it ends.

    A cancellation can be lost on its way out: when a link drops at the moment the stop
    arrives, Python 3.11's TaskGroup raises the link's error in place of the CancelledError
    (and leaves the task's cancel count raised), the link is taken for lost and reconnects,
    and SIGTERM would never end the process. The next cancel lands in the reconnect's wait.
    """
    stop = asyncio.ensure_future(stopping.wait())
    first: set[asyncio.Future[Any]] = {task, stop}
    try:
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    while not task.done():
        done, _ = await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
        if not done:
            log.warning("still stopping: asking the remaining work to stop again")
            task.cancel()


async def run_until_signal(main: Callable[[], Awaitable[None]]) -> None:
    """Run ``main`` until it ends or SIGINT/SIGTERM arrives, then cancel it cleanly."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main())
    stopping = asyncio.Event()

    def stop(signum: int) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info("%s received: stopping", signal.Signals(signum).name)
            task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    try:
        await _until_done(task, stopping)
        await task
    except asyncio.CancelledError:
        if not stopping.is_set():
            raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
