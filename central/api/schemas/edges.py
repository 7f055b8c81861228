"""The edge registry: request and response bodies of /edges."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from protocol.types import Name


class EdgeIn(BaseModel):
    """An edge to register (or re-register, which rotates its secret)."""

    model_config = ConfigDict(extra="forbid")

    site: Name
    edge_id: Name


class EdgeProvisioned(BaseModel):
    """The answer to provisioning: the only time the secret is ever shown."""

    site: str
    edge_id: str
    secret: str
    central_key: str  # hex Ed25519 public key: verifies central's signed state


class EdgeOut(BaseModel):
    """A registered edge and its last reported presence (never its secret)."""

    site: str
    edge_id: str
    online: bool
    queue_depth: int
    oldest_pending_ts: str | None
    last_ack_seq: int
    last_seen: datetime | None
    last_seq: int
    version: str
    created_at: datetime


class AlarmOut(BaseModel):
    """An edge alarm, e.g. SEQ_GAP when actions were lost on a device."""

    id: int
    site: str
    edge: str
    kind: str
    detail: str
    created_at: datetime
