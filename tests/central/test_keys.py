"""The master key: where it comes from, what it refuses, and what is derived from it."""

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from central.errors import MasterKeyError
from central.keys import load_master_key, read_key_file, write_key_file
from central.settings import CentralSettings
from ioe.cli import app

KEY_HEX = "11" * 32


def test_purposes_get_unrelated_keys_and_the_key_never_prints() -> None:
    key = load_master_key(key=KEY_HEX, key_file=None, db_url="postgresql+asyncpg://h/db")
    assert key.derive("edge-secrets/v1") != key.derive("central-state/v1")
    assert key.derive("edge-secrets/v1") == key.derive("edge-secrets/v1")
    assert len(key.derive("x")) == 32
    assert KEY_HEX not in repr(key) and "11" * 4 not in repr(key)


def test_embedded_central_makes_an_owner_only_key_beside_its_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IOE_MASTER_KEY", raising=False)  # the test session sets one
    settings = CentralSettings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'var' / 'central.db'}")
    first = settings.load_master_key()
    path = tmp_path / "var" / "central.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = settings.load_master_key()  # the same key on the next start
    assert first.derive("p") == again.derive("p")


def test_postgresql_without_a_key_is_refused_with_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IOE_MASTER_KEY", raising=False)  # the test session sets one
    settings = CentralSettings(db_url="postgresql+asyncpg://h/db")
    with pytest.raises(MasterKeyError, match="IOE_MASTER_KEY_FILE"):
        settings.load_master_key()


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "central.key"
    write_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        read_key_file(path)


@pytest.mark.parametrize("text", ["not hex", "ab" * 16, ""])
def test_a_malformed_key_is_refused(text: str) -> None:
    with pytest.raises(MasterKeyError, match="64 hex characters"):
        load_master_key(key=text or "zz", key_file=None, db_url="sqlite+aiosqlite:///x.db")


def test_keygen_writes_a_key_once_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "keys" / "central.key"
    made = CliRunner().invoke(app, ["central", "keygen", "--out", str(out)])
    assert made.exit_code == 0, made.output
    key = read_key_file(out)
    again = CliRunner().invoke(app, ["central", "keygen", "--out", str(out)])
    assert again.exit_code == 1 and "never overwritten" in again.output
    assert read_key_file(out).derive("p") == key.derive("p")
