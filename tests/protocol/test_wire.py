"""Framing of act messages and of the HTTP POST /actions body: parsed once, refused clearly."""

import pytest

from protocol import ProtocolError, RejectCode, canonical_json, verify
from protocol.canonical import MAX_DEPTH
from protocol.envelope import check_envelope
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
    ("payload", "code"),
    [
        (b"[" * 100_000 + b"]" * 100_000, RejectCode.TOO_DEEP),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, RejectCode.TOO_DEEP),
        # Deep and never closed: the structure cannot be read, which says more than its depth.
        (b"[" * 100_000, RejectCode.MALFORMED_JSON),
        (b"{" * 100_000, RejectCode.MALFORMED_JSON),
        (b"[1]" + b"[" * 100_000, RejectCode.MALFORMED_JSON),
        (b"[" * 100_000 + b"}" * 100_000, RejectCode.MALFORMED_JSON),
    ],
)
def test_depth_is_checked_before_parsing(payload: bytes, code: RejectCode) -> None:
    try:
        elements = decode_batch(payload)
    except ProtocolError as refused:
        assert refused.code == code
        assert (refused.action_id, refused.seq) == (None, None)
    else:
        assert [e.code for e in elements] == [code]


ID = "0193a5c2-7a1e-7b3c-8d4e-000000000001"
HEAD = f'"v": 1, "id": "{ID}", "seq": 7'


@pytest.mark.parametrize(
    ("element", "code"),
    [
        ('{HEAD, "body": {"w": NaN}}', RejectCode.NOT_CANONICAL),
        ('{"body": {"w": [-Infinity]}, HEAD}', RejectCode.NOT_CANONICAL),
        ('{HEAD, "body": {"n": 1' + "0" * 30 + "}}", RejectCode.VALUE_OUT_OF_RANGE),
        ('{HEAD, "body": {"n": ' + "[" * 40 + "]" * 40 + "}}", RejectCode.TOO_DEEP),
        ('{HEAD, "body": {"n": ' + "[" * 100_000 + "]" * 100_000 + "}}", RejectCode.TOO_DEEP),
        ('{"s": "a \\" [{ NaN", HEAD, "body": {"x": tru}}', RejectCode.MALFORMED_JSON),
        ('{"\\u0069d": "' + ID + '", "seq": 7, "w": NaN}', RejectCode.NOT_CANONICAL),
    ],
)
def test_an_unreadable_element_is_answered_with_its_top_level_id_and_seq(
    element: str, code: RejectCode
) -> None:
    # Read from its top-level keys only, so its refusal is acked against its own action.
    element = element.replace("HEAD", HEAD)
    good = dumps({"v": 1, "id": "x"}).decode()
    refused = decode_batch(f"[{good}, {element}, {good}]".encode())[1]
    assert isinstance(refused, Unreadable)
    assert (refused.code, refused.action_id, refused.seq) == (code, ID, 7)
    with pytest.raises(ProtocolError) as caught:
        check_envelope(refused)
    assert (caught.value.code, caught.value.action_id, caught.value.seq) == (code, ID, 7)


@pytest.mark.parametrize(
    ("element", "action_id", "seq"),
    [
        (f'{{"id": "{ID}", "seq": {2**70}, "w": NaN}}', ID, None),  # seq beyond 64 bits
        (f'{{"id": "{ID}", "seq": 1{"0" * 30}, "w": NaN}}', ID, None),
        (f'{{"id": "{ID}", "seq": 0, "w": NaN}}', ID, None),
        (f'{{"id": "{ID}", "seq": -7, "w": NaN}}', ID, None),
        (f'{{"id": "{ID}", "seq": "7", "w": NaN}}', ID, None),
        (f'{{"id": "{ID}", "seq": 7.0, "w": NaN}}', ID, None),
        (f'{{"id": "{ID}", "seq": 07, "w": NaN}}', ID, None),
        (f'{{"id": "{ID.upper()}", "seq": 7, "w": NaN}}', None, 7),  # not the canonical form
        ('{"id": "x", "seq": 7, "w": NaN}', None, 7),
        (f'{{"id": ["{ID}"], "seq": 7, "w": NaN}}', None, 7),
        (f'{{"id": "{ID}", "id": "{ID}", "seq": 7, "w": NaN}}', None, 7),  # given twice
        (f'{{"body": {{"id": "{ID}", "seq": 7}}, "w": NaN}}', None, None),  # not top level
        (f'{{"id": "{ID}", "seq": 7 "w": NaN}}', None, None),  # no comma: not key: value pairs
        (f'{{"id": "{ID}", "seq": 7, "w": NaN}} {{}}', None, None),
        (f'["{ID}", 7, NaN]', None, None),
        ('{"w": NaN}', None, None),
    ],
)
def test_id_and_seq_are_only_taken_when_they_can_be_read_safely(
    element: str, action_id: str | None, seq: int | None
) -> None:
    (refused,) = decode_batch(f"[{element}]".encode())
    assert isinstance(refused, Unreadable)
    assert (refused.action_id, refused.seq) == (action_id, seq)


@pytest.mark.parametrize(
    "payload",
    [
        # One element's brace never closed, beside a 22-deep element and a NaN: the message's
        # structure cannot be read, so neither TOO_DEEP nor NOT_CANONICAL is the answer.
        f'[{{"v": 1}}, {{"a": {"[" * 22 + "]" * 22}}}, {{"v": NaN}}, {{"v": 1, "b": {{"c": 1}}]',
        '[{"v": NaN}, {"v": 1, "b": {"c": 1}, {"v": 2}]',
        f'[{{"a": {"[" * 22 + "]" * 22}}}, {{"v": 1, "b": {{"c": 1}}]',
        '[{"v": NaN}, {"v": [1}]',  # closed by the other kind of bracket
        '[{"v": NaN}, {"v": 1}]]',  # a bracket that closes nothing
        '[{"v": NaN}, {"v": "open}]',  # a string never closed
        '[{"v": NaN}] {"v": 2}',  # text after the array
        '[{"v": 1' + "0" * 40 + "}] x",
    ],
)
def test_a_message_whose_structure_cannot_be_read_is_malformed_whatever_it_holds(
    payload: str,
) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_batch(payload.encode())
    assert caught.value.code == RejectCode.MALFORMED_JSON, caught.value.message
    assert (caught.value.action_id, caught.value.seq) == (None, None)
    with pytest.raises(ProtocolError) as caught:
        decode_actions_body(payload.encode())
    assert caught.value.code == RejectCode.MALFORMED_JSON


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
