"""Central's master key: the one secret kept outside the database.

Every other key central needs (to protect edge secrets at rest, to sign its retained state)
is derived from it for one named purpose, so a stolen database file gives none of them away
and a deployment has one secret to guard and to hand to every replica.

Where it comes from, first match wins:

1. ``IOE_MASTER_KEY``: 64 hex characters (32 random bytes), e.g. from a secret store;
2. ``IOE_MASTER_KEY_FILE``: a file holding the same, readable by its owner only;
3. nothing configured and an embedded SQLite database: ``central.key`` beside the database
   file, created (mode 0600) at first use, so a first start needs no preparation.

With PostgreSQL and nothing configured central refuses to start: replicas made their own keys
would not understand each other's edges. ``ioe central keygen`` writes a new key file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from central.errors import MasterKeyError

MASTER_KEY_BYTES = 32
DEFAULT_KEY_FILE_NAME = "central.key"


class MasterKey:
    """32 secret bytes and the keys derived from them, one per purpose."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != MASTER_KEY_BYTES:
            raise MasterKeyError(f"a master key is {MASTER_KEY_BYTES} bytes, not {len(raw)}")
        self._raw = raw

    def derive(self, purpose: str) -> bytes:
        """The 32-byte key for ``purpose`` (e.g. ``"edge-secrets/v1"``): HMAC-SHA256 of the
        purpose keyed by the master key. Different purposes give unrelated keys."""
        return hmac.new(self._raw, b"ioe/" + purpose.encode("utf-8"), hashlib.sha256).digest()

    def __repr__(self) -> str:  # never print the key itself
        return "MasterKey(<secret>)"


def parse_master_key(text: str, *, source: str) -> MasterKey:
    """A master key from its hex form; a clear error naming ``source`` otherwise."""
    value = text.strip()
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise MasterKeyError(
            f"{source}: a master key is {MASTER_KEY_BYTES * 2} hex characters"
        ) from None
    if len(raw) != MASTER_KEY_BYTES:
        raise MasterKeyError(
            f"{source}: a master key is {MASTER_KEY_BYTES * 2} hex characters, not {len(value)}"
        )
    return MasterKey(raw)


def write_key_file(path: Path) -> MasterKey:
    """Create ``path`` (it must not exist) holding a new random key, readable by its owner
    only from the first byte written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = secrets.token_bytes(MASTER_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise MasterKeyError(f"{path} already exists; a key file is never overwritten") from None
    except OSError as err:
        raise MasterKeyError(
            f"cannot create master key file {path}: {err.strerror}; make its folder writable, "
            "or give the key with IOE_MASTER_KEY / IOE_MASTER_KEY_FILE"
        ) from err
    with os.fdopen(fd, "w") as out:
        out.write(raw.hex() + "\n")
    return MasterKey(raw)


def read_key_file(path: Path) -> MasterKey:
    """The key in ``path``; refused when the file is readable by anyone but its owner."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MasterKeyError(f"master key file {path} does not exist") from None
    except OSError as err:
        raise MasterKeyError(f"cannot read master key file {path}: {err}") from err
    except UnicodeDecodeError:
        raise MasterKeyError(
            f"master key file {path} is not text: a key file holds {MASTER_KEY_BYTES * 2} hex "
            "characters (`ioe central keygen --out FILE` makes one)"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyError(
            f"master key file {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"make it owner-only: chmod 600 {path}"
        )
    return parse_master_key(text, source=str(path))


def default_key_file(db_url: str) -> Path | None:
    """Where an embedded (SQLite) central keeps its key by default; None for PostgreSQL."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser().parent / DEFAULT_KEY_FILE_NAME


def load_master_key(*, key: str | None, key_file: Path | None, db_url: str) -> MasterKey:
    """The configured master key (see the module's docstring for the order)."""
    if key:
        return parse_master_key(key, source="IOE_MASTER_KEY")
    if key_file is not None:
        return read_key_file(key_file)
    default = default_key_file(db_url)
    if default is None:
        raise MasterKeyError(
            "no master key: set IOE_MASTER_KEY or IOE_MASTER_KEY_FILE (the same key on every "
            "central replica; `ioe central keygen --out FILE` makes one)"
        )
    if default.exists():
        return read_key_file(default)
    return write_key_file(default)
