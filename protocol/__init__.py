"""The wire contract shared by edge, central and terminals: models, topics, canonical JSON, signing.

Pure code: nothing in this package does I/O, so any process (or another language, by
following docs/protocol.md) can build and check the same bytes.
"""

from protocol.ack import Ack, AckResult, ack_message, batch_ack, read_acks
from protocol.actions import ACTION_BODIES, body_model_for
from protocol.canonical import canonical_json
from protocol.codes import ConflictCode, RejectCode
from protocol.envelope import (
    MAJOR_VERSION,
    Envelope,
    build_envelope,
    check_envelope,
    format_ts,
    normalize_body,
    parse_ts,
)
from protocol.errors import ProtocolError, SignatureRefused
from protocol.ids import new_action_id
from protocol.signing import sign, verify
from protocol.state import (
    CentralState,
    EdgeState,
    central_public_key,
    parse_central_key,
    read_central_state,
    signed_central_state,
)
from protocol.wire import MAX_BATCH, MAX_MESSAGE_BYTES, decode_batch, encode_batch

__all__ = [
    "ACTION_BODIES",
    "MAJOR_VERSION",
    "MAX_BATCH",
    "MAX_MESSAGE_BYTES",
    "Ack",
    "AckResult",
    "CentralState",
    "ConflictCode",
    "EdgeState",
    "Envelope",
    "ProtocolError",
    "RejectCode",
    "SignatureRefused",
    "ack_message",
    "batch_ack",
    "body_model_for",
    "build_envelope",
    "central_public_key",
    "canonical_json",
    "check_envelope",
    "decode_batch",
    "encode_batch",
    "format_ts",
    "new_action_id",
    "normalize_body",
    "parse_central_key",
    "parse_ts",
    "read_acks",
    "read_central_state",
    "sign",
    "signed_central_state",
    "verify",
]
