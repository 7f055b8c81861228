"""`ioe kiosk` refuses clearly, without a traceback, what it cannot show."""

import os
import subprocess

from harness import free_port, ioe_command
from tests.terminals.conftest import STATIONS, KioskSite


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`ioe kiosk` with these arguments, its output captured."""
    return subprocess.run(
        ioe_command("kiosk", *args),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_a_station_the_edge_does_not_have_is_named_with_the_ones_it_has(site: KioskSite) -> None:
    done = run("--edge", site.edge_url, "--station", "nope")
    assert done.returncode == 2
    assert "station 'nope' does not exist at the edge" in done.stderr
    assert "pack-2" in done.stderr and "Traceback" not in done.stderr
    done = run("--edge", site.edge_url)
    assert done.returncode == 2
    assert f"has {len(STATIONS)} stations: name one with --station" in done.stderr


def test_a_refused_key_and_an_edge_that_is_not_there(site: KioskSite) -> None:
    done = run("--edge", site.edge_url, "--api-key-env", "K", env={"K": "wrong"})
    assert done.returncode == 2
    assert "refused the API key (API_KEY_INVALID)" in done.stderr
    done = run("--edge", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 2
    assert "does not answer" in done.stderr and "--station" in done.stderr
