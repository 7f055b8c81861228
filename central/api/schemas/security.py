"""Security events and refused envelopes as the API lists them."""

from datetime import datetime

from pydantic import BaseModel, Field

from central.db.enums import SecurityKind


class SecurityEventOut(BaseModel):
    """One aggregated security event: how often it came from one source, first and last."""

    kind: SecurityKind
    source: str
    site: str | None
    edge: str | None
    subject: str | None
    count: int
    first_seen: datetime
    last_seen: datetime
    detail: str


class RejectedActionOut(BaseModel):
    """A refused envelope (or a whole message that could not be read), kept for inspection:
    identical refusals from one source are one row with a count."""

    id: int
    action_id: str | None = Field(description="the envelope's id, when it could be read")
    site: str | None = Field(description="the site the envelope or its topic names")
    edge: str | None = Field(description="the edge the envelope or its topic names")
    seq: int | None
    code: str = Field(description="the rejection code of the ack (docs/protocol.md)")
    message: str
    raw: str = Field(description="the refused text as received, its first 2,048 characters")
    raw_chars: int = Field(description="the length of the text kept (at most 65,536)")
    via: str = Field(description="mqtt or http")
    received_at: datetime = Field(description="when it was first refused")
    count: int = Field(description="how many times the same refusal came from the same source")
    last_seen: datetime
