"""Mosquitto's $7$ password hashes, made without its mosquitto_passwd binary."""

import base64

from central.broker.passwords import ITERATIONS, mosquitto_hash, new_password, verify

# Written by Mosquitto 2.0.11's own `mosquitto_passwd -b passwd alice secret`.
MOSQUITTO_MADE = (
    "$7$101$NhG+jW+Bjdd9Q0Ra$xU+g4q3oVBoolUarBD+UPIqwQbo1yKDCk1z23sghgSEIZyfow38dgkqeOUK6t3yk3"
    "rHrHbt0i8LJCgbYpTQbTw=="
)


def test_a_hash_made_by_mosquitto_verifies_and_ours_has_its_layout() -> None:
    assert verify("secret", MOSQUITTO_MADE) and not verify("Secret", MOSQUITTO_MADE)
    salt = MOSQUITTO_MADE.split("$")[3]
    assert mosquitto_hash("secret", salt=base64.b64decode(salt)) == MOSQUITTO_MADE
    made = mosquitto_hash("pw")
    kind, iterations, salt_b64, digest_b64 = made.split("$")[1:]
    assert (kind, int(iterations)) == ("7", ITERATIONS)
    assert len(base64.b64decode(salt_b64)) == 12 and len(base64.b64decode(digest_b64)) == 64
    assert made != mosquitto_hash("pw")  # a fresh salt every time
    assert not verify("pw", "$6$garbage") and not verify("pw", "not a hash")


def test_new_passwords_are_long_and_distinct() -> None:
    first, second = new_password(), new_password()
    assert first != second and len(first) >= 43
