"""Retained presence payloads: each edge's state and central's (signed) state.

Central's state decides whether edges send at all, so it is signed: Ed25519 with a key only
central holds. Edges hold the public half (learned at provisioning), which verifies but cannot
sign, so no edge and no other client of the broker can hold edges back or let them loose.
"""

import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from protocol.canonical import canonical_json
from protocol.errors import ProtocolError, SignatureRefused
from protocol.wire import dumps

# Prefixed to the signed bytes so a state signature can never be taken for anything else.
CENTRAL_STATE_DOMAIN = b"ioe/v1/central/state\n"
CENTRAL_KEY_BYTES = 32


class ScannerState(BaseModel):
    """One scanner driver's state as an edge reports it."""

    model_config = ConfigDict(extra="allow")

    kind: str
    status: str
    device: str | None = None
    reason: str | None = None
    since: str = ""


class EdgeState(BaseModel):
    """What an edge publishes (retained) on its state topic; offline is its last will."""

    model_config = ConfigDict(extra="allow")

    online: bool
    queue_depth: int = 0
    oldest_pending_ts: str | None = None
    last_ack_seq: int = 0
    version: str = ""
    backlog_warning: bool = False
    refused_acks: int = 0
    refused_central_states: int = 0
    # Each station's scanner driver, by station: kind, status (connected / waiting / error /
    # stopped), device, reason, since. Central shows it in the edge registry.
    scanners: dict[str, ScannerState] = Field(default_factory=dict)


class CentralState(BaseModel):
    """What central publishes (retained) on ioe/v1/central/state; offline is its last will."""

    model_config = ConfigDict(extra="allow")

    online: bool
    version: str = ""


def central_state_signing_payload(message: dict[str, Any]) -> bytes:
    """The bytes ``sig`` covers: the domain tag, then the canonical JSON of all but ``sig``."""
    return CENTRAL_STATE_DOMAIN + canonical_json({k: v for k, v in message.items() if k != "sig"})


def central_public_key(seed: bytes) -> bytes:
    """The 32-byte Ed25519 public key for a 32-byte private seed (what edges are given)."""
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def signed_central_state(state: CentralState, seed: bytes) -> bytes:
    """The payload central publishes: the state plus ``sig``, hex Ed25519 over its bytes."""
    message: dict[str, Any] = state.model_dump(mode="json")
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(
        central_state_signing_payload(message)
    )
    message["sig"] = signature.hex()
    return dumps(message)


def parse_central_key(text: str) -> bytes:
    """A central public key from its hex form (64 hex characters), or ValueError."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError("a central key is 64 hex characters") from None
    if len(raw) != CENTRAL_KEY_BYTES:
        raise ValueError(f"a central key is {CENTRAL_KEY_BYTES * 2} hex characters")
    return raw


def read_central_state(payload: bytes, public_key: bytes) -> CentralState:
    """Central's state, only if central signed it; SignatureRefused otherwise."""
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise SignatureRefused("STATE_MALFORMED", f"not JSON: {err}") from err
    if not isinstance(message, dict):
        raise SignatureRefused("STATE_MALFORMED", "central's state is a JSON object")
    given = message.get("sig")
    if not isinstance(given, str):
        raise SignatureRefused("STATE_UNSIGNED", "central's state has no signature")
    try:
        signature = bytes.fromhex(given)
        signed = central_state_signing_payload(message)
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, signed)
    except ProtocolError as err:
        raise SignatureRefused("STATE_MALFORMED", err.message) from err
    except (ValueError, InvalidSignature) as err:
        raise SignatureRefused(
            "STATE_BAD_SIGNATURE", "the signature does not match central's key"
        ) from err
    try:
        return CentralState.model_validate(message)
    except ValidationError as err:
        raise SignatureRefused("STATE_MALFORMED", f"does not fit the schema: {err}") from err
