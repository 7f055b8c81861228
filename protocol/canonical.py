"""Canonical JSON: the exact bytes that get signed, reproducible in any language.

Keys sorted, separators ``,`` and ``:``, no whitespace, UTF-8 with non-ASCII kept. For the
strings, integers, booleans and nulls that envelopes carry this equals RFC 8785 (JCS).
Floats are refused: their text form differs between languages, and quantities travel as
decimal strings anyway. Integers stay within 64 bits and strings hold no NUL character, so
every value that can be signed can also be stored (PostgreSQL text cannot hold NUL, and its
integers stop at 64 bits). Nesting is capped so no walk over a value can exhaust the stack.
"""

import json
from typing import Any

from protocol.codes import RejectCode
from protocol.errors import ProtocolError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Arrays and objects inside one envelope (itself included); a real one needs 4
# (envelope > body > lps > line), so 16 leaves room for new bodies and stops stack attacks.
MAX_DEPTH = 16


def wire_value_problem(value: Any, depth: int = 1) -> ProtocolError | None:
    """Why ``value`` cannot travel on the wire (float, NaN, integer beyond 64 bits, NUL in a
    string, too deep, not a JSON type), or None when it can."""
    if isinstance(value, str):
        if "\x00" in value:
            return ProtocolError(
                RejectCode.NUL_CHARACTER, "strings may not hold the NUL character (\\u0000)"
            )
        return None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        return ProtocolError(
            RejectCode.VALUE_OUT_OF_RANGE,
            "integers must fit in 64 bits (-2**63 .. 2**63-1); send large numbers as strings",
        )
    if isinstance(value, float):
        return ProtocolError(
            RejectCode.NOT_CANONICAL, "floats are not allowed on the wire; send decimal strings"
        )
    if not isinstance(value, dict | list):
        return ProtocolError(
            RejectCode.NOT_CANONICAL, f"a {type(value).__name__} is not a JSON value"
        )
    if depth > MAX_DEPTH:
        return ProtocolError(
            RejectCode.TOO_DEEP, f"arrays and objects nest more than {MAX_DEPTH} levels deep"
        )
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(key, str):
            problem = wire_value_problem(key, depth)
            if problem is not None:
                return problem
        problem = wire_value_problem(item, depth + 1)
        if problem is not None:
            return problem
    return None


def check_wire_value(value: Any) -> None:
    """Raise the ProtocolError of the first thing in ``value`` that cannot travel."""
    problem = wire_value_problem(value)
    if problem is not None:
        raise problem


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON bytes of ``value``."""
    check_wire_value(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
