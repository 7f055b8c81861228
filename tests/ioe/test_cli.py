"""The `ioe` command line as an operator types it."""

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
