"""A real central API served by uvicorn in the test's event loop, and a server-sent event
reader: streaming needs a real server (an in-memory transport buffers the whole response)."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from central.api.app import create_app
from central.settings import CentralSettings
from harness import free_port
from runtime.serving import make_server


@dataclass
class Message:
    """One SSE message (``event`` None for a comment line)."""

    event: str | None
    id: str | None = None
    data: str = ""
    comment: str | None = None

    def json(self) -> Any:
        """The message's data as JSON."""
        return json.loads(self.data)


@dataclass
class Served:
    """A central API on a free port."""

    app: FastAPI
    url: str
    engine: AsyncEngine
    extra: dict[str, Any] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def served(settings: CentralSettings, engine: AsyncEngine) -> AsyncIterator[Served]:
    """Serve central's API over HTTP until the block ends."""
    app = create_app(settings, engine=engine)
    port = free_port()
    server = make_server(app, "127.0.0.1", port)
    task = asyncio.create_task(server.serve(sockets=server.sockets))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield Served(app, f"http://127.0.0.1:{port}", engine)
    finally:
        server.should_exit = True
        await task
        for sock in server.sockets:
            sock.close()


class EventReader:
    """Reads one stream message by message."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, timeout: float = 10.0) -> Message:
        """The next message or comment (``retry:`` lines are skipped)."""
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> Message:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if fields:
                    return Message(fields.get("event"), fields.get("id"), fields.get("data", ""))
                continue
            if line.startswith(":"):
                return Message(None, comment=line[1:].strip())
            name, _, value = line.partition(":")
            if name == "retry":
                continue
            fields[name] = value[1:] if value.startswith(" ") else value
        raise EOFError("the stream ended")

    async def events(self, count: int, timeout: float = 10.0) -> list[Message]:
        """The next ``count`` events (comments skipped)."""
        found: list[Message] = []
        while len(found) < count:
            message = await self.next(timeout)
            if message.event is not None:
                found.append(message)
        return found


@contextlib.asynccontextmanager
async def stream(client: httpx.AsyncClient, url: str, **kwargs: Any) -> AsyncIterator[EventReader]:
    """An open event stream (its status checked: 200 and text/event-stream)."""
    async with client.stream("GET", url, **kwargs) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventReader(response)
