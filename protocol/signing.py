"""HMAC-SHA256 signatures over canonical JSON, keyed by the edge's secret."""

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from protocol.canonical import canonical_json
from protocol.errors import ProtocolError


def _key(secret: str) -> bytes:
    """The HMAC key is the UTF-8 bytes of the secret string exactly as provisioned."""
    return secret.encode("utf-8")


def signing_payload(envelope: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the canonical JSON of every field except ``sig``."""
    return canonical_json({k: v for k, v in envelope.items() if k != "sig"})


def sign(envelope: Mapping[str, Any], secret: str) -> str:
    """Hex HMAC-SHA256 of the envelope without ``sig``."""
    return hmac.new(_key(secret), signing_payload(envelope), hashlib.sha256).hexdigest()


def verify(envelope: Mapping[str, Any], secret: str) -> bool:
    """True when ``envelope['sig']`` is the right signature; constant-time comparison."""
    given = envelope.get("sig")
    if not isinstance(given, str):
        return False
    try:
        expected = sign(envelope, secret)
    except ProtocolError:
        return False  # a value that cannot be canonicalised was never signed by anyone
    return hmac.compare_digest(expected, given.lower())
