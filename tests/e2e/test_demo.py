"""`ioe demo` as a user runs it: banner, scans through the file, Ctrl-C, run again."""

import signal
from pathlib import Path

import httpx

from harness import Proc, free_port, ioe_command, wait_until


def start_demo(
    workdir: Path, log: Path, ports: dict[str, int], env: dict[str, str] | None = None
) -> Proc:
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
        env,
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
        # The banner says how to open a kiosk of one of the demo's stations.
        assert f"ioe kiosk --edge http://127.0.0.1:{ports['edge']} --station dock-1" in banner

        def receipts() -> list[dict[str, str]]:
            return httpx.get(f"{central}/stock-moves", params={"kind": "RECEIPT"}).json()["items"]

        # The plant day ran before the banner: every floor action applied through the edge.
        assert "the plant day stopped" not in banner, banner
        assert "A recall of FLOUR-T55 lot F-2611 reaches:" in banner, banner
        assert "COOKIE-BOX lot C-01: 6 LP(s), 600 ea now" in banner, banner
        # Nothing has shipped on a fresh demo: the recall says it reached no customer.
        assert "customers: (none yet: nothing of it has shipped)" in banner, banner
        assert len(receipts()) == 5  # four raw lots and a pallet label
        statuses = {
            wo["number"]: wo["status"] for wo in httpx.get(f"{central}/work-orders").json()["items"]
        }
        assert statuses == {"WO-1001": "completed", "WO-1002": "completed", "WO-1003": "released"}
        recall = httpx.get(
            f"{central}/lots/F-2611/genealogy", params={"item": "FLOUR-T55", "direction": "down"}
        ).json()
        reached = sorted(lp["product"] for lp in recall["lps"])
        assert reached == ["COOKIE-BOX"] * 6 + ["DOUGH"] * 4 + ["FLOUR-T55", "PALLET"], reached
        # The other flour lot went into nothing.
        other = httpx.get(
            f"{central}/lots/F-2612/genealogy", params={"item": "FLOUR-T55", "direction": "down"}
        ).json()
        assert [lp["product"] for lp in other["lps"]] == ["FLOUR-T55"]
        (unused,) = httpx.get(f"{central}/license-plates", params={"lot": "F-2612"}).json()["items"]
        lp = unused["number"]

        with open(workdir / "scans.txt", "a") as scans:  # the simulated scanner's input
            scans.write(f"LOC:A-02\n{lp}\n")
        wait_until(
            lambda: httpx.get(f"{central}/license-plates/{lp}").json()["location"] == "A-02",
            30,
            what="the scanned move applied at central",
        )
        # The station consumes what it scans into WO-1003: the last tub of dough goes in
        # whole, within the order's limits, so it applies and nothing waits as a conflict.
        (tub,) = httpx.get(
            f"{central}/license-plates", params={"product": "DOUGH", "status": "available"}
        ).json()["items"]
        with open(workdir / "scans.txt", "a") as scans:
            scans.write(f"ACT:lp.consume\n{tub['number']}\n")
        wait_until(
            lambda: (
                httpx.get(f"{central}/license-plates/{tub['number']}").json()["status"]
                == "consumed"
            ),
            30,
            what="the scanned tub consumed",
        )
        assert httpx.get(f"{central}/conflicts").json()["items"] == []

        # The pick and load stations read their own scanner files.
        edge = f"http://127.0.0.1:{ports['edge']}/api/v1"
        assert str(workdir / "pick-1.txt") in banner and str(workdir / "load-1.txt") in banner
        with open(workdir / "pick-1.txt", "a") as scans:
            scans.write("PT-000001\nLOC:A-01\n")
        with open(workdir / "load-1.txt", "a") as scans:
            scans.write("SH-000001\n")

        def collected(station: str) -> dict[str, str]:
            return httpx.get(f"{edge}/stations/{station}").json()["collected"]

        wait_until(
            lambda: collected("pick-1") == {"task": "PT-000001", "location": "A-01"},
            30,
            what="the pick station at its LP step",
        )
        wait_until(
            lambda: collected("load-1") == {"shipment": "SH-000001"},
            30,
            what="the load station on its shipment",
        )

        proc.popen.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.popen.wait(30) == 0
        assert "Traceback" not in proc.output()
    finally:
        proc.stop()

    # A user who exported IOE_ADMIN_TOKEN for a real central: the demo still runs open.
    again = start_demo(workdir, tmp_path / "demo-2.log", ports, env={"IOE_ADMIN_TOKEN": "x" * 40})
    try:
        banner = again.output()
        assert "IOE_ADMIN_TOKEN is set: the demo ignores it" in banner, banner
        assert "COOKIE-BOX lot C-01: 6 LP(s), 600 ea now" in banner, banner  # recalled again
        # A second load would go through the edge's queue before the banner: once the queue
        # is empty, whatever the second run sent has reached central.
        edge_queue = f"http://127.0.0.1:{ports['edge']}/api/v1/queue"
        wait_until(
            lambda: httpx.get(edge_queue).json()["depth"] == 0, 30, what="the edge queue empty"
        )
        assert (
            len(httpx.get(f"{central}/stock-moves", params={"kind": "RECEIPT"}).json()["items"])
            == 5
        ), "demo data must not be loaded twice"
        assert httpx.get(f"{central}/license-plates/{lp}").json()["location"] == "A-02"
        again.popen.send_signal(signal.SIGINT)
        assert again.popen.wait(30) == 0
    finally:
        again.stop()
