"""Edge secrets at rest: sealed with AES-256-GCM under a key derived from the master key.

Central must know each edge's secret in clear to check its signatures (HMAC), so it cannot
keep only a hash. It keeps the secret sealed instead: the sealing key is derived from the
master key (``edge-secrets/v1``), which never enters the database, so a copied database
file or backup gives no edge secret away. The associated data binds a sealed secret to its
site, edge and key version: a sealed value copied onto another edge's row, or into the other
key slot, does not open.

Sealing (rather than deriving each edge's key from the master key) lets an upgrade protect
the secrets edges already hold without changing them, so nothing already queued at an edge
is refused on upgrade, and a stolen master key alone (without the database) gives no key
away either.
"""

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from central.errors import MasterKeyError
from central.keys import MasterKey

PURPOSE = "edge-secrets/v1"
FORMAT = "v1"  # the prefix of every sealed value: the format and the purpose it was made for
NONCE_BYTES = 12


class EdgeSecretBox:
    """Seals and opens edge secrets with one key derived from the master key."""

    __slots__ = ("_aead",)

    def __init__(self, master: MasterKey) -> None:
        self._aead = AESGCM(master.derive(PURPOSE))

    @staticmethod
    def _context(site: str, edge_id: str, version: int) -> bytes:
        """The associated data: what a sealed secret belongs to."""
        return f"ioe/edge-secret\x00{site}\x00{edge_id}\x00{version}".encode()

    def seal(self, secret: str, *, site: str, edge_id: str, version: int) -> str:
        """``v1.<base64url(nonce | ciphertext | tag)>``, for key ``version`` of the edge."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(
            nonce, secret.encode("utf-8"), self._context(site, edge_id, version)
        )
        return f"{FORMAT}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def open(self, sealed: str, *, site: str, edge_id: str, version: int) -> str:
        """The secret in clear; a clear error when the value was altered, moved to another
        edge or slot, or sealed under another master key."""
        prefix, _, text = sealed.partition(".")
        try:
            if prefix != FORMAT:
                raise ValueError(f"unknown format {prefix!r}")
            blob = base64.urlsafe_b64decode(text.encode("ascii"))
            clear = self._aead.decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._context(site, edge_id, version)
            )
        except (InvalidTag, ValueError) as err:
            raise MasterKeyError(
                f"the stored key {version} of edge {site}/{edge_id} does not open with this "
                "master key: central runs with another master key than the one that sealed "
                "it, or the database row was altered"
            ) from err
        return clear.decode("utf-8")
