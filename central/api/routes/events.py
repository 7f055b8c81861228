"""/events: the outbox as server-sent events, and its history paged back.

Any caller may read events (like the conflict inbox and the control tower), of its own sites
only: a caller of one plant never sees another's events, even when it asks.
"""

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from central.api.deps import CallerDep, EventFeedDep, ReadConn, SettingsDep
from central.api.schemas.events import EventOut, EventPageOut
from central.api.streaming import EventStreamResponse
from central.events.feed import TooManyStreams
from central.events.reading import events_before
from central.events.selection import Selection, parse_types
from central.events.sse import event_stream
from central.events.sse_wire import GAP
from central.events.types import EVENT_TYPES
from runtime.http_errors import error_response, error_responses

router = APIRouter(prefix="/events", tags=["events"])

EVENT_ID_MAX = 2**63 - 1
Types = Annotated[
    list[str],
    Query(
        description="event types, comma-separated or repeated; a family as `lp.*` (default: all)"
    ),
]
EventId = Annotated[int | None, Query(ge=0, le=EVENT_ID_MAX)]


# Each message's data is an EventOut; OpenAPI describes that per item of the stream.
_STREAM_SCHEMA = {
    "responses": {
        "200": {
            "content": {
                "text/event-stream": {
                    "itemSchema": {
                        "type": "object",
                        "required": ["id", "event", "data"],
                        "properties": {
                            "id": {"type": "string"},
                            "event": {"type": "string", "enum": [*EVENT_TYPES, GAP]},
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


@router.get(
    "",
    status_code=200,
    response_model=EventOut,
    response_class=EventStreamResponse,
    responses=error_responses(422),
    openapi_extra=_STREAM_SCHEMA,
)
async def stream_events(
    feed: EventFeedDep,
    caller: CallerDep,
    settings: SettingsDep,
    types: Types = [],  # noqa: B006 - FastAPI copies query defaults
    site: str | None = None,
    after: Annotated[
        int | None,
        Query(ge=0, le=EVENT_ID_MAX, description="resume after this event id (0: all kept)"),
    ] = None,
    last_event_id: Annotated[
        int | None,
        Header(alias="Last-Event-ID", ge=0, le=EVENT_ID_MAX, description="wins over `after`"),
    ] = None,
) -> Response:
    """Numbered events as `text/event-stream`, from now on, or after `Last-Event-ID` /
    `after`; `event: gap` first when events between were removed by retention."""
    selection = Selection(parse_types(types), _sites(caller.site_filter(site)))
    try:
        await feed.open_stream()
    except TooManyStreams:
        return error_response(
            503,
            "TOO_MANY_STREAMS",
            f"this central serves at most {settings.sse_max_streams} event streams at once; "
            "retry later",
            {"limit": settings.sse_max_streams},
            headers={"Retry-After": "5"},
        )
    resume = last_event_id if last_event_id is not None else after
    stream = event_stream(feed, selection, resume, keepalive=settings.sse_keepalive_seconds)
    return EventStreamResponse(stream, on_close=feed.close_stream)


@router.get("/history", response_model=EventPageOut, responses=error_responses(422))
async def event_history(
    conn: ReadConn,
    caller: CallerDep,
    types: Types = [],  # noqa: B006 - FastAPI copies query defaults
    site: str | None = None,
    subject: Annotated[str | None, Query(max_length=128)] = None,
    before: EventId = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, object]:
    """Events newest first, before the id `before` (default: the newest); `next_before`
    pages further back."""
    sites = caller.site_filter(site)
    found, reached = await events_before(
        conn,
        before,
        types=parse_types(types),
        sites=sites,
        subject=subject,
        limit=limit + 1,
    )
    page = found[:limit]
    # A rare filter answers what it found in a bounded look back, and where to look on from.
    more = page[-1].id if len(found) > limit else reached
    return {"items": [e.as_json() for e in page], "next_before": more}


def _sites(sites: list[str] | None) -> frozenset[str] | None:
    return None if sites is None else frozenset(sites)
