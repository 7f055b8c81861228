"""/events: server-sent events for kiosks (scans, action states, connectivity, warnings)."""

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from edge.api.deps import EventsDep, LinkStatusDep
from edge.api.schemas import EventOut
from edge.events import EVENT_KINDS, Event

KEEPALIVE_SECONDS = 15.0

router = APIRouter(prefix="/events", tags=["events"])


class EventStream(StreamingResponse):
    """A text/event-stream answer (the media type the OpenAPI schema shows)."""

    media_type = "text/event-stream"


# Each frame's data is an EventOut; OpenAPI describes that per item of the stream.
_STREAM_SCHEMA = {
    "responses": {
        "200": {
            "content": {
                "text/event-stream": {
                    "itemSchema": {
                        "type": "object",
                        "required": ["event", "data"],
                        "properties": {
                            "id": {"type": "string"},
                            "event": {"type": "string", "enum": list(EVENT_KINDS)},
                            "data": {
                                "type": "string",
                                "contentMediaType": "application/json",
                                "contentSchema": {"$ref": "#/components/schemas/EventOut"},
                            },
                        },
                    }
                }
            }
        }
    }
}


@router.get("", response_model=EventOut, response_class=EventStream, openapi_extra=_STREAM_SCHEMA)
async def get_events(events: EventsDep, link: LinkStatusDep) -> EventStream:
    """Server-sent events: scans, action state changes, connectivity, warnings."""
    subscription = events.subscribe()  # before answering, so nothing falls in between

    async def stream() -> AsyncIterator[str]:
        try:
            # A snapshot first: the client learns the link state without waiting.
            yield Event(id=0, kind="connectivity", data=link()).sse()
            while True:
                try:
                    # Not wait_for: on Python 3.11 it can swallow the cancellation of a client
                    # that leaves as an event arrives, and the stream would never end.
                    async with asyncio.timeout(KEEPALIVE_SECONDS):
                        event = await subscription.get()
                except TimeoutError:
                    yield ": keepalive\n\n"  # keeps proxies from closing an idle stream
                    continue
                yield event.sse()
        finally:
            subscription.close()

    return EventStream(stream(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
