"""The ``text/event-stream`` wire format of central's events: one message per event, encoded
once per process however many streams carry it."""

import json
from typing import Any

from central.events.reading import StoredEvent

GAP = "gap"
KEEPALIVE = b": keep-alive\n\n"


def message(event_id: int, event: str, data: dict[str, Any]) -> bytes:
    """One SSE message (JSON is one line: no newline inside ``data``)."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event_id}\nevent: {event}\ndata: {body}\n\n".encode()


def event_message(event: StoredEvent) -> bytes:
    """The SSE message of an event."""
    return message(event.id, event.type, event.as_json())
