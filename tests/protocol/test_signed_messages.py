"""Signed acks and central's signed state: every forgery an attacker on the broker can try."""

import json

import pytest

from protocol import (
    Ack,
    AckResult,
    CentralState,
    SignatureRefused,
    ack_message,
    batch_ack,
    central_public_key,
    read_acks,
    read_central_state,
    signed_central_state,
)
from protocol.wire import dumps

SITE, EDGE, SECRET = "plant-1", "edge-07", "edge-07-secret-0123456789"
OTHER_EDGE, OTHER_SECRET = "edge-08", "edge-08-secret-0123456789"
ACTION = "0193a5c2-7a1e-7b3c-8d4e-000000000001"
SEED = bytes(range(32))


def genuine() -> dict:
    acks = [
        Ack(id=ACTION, seq=1, result=AckResult.CONFLICT, code="LP_ON_HOLD", conflict_id=3),
        Ack(id="0193a5c2-7a1e-7b3c-8d4e-000000000002", seq=2, result=AckResult.APPLIED),
    ]
    return ack_message(acks, site=SITE, edge=EDGE, secret=SECRET)


def refused(message: object, *, edge: str = EDGE, secret: str = SECRET) -> str:
    payload = message if isinstance(message, bytes) else dumps(message)
    with pytest.raises(SignatureRefused) as caught:
        read_acks(payload, site=SITE, edge=edge, secret=secret)
    return caught.value.reason


def test_a_genuine_ack_message_is_read() -> None:
    acks = read_acks(dumps(genuine()), site=SITE, edge=EDGE, secret=SECRET)
    assert [(a.id, a.result) for a in acks][0] == (ACTION, AckResult.CONFLICT)


@pytest.mark.parametrize(
    "path,value",
    [
        (("acks", 0, "result"), "applied"),  # a conflict turned into applied
        (("acks", 0, "id"), "0193a5c2-7a1e-7b3c-8d4e-00000000beef"),  # answers another id
        (("acks", 0, "seq"), 7),
        (("acks", 0, "code"), "OTHER"),
        (("acks", 1, "message"), "added"),  # a field added to an ack
        (("v",), 2),
    ],
)
def test_a_changed_field_is_refused(path: tuple, value: object) -> None:
    message = genuine()
    target = message
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    assert refused(message) in ("ACK_BAD_SIGNATURE", "ACK_MALFORMED")


def test_an_ack_dropped_from_the_message_is_refused() -> None:
    message = genuine()
    message["acks"].pop()
    assert refused(message) == "ACK_BAD_SIGNATURE"


def test_an_ack_forged_without_the_key_is_refused() -> None:
    """What the thief can do: read the batch, answer it, sign with a guessed key or none."""
    forged = [{"id": ACTION, "seq": 1, "result": "applied"}]
    assert refused(json.dumps(forged).encode()) == "ACK_UNSIGNED"  # the old unsigned array
    message = ack_message(
        [Ack(id=ACTION, seq=1, result="applied")], site=SITE, edge=EDGE, secret="guess" * 4
    )
    assert refused(message) == "ACK_BAD_SIGNATURE"
    unsigned = {k: v for k, v in genuine().items() if k != "sig"}
    assert refused(unsigned) == "ACK_UNSIGNED"


def test_an_ack_signed_for_another_edge_is_refused() -> None:
    """Edge-08 (or anyone holding its key) signs an ack naming edge-07: wrong key."""
    message = ack_message(
        [Ack(id=ACTION, seq=1, result="applied")], site=SITE, edge=EDGE, secret=OTHER_SECRET
    )
    assert refused(message) == "ACK_BAD_SIGNATURE"


def test_an_ack_replayed_on_another_edges_topic_is_refused() -> None:
    """A genuine ack for edge-07 published again on edge-08's ack topic."""
    payload = dumps(genuine())
    assert refused(payload, edge=OTHER_EDGE, secret=OTHER_SECRET) == "ACK_WRONG_EDGE"
    relabelled = {**genuine(), "edge": OTHER_EDGE}  # and with the name changed to fit
    assert refused(relabelled, edge=OTHER_EDGE, secret=OTHER_SECRET) == "ACK_BAD_SIGNATURE"


def test_a_batch_level_refusal_is_signed_like_any_ack() -> None:
    refusal = Ack(id=None, seq=None, result="rejected", code="MALFORMED_JSON", message="bad")
    payload = batch_ack([refusal], site=SITE, edge=EDGE, secret=SECRET)
    assert read_acks(payload, site=SITE, edge=EDGE, secret=SECRET) == [refusal]
    forged = json.loads(payload)
    forged["acks"][0]["code"] = "BATCH_EMPTY"
    assert refused(forged) == "ACK_BAD_SIGNATURE"


@pytest.mark.parametrize(
    "payload", [b"", b"not json", b"[]", b'{"sig": 5}', b'{"sig":"00","acks":1.5}']
)
def test_garbage_on_the_ack_topic_is_refused(payload: bytes) -> None:
    assert refused(payload) in ("ACK_MALFORMED", "ACK_UNSIGNED", "ACK_WRONG_EDGE")


# -- central's state ----------------------------------------------------------------------


def test_central_state_verifies_with_the_public_key_only() -> None:
    payload = signed_central_state(CentralState(online=True, version="1"), SEED)
    assert read_central_state(payload, central_public_key(SEED)).online is True


@pytest.mark.parametrize(
    "payload",
    [
        b'{"online": false}',  # what anyone could publish before states were signed
        b"",  # a cleared retained state
        b'{"online": false, "sig": "00"}',
        b"[1]",
    ],
)
def test_unsigned_or_garbage_central_state_is_refused(payload: bytes) -> None:
    with pytest.raises(SignatureRefused):
        read_central_state(payload, central_public_key(SEED))


def test_a_flipped_central_state_is_refused() -> None:
    message = json.loads(signed_central_state(CentralState(online=True), SEED))
    message["online"] = False
    with pytest.raises(SignatureRefused, match="STATE_BAD_SIGNATURE"):
        read_central_state(dumps(message), central_public_key(SEED))


def test_a_state_signed_with_another_key_is_refused() -> None:
    """An edge knows only the public key; a forger signing with its own key fails."""
    forged = signed_central_state(CentralState(online=False), bytes(32))
    with pytest.raises(SignatureRefused, match="STATE_BAD_SIGNATURE"):
        read_central_state(forged, central_public_key(SEED))
