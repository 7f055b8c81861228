"""`ioe kiosk --serve` itself: a real Chromium shows the served kiosk of a real edge and saves
a scan typed into it, a stop leaves no kiosk behind, it listens on loopback unless told, and it
refuses options it cannot honour safely."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edge.config import EdgeConfig, StationConfig, write_config
from harness import REPO, Proc, free_port, ioe_command, wait_for_port, wait_until
from protocol import central_public_key
from tests.terminals.browser import CHROMIUM_MISSING, PNG_MAGIC, chromium, chromium_binary

TOKEN = "kiosk-cli-test-token-0123456789abcdef"

SCREENSHOT_FOR_DOCS = REPO / "docs" / "images" / "kiosk-browser.png"


@pytest.fixture
def chromium_path() -> str:
    """Debian's Chromium, or a skip that says how to get it."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip(CHROMIUM_MISSING)
    return binary


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[str]:
    """A real edge agent (`ioe edge run`) with an lp.move station, offline: no broker answers,
    which a kiosk must not notice when saving scans."""
    port = free_port()
    config = EdgeConfig(
        site="plant-1",
        edge_id="edge-b",
        secret="edge-b-test-secret-0123456789",
        central_key=central_public_key(b"c" * 32).hex(),
        data_dir=str(tmp_path / "edge"),
        mqtt_url=f"mqtt://127.0.0.1:{free_port()}",
        host="127.0.0.1",
        port=port,
        stations=[
            StationConfig(name="pack-2", operator="op-1", action="lp.move", idle_timeout_seconds=0)
        ],
    )
    path = tmp_path / "edge.toml"
    write_config(config, path)
    proc = Proc(ioe_command("edge", "run", "--config", str(path)), tmp_path / "edge.log")
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            assert proc.popen.poll() is None, proc.output()
            try:
                return httpx.get(f"{base}/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 60, what="the edge's API")
        yield base
    finally:
        proc.stop()


async def test_a_browser_shows_the_served_kiosk_and_saves_a_scan_typed_into_it(
    tmp_path: Path, chromium_path: str, edge: str
) -> None:
    port = free_port()
    kiosk = Proc(
        ioe_command("kiosk", "--edge", edge, "--station", "pack-2", "--serve", "--port",
                    str(port), "--token-env", "IOE_TEST_KIOSK_TOKEN"),
        tmp_path / "kiosk.log",
        env={"IOE_TEST_KIOSK_TOKEN": TOKEN},
    )  # fmt: skip
    try:
        wait_for_port(port)
        async with httpx.AsyncClient(base_url=edge, timeout=10) as http:
            expect = (await http.get("/api/v1/stations/pack-2")).json()["expect"]
            async with chromium(tmp_path, chromium_path) as page:
                await page.open(f"http://127.0.0.1:{port}/?token={TOKEN}")
                await page.wait_for_text("pack-2", expect, ignore_case=True)
                await page.type("LOC:A-02")
                await page.press_enter()
                await page.wait_for_text("putting away to A-02")
                await page.type("LP0001")
                await page.press_enter()
                await page.wait_for_text("move LP0001 to A-02")
                await page.wait_for_match(r"QUEUE\W+1\b")  # the status bar has the edge's word
                queue = (await http.get("/api/v1/queue")).json()
                recent = (await http.get("/api/v1/stations/pack-2/progress")).json()["recent"]
                png = await page.screenshot(tmp_path / "kiosk-browser.png")
                # A burst, as a wedge scanner types in the browser: one scan per Enter.
                await page.burst("LOC:A-03", "LP0002", "LP0003")
                await page.wait_for_text("move LP0003 to A-03")
                wait_until(lambda: len(_moves(edge)) == 3, 10, what="three moves at the edge")
        assert png.startswith(PNG_MAGIC) and len(png) > 10_000
        assert queue["depth"] == 1
        assert [(a["type"], a["state"]) for a in recent] == [("lp.move", "queued")]
        assert recent[0]["summary"] == "move LP0001 to A-02"
        assert _moves(edge) == ["move LP0001 to A-02", "move LP0002 to A-03", "move LP0003 to A-03"]
        if os.environ.get("IOE_KIOSK_SCREENSHOTS"):
            SCREENSHOT_FOR_DOCS.parent.mkdir(parents=True, exist_ok=True)
            SCREENSHOT_FOR_DOCS.write_bytes(png)
        # a stop (SIGTERM) ends the browser's kiosk process with the server: nothing left over
        assert kiosk.terminate() == 0, kiosk.output()
        wait_until(lambda: not _group_alive(kiosk), 15, what="the served kiosks to end")
    finally:
        kiosk.stop()


def _moves(edge: str) -> list[str]:
    """The station's moves as the edge's queue holds them, oldest first."""
    recent = httpx.get(f"{edge}/api/v1/stations/pack-2/progress").json()["recent"]
    return [a["summary"] for a in reversed(recent) if a["type"] == "lp.move"]


def _group_alive(proc: Proc) -> bool:
    """Whether any process of ``proc``'s session (it and what it started) still runs."""
    try:
        os.killpg(proc.popen.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _listening(port: int) -> list[str]:
    """The local addresses (hex, as the kernel lists them) listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append(address)
    return found


LOOPBACK_V4 = "0100007F"  # 127.0.0.1 in /proc/net/tcp's byte order


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
def test_ioe_kiosk_serve_listens_on_loopback_unless_told(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # the kiosk starts without its edge
    env = {"IOE_TEST_KIOSK_TOKEN": TOKEN}
    ports = free_port(), free_port()
    local = Proc(
        ioe_command("kiosk", "--edge", nowhere, "--station", "pack-2", "--serve", "--port",
                    str(ports[0]), "--token-env", "IOE_TEST_KIOSK_TOKEN"),
        tmp_path / "local.log", env=env,
    )  # fmt: skip
    wide = Proc(
        ioe_command("kiosk", "--edge", nowhere, "--station", "pack-2", "--serve", "--port",
                    str(ports[1]), "--host", "0.0.0.0", "--token-env", "IOE_TEST_KIOSK_TOKEN"),
        tmp_path / "wide.log", env=env,
    )  # fmt: skip
    try:
        wait_for_port(ports[0])
        wait_for_port(ports[1])
        assert _listening(ports[0]) == [LOOPBACK_V4]
        assert _listening(ports[1]) == ["00000000"]
        wait_until(lambda: "only protection" in wide.output(), 10, what="the warning")
        assert "only protection" not in local.output()
        assert f"open http://127.0.0.1:{ports[0]}/?token=<the token you gave>" in local.output()
        assert TOKEN not in local.output() + wide.output()
    finally:
        local.stop()
        wide.stop()


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["--host", "0.0.0.0"], {}, "--host only make sense with --serve"),
        (["--port", "1", "--max-sessions", "2"], {}, "--port, --max-sessions only make sense"),
        (["--serve", "--token-env", "IOE_TEST_NO_SUCH_VAR"], {}, "IOE_TEST_NO_SUCH_VAR is not set"),
        (["--serve", "--token-env", "T"], {"T": "short"}, "at least 16"),
    ],
)
def test_ioe_kiosk_serve_refuses_what_it_cannot_do_safely(
    args: list[str], env: dict[str, str], said: str
) -> None:
    result = subprocess.run(
        ioe_command("kiosk", "--edge", f"http://127.0.0.1:{free_port()}", "--station", "x", *args),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert result.returncode == 2
    assert said in " ".join(result.stderr.replace("│", " ").split())
