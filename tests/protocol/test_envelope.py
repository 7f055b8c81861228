"""Envelope validation: every refusal has a precise code."""

import json

import pytest

from protocol import (
    MAX_BATCH,
    MAX_MESSAGE_BYTES,
    ProtocolError,
    RejectCode,
    build_envelope,
    check_envelope,
    decode_batch,
    encode_batch,
    new_action_id,
)
from protocol.ids import is_uuid7

SECRET = "s"


def envelope(**over: object) -> dict:
    env = build_envelope(
        type="lp.move",
        site="plant-1",
        edge="edge-1",
        station="st-1",
        operator="op-1",
        seq=1,
        body={"lp": "LP1", "to_location": "A-01"},
        secret=SECRET,
    )
    env.update(over)
    return env


def code_of(raw: object) -> str:
    with pytest.raises(ProtocolError) as info:
        check_envelope(raw)
    return info.value.code


def test_valid_envelope_parses_body() -> None:
    env = check_envelope(envelope())
    assert env.parsed_body.lp == "LP1"  # type: ignore[attr-defined]


def test_unknown_major_version_is_rejected_with_its_own_code() -> None:
    assert code_of(envelope(v=2)) == RejectCode.UNSUPPORTED_VERSION


def test_version_must_be_an_integer() -> None:
    assert code_of(envelope(v="1")) == RejectCode.SCHEMA_INVALID
    assert code_of(envelope(v=True)) == RejectCode.SCHEMA_INVALID


def test_unknown_type() -> None:
    assert code_of(envelope(type="lp.teleport")) == RejectCode.UNKNOWN_ACTION_TYPE


@pytest.mark.parametrize(
    "body",
    [{"lp": "LP1"}, {"lp": "LP1", "to_location": "A", "x": 1}, {"lp": "", "to_location": "A"}],
)
def test_bad_bodies(body: dict) -> None:
    assert code_of(envelope(body=body)) == RejectCode.BODY_INVALID


@pytest.mark.parametrize("qty", [12.5, 12, "1e3", "NaN", "-1", "0", " 1", "1.1234567"])
def test_quantities_must_be_positive_plain_decimal_strings(qty: object) -> None:
    raw = build_envelope(
        type="lp.consume",
        site="p",
        edge="e",
        station="s",
        operator="o",
        seq=1,
        body={"lp": "LP1", "work_order": "WO"},
        secret=SECRET,
    )
    raw["body"]["qty"] = qty
    assert code_of(raw) in (
        RejectCode.BODY_INVALID,
        RejectCode.SCHEMA_INVALID,
        RejectCode.NOT_CANONICAL,
    )


@pytest.mark.parametrize(
    "field,value",
    [
        ("seq", 0),
        ("seq", "3"),
        ("id", "not-a-uuid"),
        ("ts", "2026-11-22 13:00:00"),
        ("edge", "a/b"),
        ("site", "+"),
        ("sig", "xyz"),
    ],
)
def test_schema_errors(field: str, value: object) -> None:
    assert code_of(envelope(**{field: value})) == RejectCode.SCHEMA_INVALID


def test_errors_carry_id_and_seq_when_readable() -> None:
    raw = envelope(type="nope")
    with pytest.raises(ProtocolError) as info:
        check_envelope(raw)
    assert info.value.action_id == raw["id"] and info.value.seq == 1


def test_not_an_object() -> None:
    assert code_of([1]) == RejectCode.NOT_AN_OBJECT


@pytest.mark.parametrize(
    "payload,code",
    [
        (b"{not json", RejectCode.MALFORMED_JSON),
        (b"\xff\xfe", RejectCode.MALFORMED_JSON),
        (b"NaN", RejectCode.NOT_CANONICAL),
        (b"{}", RejectCode.BATCH_NOT_ARRAY),
        (b"[]", RejectCode.BATCH_EMPTY),
        (json.dumps([{}] * (MAX_BATCH + 1)).encode(), RejectCode.BATCH_TOO_LARGE),
        (b"[" + b" " * MAX_MESSAGE_BYTES + b"]", RejectCode.MESSAGE_TOO_LARGE),
    ],
)
def test_batch_framing(payload: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_batch(payload)
    assert info.value.code == code


def test_batch_roundtrip() -> None:
    batch = [envelope(seq=i) for i in range(1, 4)]
    assert decode_batch(encode_batch(batch)) == batch


def test_ids_are_uuid7_and_increasing() -> None:
    ids = [new_action_id() for _ in range(2000)]
    assert all(is_uuid7(i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
