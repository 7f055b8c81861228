"""Message framing on the act topic: a JSON array of 1..200 envelopes, size-capped."""

import json
from typing import Any

from protocol.codes import RejectCode
from protocol.errors import ProtocolError

MAX_BATCH = 200
MAX_MESSAGE_BYTES = 512 * 1024


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON for publishing (not canonical: signatures don't cover framing)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_batch(payload: bytes) -> list[Any]:
    """Parse an act message into its list of raw envelopes, or raise ProtocolError."""
    return _batch(_parse(payload))


def decode_actions_body(payload: bytes) -> tuple[list[Any], bool]:
    """Parse an HTTP ``POST /actions`` body: one envelope object, or a batch array as on MQTT.

    Answers the raw envelopes and whether the body was a lone object (answered with one ack).
    """
    value = _parse(payload)
    return ([value], True) if isinstance(value, dict) else (_batch(value), False)


def _parse(payload: bytes) -> Any:
    """The payload as JSON, within the size limit, or ProtocolError."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            RejectCode.MESSAGE_TOO_LARGE,
            f"message is {len(payload)} bytes; the limit is {MAX_MESSAGE_BYTES}",
        )
    try:
        value = json.loads(payload.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ProtocolError(RejectCode.MALFORMED_JSON, f"message is not UTF-8 JSON: {err}") from err
    return value


def _batch(value: Any) -> list[Any]:
    """The framing rules of a batch: a JSON array of 1..MAX_BATCH elements."""
    if not isinstance(value, list):
        raise ProtocolError(RejectCode.BATCH_NOT_ARRAY, "an act message must be a JSON array")
    if not value:
        raise ProtocolError(RejectCode.BATCH_EMPTY, "an act message must hold at least one action")
    if len(value) > MAX_BATCH:
        raise ProtocolError(
            RejectCode.BATCH_TOO_LARGE,
            f"{len(value)} actions in one message; the limit is {MAX_BATCH}",
        )
    return value


def join_batch(envelopes: list[str]) -> bytes:
    """One act message from envelopes already serialised (as an edge stores them)."""
    if not 1 <= len(envelopes) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1..{MAX_BATCH} envelopes, not {len(envelopes)}")
    return ("[" + ",".join(envelopes) + "]").encode("utf-8")


def encode_batch(envelopes: list[dict[str, Any]]) -> bytes:
    """Encode envelopes (already signed) as one act message."""
    if not 1 <= len(envelopes) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1..{MAX_BATCH} envelopes, not {len(envelopes)}")
    return dumps(envelopes)
