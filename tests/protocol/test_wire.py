"""Framing of act messages and of the HTTP POST /actions body: parsed once, refused clearly."""

import pytest

from protocol import ProtocolError, RejectCode, canonical_json, verify
from protocol.canonical import MAX_DEPTH
from protocol.wire import MAX_BATCH, Unreadable, decode_actions_body, decode_batch, dumps

ONE = {"v": 1, "id": "x"}


def test_a_lone_envelope_is_accepted_over_http_only() -> None:
    assert decode_actions_body(dumps(ONE)) == ([ONE], True)
    assert decode_actions_body(dumps([ONE, ONE])) == ([ONE, ONE], False)
    with pytest.raises(ProtocolError) as caught:
        decode_batch(dumps(ONE))
    assert caught.value.code == RejectCode.BATCH_NOT_ARRAY


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{nope", RejectCode.MALFORMED_JSON),
        (b"[]", RejectCode.BATCH_EMPTY),
        (dumps([ONE] * (MAX_BATCH + 1)), RejectCode.BATCH_TOO_LARGE),
        (b'"text"', RejectCode.BATCH_NOT_ARRAY),
        (b'{"v": NaN}', RejectCode.NOT_CANONICAL),
    ],
)
def test_http_bodies_follow_the_batch_rules(payload: bytes, code: RejectCode) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_actions_body(payload)
    assert caught.value.code == code


def test_unreadable_elements_of_a_well_formed_array_are_refused_one_by_one() -> None:
    deep = "[" * 5000 + "]" * 5000
    payload = (
        '[{"v": 1, "s": "[{,]}"}, {"q": NaN}, {"n": -Infinity}, {"n": 1'
        + "0" * 5000
        + "}, "
        + deep
        + ', {broken}, {"v": 2}]'
    ).encode()
    elements = decode_batch(payload)
    assert elements[0] == {"v": 1, "s": "[{,]}"}  # brackets inside strings do not count
    assert elements[-1] == {"v": 2}
    codes = [element.code for element in elements[1:-1]]
    assert codes == [
        RejectCode.NOT_CANONICAL,
        RejectCode.NOT_CANONICAL,
        RejectCode.VALUE_OUT_OF_RANGE,
        RejectCode.TOO_DEEP,
        RejectCode.MALFORMED_JSON,
    ]
    assert elements[4].text == deep  # kept as received, for inspection
    assert all(isinstance(element, Unreadable) for element in elements[1:-1])


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * 100_000,
        b"{" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"[1]" + b"[" * 100_000,
    ],
)
def test_depth_is_checked_before_parsing(payload: bytes) -> None:
    try:
        elements = decode_batch(payload)
    except ProtocolError as refused:
        assert refused.code == RejectCode.TOO_DEEP
    else:
        assert [e.code for e in elements] == [RejectCode.TOO_DEEP]


def test_an_element_at_the_depth_limit_is_read() -> None:
    value: object = 1
    for _ in range(MAX_DEPTH):
        value = [value]
    assert decode_batch(dumps([value])) == [value]
    (refused,) = decode_batch(dumps([[value]]))
    assert isinstance(refused, Unreadable) and refused.code == RejectCode.TOO_DEEP


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (1.5, RejectCode.NOT_CANONICAL),
        (float("nan"), RejectCode.NOT_CANONICAL),
        (2**63, RejectCode.VALUE_OUT_OF_RANGE),
        (-(2**63) - 1, RejectCode.VALUE_OUT_OF_RANGE),
        (10**30, RejectCode.VALUE_OUT_OF_RANGE),
        ("a\x00b", RejectCode.NUL_CHARACTER),
        ({"k\x00": 1}, RejectCode.NUL_CHARACTER),
        (b"bytes", RejectCode.NOT_CANONICAL),
    ],
)
def test_values_that_cannot_travel_cannot_be_signed(value: object, code: RejectCode) -> None:
    with pytest.raises(ProtocolError) as refused:
        canonical_json({"body": {"x": [value]}})
    assert refused.value.code == code
    assert not verify({"body": {"x": [value]}, "sig": "0" * 64}, "secret")


def test_the_64_bit_edges_are_canonical() -> None:
    assert canonical_json([2**63 - 1, -(2**63)]) == b"[9223372036854775807,-9223372036854775808]"
