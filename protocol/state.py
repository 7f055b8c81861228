"""Retained presence payloads: each edge's state and central's state."""

from pydantic import BaseModel, ConfigDict


class EdgeState(BaseModel):
    """What an edge publishes (retained) on its state topic; offline is its last will."""

    model_config = ConfigDict(extra="allow")

    online: bool
    queue_depth: int = 0
    oldest_pending_ts: str | None = None
    last_ack_seq: int = 0
    version: str = ""
    backlog_warning: bool = False


class CentralState(BaseModel):
    """What central publishes (retained) on ioe/v1/central/state; offline is its last will."""

    model_config = ConfigDict(extra="allow")

    online: bool
    version: str = ""
