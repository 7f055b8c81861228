"""Running ASGI apps and long-lived tasks together in one process, with one signal owner."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import uvicorn

log = logging.getLogger(__name__)


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the process (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def make_server(app: Any, host: str, port: int) -> QuietServer:
    """A uvicorn server for ``app`` without its own signal handling or access log."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    return QuietServer(config)


async def serve_app(server: QuietServer) -> None:
    """Serve until cancelled, then let uvicorn shut down gracefully (lifespan included)."""
    serving = asyncio.ensure_future(server.serve())
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        await serving  # bounded by timeout_graceful_shutdown
        raise


async def run_until_signal(main: Callable[[], Awaitable[None]]) -> None:
    """Run ``main`` until it ends or SIGINT/SIGTERM arrives, then cancel it cleanly."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main())
    stopping = False

    def stop(signum: int) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            log.info("%s received: stopping", signal.Signals(signum).name)
            task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    try:
        await task
    except asyncio.CancelledError:
        if not stopping:
            raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
