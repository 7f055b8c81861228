"""Golden wire examples: these bytes are the contract other devices and languages rely on."""

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocol import (
    Ack,
    ConflictCode,
    ack_message,
    canonical_json,
    central_public_key,
    check_envelope,
    read_acks,
    read_central_state,
    sign,
    verify,
)
from protocol.ack import ack_signing_payload
from protocol.signing import signing_payload
from protocol.state import central_state_signing_payload

GOLDEN = Path(__file__).parent / "golden"
SECRET = "edge-07-demo-secret"


def load(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["envelope_lp_consume.json", "envelope_lp_receive.json"])
def test_golden_envelopes_check_and_verify(name: str) -> None:
    raw = load(name)
    envelope = check_envelope(raw)
    assert envelope.v == 1
    assert verify(raw, SECRET)
    assert sign(raw, SECRET) == raw["sig"]


def test_signature_is_plain_hmac_sha256_over_published_bytes() -> None:
    """Recompute with nothing but hmac/hashlib from the bytes published in the docs."""
    raw = load("envelope_lp_receive.json")
    signed = (GOLDEN / "envelope_lp_receive.signed-bytes.txt").read_bytes()
    assert signing_payload(raw) == signed
    expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert raw["sig"] == expected


def test_canonical_form_sorts_keys_keeps_unicode_and_has_no_spaces() -> None:
    assert (
        canonical_json({"b": 1, "a": {"z": "Ä", "y": True, "x": None}})
        == '{"a":{"x":null,"y":true,"z":"Ä"},"b":1}'.encode()
    )


def test_quantities_are_decimal_strings_on_the_wire() -> None:
    raw = load("envelope_lp_consume.json")
    assert raw["body"]["qty"] == "12.5"
    assert load("envelope_lp_receive.json")["body"]["qty"] == "1000"


def test_golden_acks_parse() -> None:
    acks = [Ack.model_validate(item) for item in load("acks.json")]
    assert [a.result for a in acks] == ["applied", "conflict"]
    assert acks[1].conflict_id == 77 and acks[1].code == "LP_ALREADY_CONSUMED"
    assert [a.wire() for a in acks] == load("acks.json")


@pytest.mark.parametrize(
    "field,value", [("seq", 1235), ("operator", "op-114"), ("ts", "2026-11-22T13:00:00.124Z")]
)
def test_any_changed_field_breaks_the_signature(field: str, value: object) -> None:
    raw = load("envelope_lp_consume.json")
    raw[field] = value
    assert not verify(raw, SECRET)


def test_changed_body_breaks_the_signature() -> None:
    raw = load("envelope_lp_consume.json")
    raw["body"]["qty"] = "125"
    assert not verify(raw, SECRET)


def test_wrong_secret_fails() -> None:
    assert not verify(load("envelope_lp_consume.json"), "another-secret")


ACK_SITE, ACK_EDGE = "plant-1", "edge-07"
CENTRAL_SEED = bytes(range(32))  # the example central key of docs/protocol.md, never a real one


def test_golden_ack_message_verifies_and_holds_the_golden_acks() -> None:
    payload = (GOLDEN / "ack_message.json").read_bytes()
    acks = read_acks(payload, site=ACK_SITE, edge=ACK_EDGE, secret=SECRET)
    assert [a.wire() for a in acks] == load("acks.json")
    assert ack_message(acks, site=ACK_SITE, edge=ACK_EDGE, secret=SECRET) == load(
        "ack_message.json"
    )


def test_ack_signature_is_plain_hmac_sha256_over_published_bytes() -> None:
    """The domain tag line, then the canonical JSON of the message without sig."""
    message = load("ack_message.json")
    signed = (GOLDEN / "ack_message.signed-bytes.txt").read_bytes()
    assert signed.startswith(b"ioe/v1/ack\n")
    assert ack_signing_payload(message) == signed
    assert message["sig"] == hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()


def test_an_ack_message_never_verifies_as_an_envelope() -> None:
    """Both are signed with the edge's key; the domain tag keeps them apart."""
    message = load("ack_message.json")
    assert not verify(message, SECRET)


def test_golden_central_state_verifies_with_the_published_public_key() -> None:
    payload = (GOLDEN / "central_state.json").read_bytes()
    public = central_public_key(CENTRAL_SEED)
    assert public.hex() == "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
    state = read_central_state(payload, public)
    assert state.online is False and state.version == "0.1.0"
    signed = (GOLDEN / "central_state.signed-bytes.txt").read_bytes()
    assert central_state_signing_payload(load("central_state.json")) == signed
    Ed25519PublicKey.from_public_bytes(public).verify(
        bytes.fromhex(load("central_state.json")["sig"]), signed
    )


def test_conflict_codes_travel_as_their_names_and_are_documented() -> None:
    documented = (Path(__file__).parents[2] / "docs" / "central.md").read_text(encoding="utf-8")
    for code in ConflictCode:
        assert code.value == code.name
        assert f"`{code.value}`" in documented, f"{code.value} is not in docs/central.md"
    for code in ("NOT_ON_BOM", "LP_EXPIRED", "OVER_CONSUMPTION", "OVER_PRODUCTION"):
        assert ConflictCode(code).value == code
