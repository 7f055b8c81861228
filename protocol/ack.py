"""Acks: central's answer to a batch, one ack per envelope in the batch's order.

The message on the ack topic is signed by central with the edge's own key, so only central (or
the edge itself) can tell an edge that its actions are final. A client that merely reads the
act stream (for instance by joining central's shared subscription) cannot forge one.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from protocol.canonical import canonical_json
from protocol.errors import ProtocolError, SignatureRefused
from protocol.wire import dumps

# Prefixed to the signed bytes. An envelope's signed bytes start with "{", so no ack message
# can ever verify as an envelope signed with the same key, nor the other way round.
ACK_DOMAIN = b"ioe/v1/ack\n"
ACK_MESSAGE_VERSION = 1


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
        """The JSON-ready dict without empty optional fields; ``id`` and ``seq`` are always
        there (null on a batch-level refusal, as docs/protocol.md shows)."""
        return {"id": self.id, "seq": self.seq, **self.model_dump(mode="json", exclude_none=True)}


def ack_signing_payload(message: Mapping[str, Any]) -> bytes:
    """The bytes an ack message's ``sig`` covers: the domain tag, then the canonical JSON of
    every field but ``sig``."""
    return ACK_DOMAIN + canonical_json({k: v for k, v in message.items() if k != "sig"})


def _ack_sig(message: Mapping[str, Any], secret: str) -> str:
    key = secret.encode("utf-8")
    return hmac.new(key, ack_signing_payload(message), hashlib.sha256).hexdigest()


def ack_message(acks: list[Ack], *, site: str, edge: str, secret: str) -> dict[str, Any]:
    """The signed ack message for one edge: ``{"v", "site", "edge", "acks", "sig"}``."""
    message: dict[str, Any] = {
        "v": ACK_MESSAGE_VERSION,
        "site": site,
        "edge": edge,
        "acks": [ack.wire() for ack in acks],
    }
    message["sig"] = _ack_sig(message, secret)
    return message


def batch_ack(acks: list[Ack], *, site: str, edge: str, secret: str) -> bytes:
    """Encode a batch's acks as the signed message published on ``ioe/v1/{site}/{edge}/ack``."""
    return dumps(ack_message(acks, site=site, edge=edge, secret=secret))


def read_acks(payload: bytes, *, site: str, edge: str, secret: str) -> list[Ack]:
    """The acks of a message on this edge's ack topic, only if central signed them for it.

    Raises SignatureRefused (nothing may be recorded) when the message is unreadable, unsigned,
    meant for another edge, or its signature does not match.
    """
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise SignatureRefused("ACK_MALFORMED", f"not JSON: {err}") from err
    if not isinstance(message, dict):
        raise SignatureRefused(
            "ACK_UNSIGNED", "an ack message is a signed object, not a bare array"
        )
    given = message.get("sig")
    if not isinstance(given, str):
        raise SignatureRefused("ACK_UNSIGNED", "the ack message has no signature")
    if message.get("v") != ACK_MESSAGE_VERSION:
        raise SignatureRefused(
            "ACK_MALFORMED", f"unsupported ack message version {message.get('v')!r}"
        )
    if message.get("site") != site or message.get("edge") != edge:
        raise SignatureRefused(
            "ACK_WRONG_EDGE",
            f"signed for {message.get('site')!r}/{message.get('edge')!r}, not {site}/{edge}",
        )
    try:
        expected = _ack_sig(message, secret)
    except ProtocolError as err:  # floats: never something central signs
        raise SignatureRefused("ACK_MALFORMED", err.message) from err
    if not hmac.compare_digest(expected, given.lower()):
        raise SignatureRefused("ACK_BAD_SIGNATURE", "the signature does not match this edge's key")
    items = message.get("acks")
    if not isinstance(items, list):
        raise SignatureRefused("ACK_MALFORMED", "'acks' must be an array")
    try:
        return [Ack.model_validate(item) for item in items]
    except ValidationError as err:
        raise SignatureRefused("ACK_MALFORMED", f"an ack does not fit the schema: {err}") from err
