"""A streamed HTTP response of server-sent events that gives its resources back however it
ends: the client went away, the server stops, or the stream failed."""

from collections.abc import AsyncIterable, Awaitable, Callable

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class EventStreamResponse(StreamingResponse):
    """``text/event-stream``, never cached nor buffered by a proxy; ``on_close`` runs once at
    the end (Starlette cancels the stream when the client disconnects)."""

    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterable[bytes],
        *,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            content,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream, then give the stream's slot back."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self._on_close is not None:
                on_close, self._on_close = self._on_close, None
                await on_close()
