"""Golden wire examples: these bytes are the contract other devices and languages rely on."""

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from protocol import Ack, canonical_json, check_envelope, sign, verify
from protocol.signing import signing_payload

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
