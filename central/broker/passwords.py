"""Mosquitto 2.x password hashes, made here so central never keeps an MQTT password in clear
and the product needs no ``mosquitto_passwd`` binary.

The layout is Mosquitto's own ``$7$`` (src/password_mosquitto.c, ``pw__create_sha512_pbkdf2``):
``$7$<iterations>$<base64 of 12 salt bytes>$<base64 of PBKDF2-HMAC-SHA512, 64 bytes>``.
"""

import base64
import hashlib
import hmac
import secrets

SALT_BYTES = 12
DIGEST_BYTES = 64
# Mosquitto's own default. The passwords IOE makes are 256 random bits, so the count does not
# protect them; a higher one would only slow every broker login.
ITERATIONS = 101


def new_password() -> str:
    """A fresh broker password: 256 random bits, URL- and TOML-safe."""
    return secrets.token_urlsafe(32)


def mosquitto_hash(
    password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None
) -> str:
    """The password-file hash of ``password`` that Mosquitto 2.x accepts."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify(password: str, stored: str) -> bool:
    """True when ``password`` matches a ``$7$`` hash (as Mosquitto checks it)."""
    try:
        _, kind, iterations, salt, digest = stored.split("$")
        if kind != "7":
            return False
        expected = base64.b64decode(digest, validate=True)
        raw_salt = base64.b64decode(salt, validate=True)
        actual = hashlib.pbkdf2_hmac("sha512", password.encode(), raw_salt, int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
