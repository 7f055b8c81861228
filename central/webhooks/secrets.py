"""Webhook signing secrets: made, sealed at rest, and used to sign as Standard Webhooks do.

A receiver checks ``webhook-signature`` with the same secret, so central must keep it in
clear somewhere; it keeps it sealed (AES-256-GCM under a key derived from the master key,
``webhook-secrets/v1``), like the edges' keys (central/edges/sealing.py): a copied database or
backup gives no secret away. The associated data binds a sealed secret to its webhook and
version, so a sealed value copied onto another webhook's row does not open.
"""

import base64
import secrets
from collections.abc import Iterable
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from standardwebhooks.webhooks import Webhook

from central.errors import MasterKeyError
from central.keys import MasterKey

PURPOSE = "webhook-secrets/v1"
FORMAT = "v1"
NONCE_BYTES = 12
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh secret in the spec's form: ``whsec_`` and base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


class WebhookSecretBox:
    """Seals and opens webhook secrets with one key derived from the master key."""

    __slots__ = ("_aead",)

    def __init__(self, master: MasterKey) -> None:
        self._aead = AESGCM(master.derive(PURPOSE))

    @staticmethod
    def _context(webhook_id: int, version: int) -> bytes:
        """The associated data: what a sealed secret belongs to."""
        return f"ioe/webhook-secret\x00{webhook_id}\x00{version}".encode()

    def seal(self, secret: str, *, webhook_id: int, version: int) -> str:
        """``v1.<base64url(nonce | ciphertext | tag)>`` for version ``version`` of a webhook."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), self._context(webhook_id, version))
        return f"{FORMAT}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def open(self, sealed: str, *, webhook_id: int, version: int) -> str:
        """The secret in clear; a clear error when it was altered, moved or sealed under
        another master key."""
        prefix, _, text = sealed.partition(".")
        try:
            if prefix != FORMAT:
                raise ValueError(f"unknown format {prefix!r}")
            blob = base64.urlsafe_b64decode(text.encode("ascii"))
            clear = self._aead.decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._context(webhook_id, version)
            )
        except (InvalidTag, ValueError) as err:
            raise MasterKeyError(
                f"the secret {version} of webhook {webhook_id} does not open with this master "
                "key: central runs with another master key than the one that sealed it, or the "
                "database row was altered"
            ) from err
        return clear.decode()


def signature_header(
    secrets_in_use: Iterable[str], *, message_id: str, timestamp: datetime, body: str
) -> str:
    """``webhook-signature``: ``v1,<base64 HMAC-SHA256 of id.timestamp.body>`` for each
    secret, space-separated (during a rotation's overlap a receiver may hold either)."""
    return " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
        for secret in secrets_in_use
    )
