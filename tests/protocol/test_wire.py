"""Framing of act messages and of the HTTP POST /actions body: parsed once, refused clearly."""

import pytest

from protocol import ProtocolError, RejectCode
from protocol.wire import MAX_BATCH, decode_actions_body, decode_batch, dumps

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
        (b"[NaN]", RejectCode.MALFORMED_JSON),
    ],
)
def test_http_bodies_follow_the_batch_rules(payload: bytes, code: RejectCode) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_actions_body(payload)
    assert caught.value.code == code
