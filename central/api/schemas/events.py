"""Events out of central as the API shows them: one event, a page of history."""

from typing import Any

from pydantic import BaseModel, Field


class EventOut(BaseModel):
    """One numbered event, in the shape SSE messages and webhooks carry too."""

    id: int = Field(description="the event's id: gapless, in the order events committed")
    type: str = Field(description="what happened (docs/events.md), e.g. lp.moved")
    site: str | None
    subject: str = Field(description="what it happened to: an LP number, an order number, ...")
    occurred_at: str = Field(description="when it happened (ISO 8601; device time for the floor)")
    recorded_at: str = Field(description="when central wrote it (ISO 8601)")
    cause: str | None = Field(description="the floor action's id or the audit entry's")
    payload: dict[str, Any]


class EventPageOut(BaseModel):
    """Events newest first; ask again with ``before=next_before`` for older ones."""

    items: list[EventOut]
    next_before: int | None = Field(
        description="null: nothing older is kept. A rare filter may answer fewer items than "
        "`limit` (it looks back a bounded number of events per call): page on while set"
    )
