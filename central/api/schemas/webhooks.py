"""Webhooks: subscription and delivery bodies."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from central.db.enums import WebhookDeliveryStatus
from protocol.types import Name

TYPES_HELP = "event types: exact (lp.moved), a prefix (lp.*), or * for all"


class WebhookIn(BaseModel):
    """A new subscription."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="http:// or https:// URL events are POSTed to")
    types: list[str] = Field(min_length=1, max_length=100, description=TYPES_HELP)
    sites: list[Name] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="sites whose events it gets, each the caller's; absent: all the caller's",
    )
    description: str = Field(default="", max_length=500)
    enabled: bool = True


class WebhookPatch(BaseModel):
    """Changes to a subscription: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    types: list[str] | None = Field(default=None, min_length=1, max_length=100)
    sites: list[Name] | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = Field(
        default=None, description="true again after a 410 Gone sends what waited"
    )


class HealthOut(BaseModel):
    """How the endpoint has been answering."""

    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    consecutive_failures: int


class WebhookOut(BaseModel):
    """A subscription, never its secret."""

    id: int
    url: str
    types: list[str]
    sites: list[str] | None = Field(description="null: every site")
    description: str
    enabled: bool
    disabled_reason: str | None = Field(description="why central disabled it (410 Gone)")
    secret_version: int
    previous_secret_until: datetime | None = Field(
        description="until when the previous secret also signs (a rotation's overlap)"
    )
    created_by: str
    created_at: datetime
    updated_at: datetime
    health: HealthOut


class WebhookMade(BaseModel):
    """A subscription with its signing secret: shown this once."""

    webhook: WebhookOut
    secret: str = Field(description="whsec_<base64>: verify webhook-signature with it")


class AttemptOut(BaseModel):
    """One try of a delivery."""

    at: datetime
    status_code: int | None = Field(description="null: no answer (timeout, connection)")
    latency_ms: int
    error: str | None


class DeliveryOut(BaseModel):
    """One event on its way to one endpoint, with every try."""

    id: int
    webhook_id: int
    event_id: int | None = Field(description="null: a test ping")
    message_id: str = Field(description="the webhook-id header, the same on every retry")
    type: str
    subject: str
    status: WebhookDeliveryStatus
    attempts: int = Field(description="tries in this round (a retry by hand starts a new one)")
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    tries: list[AttemptOut]
    body: dict[str, Any] = Field(description="the event as sent")
