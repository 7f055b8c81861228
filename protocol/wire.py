"""Message framing on the act topic: a JSON array of 1..200 envelopes, size-capped.

Size, structure and nesting depth are checked before the JSON parser runs, so no message can
make it exhaust memory or the stack; a message whose brackets do not balance is malformed,
whatever else it holds. An element that cannot be read (nested too deep, a NaN, an integer
of absurd length, broken JSON inside a well-formed array) becomes an ``Unreadable`` in its
place, with the id and seq its top level shows: it is refused on its own, against its own
action, while the elements around it apply.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

from protocol.canonical import INT64_MAX, MAX_DEPTH
from protocol.codes import RejectCode
from protocol.errors import ProtocolError
from protocol.types import UUID_PATTERN

MAX_BATCH = 200
MAX_MESSAGE_BYTES = 512 * 1024
MAX_INT_DIGITS = 24  # longer integers are refused unparsed; 64 bits need 19 digits and a sign

# Strings whole (so brackets inside them do not count), the structural characters, and a
# quote that opens a string never closed.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},"]')
# An element's tokens for reading its top level: strings, structure, scalars, anything else.
_PART = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:,]|[^\s\[\]{}:,"]+|\S')
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_UUID = re.compile(UUID_PATTERN)
_OPENS = {"]": "[", "}": "{"}
_STRING_OR_SCALAR = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[^\[\]{}"]+')
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")


@dataclass(frozen=True)
class Unreadable:
    """A batch element that could not be parsed: why, its text as received, and the id and
    seq its top level shows (None where they cannot be read safely)."""

    code: str
    message: str
    text: str
    action_id: str | None = None
    seq: int | None = None


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON for publishing (not canonical: signatures don't cover framing)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def element_text(raw: Any) -> str:
    """An element as JSON text for inspection (an unreadable one as received)."""
    if isinstance(raw, Unreadable):
        return raw.text
    try:
        return dumps(raw).decode("utf-8")
    except (TypeError, ValueError):
        return repr(raw)


class _Refused(ValueError):
    """Raised from inside the parser for a value that is JSON but never accepted."""

    def __init__(self, code: RejectCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _no_constants(name: str) -> Any:
    raise _Refused(RejectCode.NOT_CANONICAL, f"{name} is not valid JSON; send decimal strings")


def _bounded_int(text: str) -> int:
    """Parse an integer, refusing digit strings far beyond 64 bits before converting them."""
    if len(text) > MAX_INT_DIGITS:
        raise _Refused(
            RejectCode.VALUE_OUT_OF_RANGE, f"an integer of {len(text)} digits; 64 bits at most"
        )
    return int(text)


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constants, parse_int=_bounded_int)


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
    """The payload as JSON, within the size and depth limits, or ProtocolError. A well-formed
    array whose elements cannot all be read comes back with ``Unreadable`` in their places."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            RejectCode.MESSAGE_TOO_LARGE,
            f"message is {len(payload)} bytes; the limit is {MAX_MESSAGE_BYTES}",
        )
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ProtocolError(RejectCode.MALFORMED_JSON, f"message is not UTF-8: {err}") from err
    if _shallow(text):  # no element can nest too deep: parse at once
        try:
            return _loads(text)
        except ValueError as err:
            spans, _ = _scan(text)
            if spans is None:
                raise _whole_message_error(err) from err
            return [_element(text[start:end], depth) for start, end, depth in spans]
    spans, deepest = _scan(text)
    if spans is None:
        if deepest > MAX_DEPTH:
            raise ProtocolError(
                RejectCode.TOO_DEEP,
                f"the message nests {deepest} levels deep; the limit is {MAX_DEPTH}",
            )
        try:
            return _loads(text)
        except ValueError as err:
            raise _whole_message_error(err) from err
    if all(depth <= MAX_DEPTH for _, _, depth in spans):
        try:
            return _loads(text)
        except ValueError:
            pass  # some element cannot be read: read them one by one
    return [_element(text[start:end], depth) for start, end, depth in spans]


def _shallow(text: str) -> bool:
    """True when brackets balance and nest at most MAX_DEPTH + 1 levels (a batch array and
    its elements), found by C-speed passes over the bracket skeleton, without parsing."""
    skeleton = _STRING_OR_SCALAR.sub("", text)
    for _ in range(MAX_DEPTH + 1):
        if not skeleton:
            return True
        skeleton = _EMPTY_PAIR.sub("", skeleton)
    return not skeleton


def _malformed(message: str) -> ProtocolError:
    return ProtocolError(RejectCode.MALFORMED_JSON, f"message is not JSON: {message}")


def _whole_message_error(err: ValueError) -> ProtocolError:
    """Why a message that is not a well-formed array could not be read."""
    if isinstance(err, _Refused):
        return ProtocolError(err.code, err.message)
    return ProtocolError(RejectCode.MALFORMED_JSON, f"message is not JSON: {err}")


def _element(text: str, depth: int) -> Any:
    """One element of a well-formed array, or the reason it cannot be read."""
    if depth > MAX_DEPTH:
        return _unreadable(
            RejectCode.TOO_DEEP,
            f"element nests {depth} levels deep; the limit is {MAX_DEPTH}",
            text,
        )
    try:
        return _loads(text)
    except _Refused as err:
        return _unreadable(err.code, err.message, text)
    except ValueError as err:
        return _unreadable(RejectCode.MALFORMED_JSON, f"element is not JSON: {err}", text)


def _unreadable(code: str, message: str, text: str) -> Unreadable:
    action_id, seq = top_level_id_seq(text)
    return Unreadable(code, message, text.strip(), action_id, seq)


def top_level_id_seq(text: str) -> tuple[str | None, int | None]:
    """The ``id`` (a UUID) and ``seq`` (1 .. 2^63-1) of an element that cannot be parsed,
    read from its top-level keys alone, so that its refusal can be acked against its action.

    Values under other keys are skipped unread, bracket by bracket without recursion: the
    poison in them (NaN, a 30-digit literal, 100,000 levels) is never parsed. Each is None
    when absent, given twice, or not of its form; both are None unless the element's top
    level is a well-formed object.
    """
    found: dict[str, list[str]] = {"id": [], "seq": []}
    nested: list[str] = []  # the brackets open inside the value being skipped
    expect, key = "{", ""
    for match in _PART.finditer(text):
        token = match.group()
        if token == '"':
            return None, None  # a string never closed
        if nested:
            if token == "[" or token == "{":
                nested.append(token)
            elif token == "]" or token == "}":
                if nested.pop() != _OPENS[token]:
                    return None, None
                expect = expect if nested else ","
            continue
        if expect == "{" and token == "{":
            expect = "key"
        elif expect == "key" and token.startswith('"'):
            try:
                key = json.loads(token)
            except ValueError:
                return None, None
            expect = ":"
        elif expect == ":" and token == ":":
            expect = "value"
        elif expect == "value" and token in ("[", "{"):
            nested.append(token)
        elif expect == "value" and token not in ("]", "}", ":", ","):
            if key in found:
                found[key].append(token)
            expect = ","
        elif expect == "," and token == ",":
            expect = "key"
        elif expect == "," and token == "}":
            expect = "end"
        else:
            return None, None  # not "key": value pairs in one object, or text after it
    if expect != "end":
        return None, None
    return _uuid(found["id"]), _seq(found["seq"])


def _uuid(tokens: list[str]) -> str | None:
    if len(tokens) != 1 or not tokens[0].startswith('"'):
        return None
    try:
        value = json.loads(tokens[0])
    except ValueError:
        return None
    return value if isinstance(value, str) and _UUID.match(value) else None


def _seq(tokens: list[str]) -> int | None:
    if len(tokens) != 1 or len(tokens[0]) > MAX_INT_DIGITS or not _INT.fullmatch(tokens[0]):
        return None
    value = int(tokens[0])
    return value if 1 <= value <= INT64_MAX else None


def _scan(text: str) -> tuple[list[tuple[int, int, int]] | None, int]:
    """Without parsing: (start, end, nesting depth) of each element of a top-level array, or
    None when the text is one balanced value that is not an array; and the deepest nesting.

    Raises ProtocolError ``MALFORMED_JSON`` when the structure itself cannot be read (a
    bracket never closed, closed by the other kind or closing nothing, a string never
    closed, text after the value), whatever else the message holds.
    """
    spans: list[tuple[int, int, int]] = []
    opened: list[int] = []  # where each open bracket is, innermost last
    deepest, inner, start, end = 0, 0, -1, -1
    for match in _TOKEN.finditer(text):
        token, at = match.group(), match.start()
        if end >= 0:
            raise _malformed(f"text after the end of the message at character {at}")
        if token == "[" or token == "{":
            opened.append(at)
            deepest = max(deepest, len(opened))
            if len(opened) == 1:
                start = match.end()
            else:
                inner = max(inner, len(opened) - 1)
        elif token == "]" or token == "}":
            if not opened:
                raise _malformed(f"'{token}' at character {at} closes nothing")
            if text[opened.pop()] != _OPENS[token]:
                raise _malformed(f"'{token}' at character {at} closes a different bracket")
            if not opened:
                end = match.end()
                spans.append((start, at, inner))
        elif token == "," and len(opened) == 1:
            spans.append((start, at, inner))
            start, inner = match.end(), 0
        elif token == '"':
            raise _malformed(f"the string at character {at} is never closed")
    if opened:
        raise _malformed(f"'{text[opened[-1]]}' at character {opened[-1]} is never closed")
    if end >= 0 and text[end:].strip():
        raise _malformed(f"text after the end of the message at character {end}")
    stripped = text.strip()
    if end < 0 or not (stripped.startswith("[") and stripped.endswith("]")):
        return None, deepest
    if len(spans) == 1 and not text[spans[0][0] : spans[0][1]].strip():
        return [], deepest  # an empty array
    return spans, deepest


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in JSON text, found without parsing it."""
    return _deepest(text, 0)


def _deepest(text: str, offset: int) -> int:
    """The deepest nesting from ``offset`` on (for text after a first closed value)."""
    depth = deepest = 0
    for match in _TOKEN.finditer(text, offset):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif token == "]" or token == "}":
            depth = max(depth - 1, 0)
    return deepest


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
