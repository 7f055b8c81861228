"""Central refuses a guessable admin token and shouts when it runs open on the network."""

import asyncio
import logging
from asyncio.subprocess import PIPE

import pytest

from central.access.exposure import MIN_ADMIN_TOKEN, WeakAdminToken, check_exposure
from central.settings import CentralSettings
from harness import ioe_command


def test_a_short_admin_token_is_refused() -> None:
    with pytest.raises(WeakAdminToken, match="at least 32"):
        check_exposure(CentralSettings(admin_token="x" * (MIN_ADMIN_TOKEN - 1)))
    check_exposure(CentralSettings(admin_token="x" * MIN_ADMIN_TOKEN))


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "central.plant", "::"])
def test_open_on_the_network_warns(host: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        check_exposure(CentralSettings(host=host))
    assert "CENTRAL IS OPEN" in caplog.text and host in caplog.text


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_open_on_loopback_or_guarded_is_quiet(host: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        check_exposure(CentralSettings(host=host))
        check_exposure(CentralSettings(host="0.0.0.0", admin_token="t" * 40))
    assert "CENTRAL IS OPEN" not in caplog.text


async def test_central_run_stops_at_a_short_admin_token(tmp_path: object) -> None:
    proc = await asyncio.create_subprocess_exec(
        *ioe_command("central", "run", "--db", f"sqlite+aiosqlite:///{tmp_path}/c.db"),
        stdout=PIPE,
        stderr=PIPE,
        env={**__import__("os").environ, "IOE_ADMIN_TOKEN": "root-token"},
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert "IOE_ADMIN_TOKEN is 10 characters" in err.decode() and "Traceback" not in err.decode()
