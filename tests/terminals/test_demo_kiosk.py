"""`ioe demo --kiosk`: the demo behind a kiosk in one terminal; quitting the kiosk stops it."""

import os
import pty
import select
import subprocess
import time
from pathlib import Path

import httpx

from harness import free_port, ioe_command

F10 = b"\x1b[21~"


def read_until(fd: int, wanted: bytes, timeout: float) -> bytes:
    """What the terminal showed, until ``wanted`` appears (or the time is up)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def test_the_demo_runs_behind_a_kiosk_and_stops_with_it(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    edge_port = free_port()
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    proc = subprocess.Popen(
        ioe_command(
            "demo",
            "--kiosk",
            "--kiosk-station",
            "dock-1",
            "--dir",
            str(workdir),
            "--port",
            str(free_port()),
            "--edge-port",
            str(edge_port),
            "--broker-port",
            str(free_port()),
        ),  # fmt: skip
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        start_new_session=True,
    )
    os.close(follower)
    try:
        shown = read_until(leader, b"dock-1", 120)
        assert b"dock-1" in shown, shown[-2000:]
        shown += read_until(leader, b"UP", 30)
        # The demo's edge knows its supervisor badge and forwards conflict reads to central.
        edge = f"http://127.0.0.1:{edge_port}/api/v1"
        assert httpx.get(f"{edge}/operators/SUP-1").json()["supervisor"] is True
        missing = httpx.get(f"{edge}/conflicts/999999")
        assert missing.status_code == 404, missing.text
        assert missing.json()["code"] == "CONFLICT_NOT_FOUND"
        os.write(leader, F10)
        proc.wait(60)
        shown += read_until(leader, b"demo stopped", 5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(leader)
    assert proc.returncode == 0
    assert b"demo stopped" in shown
    assert b"Traceback" not in shown
    log = (workdir / "demo.log").read_text()
    assert "IOE demo is running" in log  # the banner went to the log, not over the kiosk
    assert "edge plant-1/edge-1: local API" in log
