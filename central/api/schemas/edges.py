"""The edge registry: request and response bodies of /edges."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from protocol.types import Name


class EdgeIn(BaseModel):
    """An edge to register (or re-register, which rotates its secret)."""

    model_config = ConfigDict(extra="forbid")

    site: Name
    edge_id: Name


class EdgeProvisioned(BaseModel):
    """The answer to provisioning: the only time the secret and the broker password are ever
    shown (central keeps only the password's hash; see docs/deploy.md)."""

    site: str
    edge_id: str
    secret: str
    mqtt_username: str
    mqtt_password: str
    central_key: str  # hex Ed25519 public key: verifies central's signed state


class RotateIn(BaseModel):
    """A key rotation; ``force`` drops a previous key still in its overlap."""

    model_config = ConfigDict(extra="forbid")

    force: bool = False


class EdgeKeyIssued(BaseModel):
    """A rotated key, shown this once; the previous one is accepted until the time given
    (or until the edge signs with the new one, whichever comes first)."""

    site: str
    edge_id: str
    secret: str
    key_version: int
    previous_valid_until: datetime


class EdgeRevoked(BaseModel):
    """A revoked edge: its actions are refused EDGE_REVOKED from ``revoked_at`` on."""

    site: str
    edge_id: str
    revoked_at: datetime


class ScannerStateOut(BaseModel):
    """A station's scanner driver as its edge reports it."""

    kind: str
    status: str = Field(description="connected, waiting, error, stopped or idle")
    device: str | None = None
    reason: str | None = None
    since: str = ""


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
    key_version: int
    previous_valid_until: datetime | None  # a rotation's overlap still open
    revoked_at: datetime | None
    scanners: dict[str, ScannerStateOut] = Field(
        default_factory=dict,
        description="each station's scanner driver as the edge last reported it, by station",
    )

    @field_validator("scanners", mode="before")
    @classmethod
    def _none_reported(cls, scanners: object) -> object:
        """An edge that never reported scanners has none."""
        return {} if scanners is None else scanners


class AlarmOut(BaseModel):
    """An edge alarm, e.g. SEQ_GAP when actions were lost on a device."""

    id: int
    site: str
    edge: str
    kind: str
    detail: str
    created_at: datetime
