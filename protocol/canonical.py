"""Canonical JSON: the exact bytes that get signed, reproducible in any language.

Keys sorted, separators ``,`` and ``:``, no whitespace, UTF-8 with non-ASCII kept. For the
strings, integers, booleans and nulls that envelopes carry this equals RFC 8785 (JCS).
Floats are refused: their text form differs between languages, and quantities travel as
decimal strings anyway.
"""

import json
from typing import Any

from protocol.codes import RejectCode
from protocol.errors import ProtocolError


def _refuse_floats(value: Any) -> None:
    """Walk the value and raise on any float, so signed bytes never depend on float printing."""
    if isinstance(value, float):
        raise ProtocolError(
            RejectCode.SCHEMA_INVALID, "floats are not allowed on the wire; send decimal strings"
        )
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_floats(item)


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON bytes of ``value``."""
    _refuse_floats(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
