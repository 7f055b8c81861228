"""The `ioe` command line as an operator types it."""

import getpass
import sqlite3
import subprocess
from pathlib import Path

from harness import ioe_command


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ioe_command(*args), capture_output=True, text=True, timeout=120)


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "broker", "central", "edge", "db"):
        assert command in result.stdout


def test_db_upgrade_is_safe_to_run_twice(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'central.db'}"
    for _ in range(2):
        result = run("db", "upgrade", "--db", url)
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout
    assert (tmp_path / "nested" / "central.db").exists()


def test_edge_run_with_a_missing_config_says_so(tmp_path: Path) -> None:
    result = run("edge", "run", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "nope.toml" in result.stderr and "Traceback" not in result.stderr


def test_provision_with_central_down_says_so(tmp_path: Path) -> None:
    result = run(
        "edge",
        "provision",
        "--central",
        "http://127.0.0.1:9",
        "--site",
        "p",
        "--edge",
        "e",
        "--out",
        str(tmp_path / "edge.toml"),
    )
    assert result.returncode == 1
    assert "unreachable" in result.stderr and not (tmp_path / "edge.toml").exists()


def test_tokens_made_and_revoked_from_the_command_line_are_audited(tmp_path: Path) -> None:
    db = tmp_path / "central.db"
    url = f"sqlite+aiosqlite:///{db}"
    made = run(
        "central",
        "token",
        "create",
        "--db",
        url,
        "--name",
        "anna",
        "--role",
        "planning",
        "--site",
        "plant-1",
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("ioe_")
    revoked = run("central", "token", "revoke", "anna", "--db", url)
    assert revoked.returncode == 0, revoked.stderr
    with sqlite3.connect(db) as conn:
        entries = conn.execute("SELECT actor, action, target FROM audit_log ORDER BY at").fetchall()
    user = f"cli:{getpass.getuser()}"
    assert entries == [(user, "token.create", "anna"), (user, "token.revoke", "anna")]
