"""`ioe demo` as a user runs it: banner, scans through the file, Ctrl-C, run again."""

import signal
from pathlib import Path

import httpx

from harness import Proc, free_port, ioe_command, wait_until


def start_demo(workdir: Path, log: Path, ports: dict[str, int]) -> Proc:
    proc = Proc(
        ioe_command(
            "demo",
            "--dir",
            str(workdir),
            "--port",
            str(ports["central"]),
            "--edge-port",
            str(ports["edge"]),
            "--broker-port",
            str(ports["broker"]),
        ),
        log,
    )
    wait_until(
        lambda: "IOE demo is running" in proc.output() or proc.popen.poll() is not None,
        60,
        what="the demo banner",
    )
    assert proc.popen.poll() is None, proc.output()
    return proc


def test_demo_runs_the_spine_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    ports = {"central": free_port(), "edge": free_port(), "broker": free_port()}
    central = f"http://127.0.0.1:{ports['central']}/api/v1"
    workdir = tmp_path / "demo"
    proc = start_demo(workdir, tmp_path / "demo-1.log", ports)
    try:
        banner = proc.output()
        assert f"http://127.0.0.1:{ports['central']}/docs" in banner
        assert str(workdir / "scans.txt") in banner

        def receipts() -> list[dict[str, str]]:
            return httpx.get(f"{central}/stock-moves", params={"kind": "RECEIPT"}).json()["items"]

        wait_until(lambda: len(receipts()) == 3, 30, what="demo LPs received through the edge")
        lp = receipts()[0]["lp"]
        (wo,) = httpx.get(f"{central}/work-orders").json()["items"]
        assert wo["status"] == "released"  # released once the receipts arrived: FEFO reserved
        materials = httpx.get(f"{central}/work-orders/{wo['id']}/materials").json()["items"]
        assert {m["component"]: (m["required"], m["reserved"]) for m in materials} == {
            "FLOUR-T55": ("1989", "1989"),
            "SUGAR": ("780", "780"),
        }

        with open(workdir / "scans.txt", "a") as scans:  # the simulated scanner's input
            scans.write(f"LOC:A-02\n{lp}\n")
        wait_until(
            lambda: httpx.get(f"{central}/license-plates/{lp}").json()["location"] == "A-02",
            30,
            what="the scanned move applied at central",
        )
        # The station consumes what it scans, whole, into WO-1001: the demo's LPs fit the
        # order's limits, so every scan applies and none waits as a conflict.
        with open(workdir / "scans.txt", "a") as scans:
            scans.write("ACT:lp.consume\n" + "".join(f"{r['lp']}\n" for r in receipts()))

        def statuses() -> set[str]:
            return {
                httpx.get(f"{central}/license-plates/{r['lp']}").json()["status"]
                for r in receipts()
            }

        wait_until(lambda: statuses() == {"consumed"}, 30, what="the scanned LPs consumed")
        materials = httpx.get(f"{central}/work-orders/{wo['id']}/materials").json()["items"]
        assert {m["component"]: m["consumed"] for m in materials} == {
            "FLOUR-T55": "2000",
            "SUGAR": "800",
        }
        assert httpx.get(f"{central}/conflicts").json()["items"] == []

        proc.popen.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.popen.wait(30) == 0
        assert "Traceback" not in proc.output()
    finally:
        proc.stop()

    again = start_demo(workdir, tmp_path / "demo-2.log", ports)
    try:
        # A second load would go through the edge's queue before the banner: once the queue
        # is empty, whatever the second run sent has reached central.
        edge_queue = f"http://127.0.0.1:{ports['edge']}/api/v1/queue"
        wait_until(
            lambda: httpx.get(edge_queue).json()["depth"] == 0, 30, what="the edge queue empty"
        )
        assert (
            len(httpx.get(f"{central}/stock-moves", params={"kind": "RECEIPT"}).json()["items"])
            == 3
        ), "demo data must not be loaded twice"
        assert httpx.get(f"{central}/license-plates/{lp}").json()["location"] == "A-02"
        again.popen.send_signal(signal.SIGINT)
        assert again.popen.wait(30) == 0
    finally:
        again.stop()
