"""Acks: central's answer to each envelope, published as an array in the batch's order."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from protocol.wire import dumps


class AckResult(StrEnum):
    """What happened to one action at central."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    CONFLICT = "conflict"


class Ack(BaseModel):
    """One action's outcome. ``original`` tells, on a duplicate, what the first outcome was."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | None
    seq: int | None
    result: AckResult
    code: str | None = None
    message: str | None = None
    conflict_id: int | None = None
    original: AckResult | None = None

    def wire(self) -> dict[str, object]:
        """The JSON-ready dict, without empty optional fields."""
        return self.model_dump(mode="json", exclude_none=True)


def batch_ack(acks: list[Ack]) -> bytes:
    """Encode a batch's acks as the JSON array published on the ack topic."""
    return dumps([ack.wire() for ack in acks])
