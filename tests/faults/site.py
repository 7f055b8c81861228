"""A whole IOE site in real processes, built to be broken: the fault suite's stage.

Mosquitto of its own (persistent, so a restart can keep or lose its store), one central on
SQLite or two central replicas on one PostgreSQL sharing the ingest subscription, and edges
that each reach the broker through a faulty link, keep their queue on a small filesystem of
their own (so it can be filled) and read the time through libfaketime (so it can jump).
Where the machine cannot mount a filesystem or has no libfaketime, those two faults are left
out and the reason is shown; everything else is always real. Central is seeded through its API
(products, FG-1's BOM, locations) and a material LP received through an edge; each run gets
released work orders of its own that reserve from it.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from harness import FaultyLink, Proc, free_port, ioe_command, provision_command, wait_for_port

SITE = "plant-1"
STOCK_LP = "STOCK-1"  # the site's material: every run's work orders reserve from it
STOCK_KG = "1000000"
WO_QTY = "1000"  # per work order: a run consumes and makes far less
EDGE_DISK_MIB = 64
EXIT_DATABASE_UNAVAILABLE = 4  # runtime/fatal.py: a supervisor restarts central on it


class ProcessDown(AssertionError):
    """A process of the site ended without being killed by the schedule."""


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )


def faketime_library() -> str | None:
    """libfaketime's multi-threaded library, if installed (Debian: apt install faketime)."""
    for pattern in ("/usr/lib/*/faketime/libfaketimeMT.so.1", "/usr/local/lib/faketime/*MT*"):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


class Broker:
    """Mosquitto on a free port with a persistence file that a restart keeps or wipes."""

    def __init__(self, workdir: Path) -> None:
        binary = mosquitto_binary()
        assert binary is not None
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.store = workdir / "mosquitto-store"
        self.store.mkdir()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {self.store}/\nautosave_interval 1\n"
            "max_queued_messages 100000\n"
        )
        self.proc: Proc | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        self.proc = Proc(
            [self.binary, "-c", str(self.conf)], self.workdir / f"broker-{self.starts}.log"
        )
        wait_for_port(self.port)

    def kill(self, *, wipe: bool = False) -> bool:
        if self.proc is None:
            return False
        self.proc.stop()
        self.proc = None
        if wipe:
            for path in self.store.iterdir():
                path.unlink()
        return True

    def alive(self) -> bool:
        return self.proc is None or self.proc.popen.poll() is None


class SqliteLock:
    """Central's SQLite database held by another process's exclusive lock: central's writes
    wait out their busy timeout and fail, as when a backup or a stuck tool holds the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._release: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def hold(self) -> bool:
        """Take the lock (False if this site already holds it)."""
        if self._thread is not None:
            return False
        locked = threading.Event()
        self._release = threading.Event()

        def run(release: threading.Event) -> None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                conn.execute("BEGIN EXCLUSIVE")
                locked.set()
                release.wait()
                conn.execute("ROLLBACK")
            finally:
                conn.close()
                locked.set()

        self._thread = threading.Thread(target=run, args=(self._release,), daemon=True)
        self._thread.start()
        locked.wait(35)
        return True

    def let_go(self) -> None:
        if self._release is not None and self._thread is not None:
            self._release.set()
            self._thread.join(35)
            self._release = self._thread = None


@dataclass
class CentralNode:
    """One central process (a replica when there are two)."""

    name: str
    port: int
    proc: Proc | None = None
    starts: int = 0
    starting: bool = False  # being started: not killed meanwhile

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class EdgeNode:
    """One edge: its link to the broker, its queue's filesystem, its clock."""

    edge_id: str
    port: int
    link: FaultyLink
    data_dir: Path
    clock: Path | None
    config: Path | None = None
    proc: Proc | None = None
    starts: int = 0
    starting: bool = False
    mounted: bool = False
    filler: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Capabilities:
    """Which optional faults this machine can inject, and why not where it cannot."""

    disk: str | None = None  # None: can; else the reason it cannot
    clock: str | None = None


class FaultSite:
    """Broker, central(s) and edges of one tier, and every handle a fault needs."""

    def __init__(self, workdir: Path, *, db_url: str, replicas: int, edges: int = 3) -> None:
        self.workdir = workdir
        self.db_url = db_url  # what the test reads; centrals may reach it through a link
        self.http = httpx.Client(timeout=30)
        self.broker = Broker(workdir)
        self.db_link: FaultyLink | None = None
        self.sqlite_lock: SqliteLock | None = None
        url = make_url(db_url)
        if url.get_backend_name() == "sqlite":
            assert url.database is not None
            self.sqlite_lock = SqliteLock(Path(url.database))
            self.central_db_url = db_url
        else:
            self.db_link = FaultyLink(url.port or 5432, url.host or "127.0.0.1")
            linked = url.set(host="127.0.0.1", port=self.db_link.port)
            self.central_db_url = linked.render_as_string(hide_password=False)
        self.centrals = [CentralNode(name, free_port()) for name in "ab"[:replicas]]
        self.supervisor_restarts = 0  # central restarted after exit 4 (database unavailable)
        self._restarts: list[threading.Thread] = []
        self._restart_errors: list[BaseException] = []
        self.capabilities = Capabilities(disk=can_mount())
        library = faketime_library()
        if library is None:
            self.capabilities.clock = "libfaketime is not installed (apt install faketime)"
        self.faketime = library
        self.edges = [
            EdgeNode(
                f"edge-{n}",
                free_port(),
                FaultyLink(self.broker.port),
                workdir / f"edge-{n}-data",
                None if library is None else workdir / f"edge-{n}.clock",
            )
            for n in range(1, edges + 1)
        ]

    # -- building --------------------------------------------------------------------------

    def start(self) -> None:
        self.broker.start()
        for central in self.centrals:  # one after the other: the first migrates
            self.start_central(central)
        self._seed()
        for edge in self.edges:
            self._mount(edge)
            self._provision(edge)
            if edge.clock is not None:
                edge.clock.write_text("+0\n")
            self.start_edge(edge)
        self._stock()

    def _seed(self) -> None:
        """RAW-1 and RAW-2 (on no BOM), FG-1 made of 1 kg of RAW-1 each, three locations."""
        api = f"{self.centrals[0].url}/api/v1"
        ids = {}
        for code, uom in (("RAW-1", "kg"), ("RAW-2", "kg"), ("FG-1", "ea")):
            product = {"site": SITE, "code": code, "name": code, "uom": uom}
            made = self.http.post(f"{api}/products", json=product)
            made.raise_for_status()
            ids[code] = made.json()["id"]
        bom = {"items": [{"component": "RAW-1", "qty_per": "1"}]}
        self.http.post(f"{api}/products/{ids['FG-1']}/bom", json=bom).raise_for_status()
        for code in ("RECV", "A-01", "A-02"):
            location = {"site": SITE, "code": code, "name": code}
            self.http.post(f"{api}/locations", json=location).raise_for_status()

    def _stock(self) -> None:
        """Receive the site's material LP from the floor (through the first edge) and wait
        until central has it: releasing a work order reserves from it."""
        body = {"item": "RAW-1", "qty": STOCK_KG, "uom": "kg", "location": "RECV", "lp": STOCK_LP}
        action = {"type": "lp.receive", "station": "station-1", "operator": "op-1", "body": body}
        self.http.post(f"{self.edges[0].url}/api/v1/actions", json=action).raise_for_status()
        url = f"{self.centrals[0].url}/api/v1/license-plates/{STOCK_LP}"
        deadline = time.monotonic() + 60
        while self.http.get(url).status_code != 200:
            if time.monotonic() > deadline:
                raise ProcessDown(f"{STOCK_LP} did not reach central in 60 s")
            time.sleep(0.05)

    def release_work_orders(self, tag: str) -> list[str]:
        """One released work order per edge for a run (numbered with ``tag``), each reserving
        its material from the stock LP; made through whichever central answers."""
        numbers = [f"WO-{tag}-{n}" for n in range(len(self.edges))]
        for number in numbers:
            order = {"site": SITE, "number": number, "product": "FG-1", "qty": WO_QTY}
            for central in self.centrals:
                try:
                    made = self.http.post(
                        f"{central.url}/api/v1/work-orders", json={**order, "status": "released"}
                    )
                except httpx.HTTPError:
                    continue
                made.raise_for_status()
                break
            else:
                raise ProcessDown(f"no central answered to make work order {number}")
        return numbers

    def _mount(self, edge: EdgeNode) -> None:
        edge.data_dir.mkdir()
        if self.capabilities.disk is not None:
            return
        done = _run(
            "mount", "-t", "tmpfs", "-o", f"size={EDGE_DISK_MIB}m", "tmpfs", str(edge.data_dir)
        )
        if done.returncode != 0:
            reason = (done.stderr or done.stdout).strip() or f"exit {done.returncode}"
            self.capabilities.disk = f"cannot mount a small filesystem here ({reason})"
            return
        edge.mounted = True

    def _provision(self, edge: EdgeNode) -> None:
        edge.config = self.workdir / f"{edge.edge_id}.toml"
        proc = Proc(
            provision_command(
                central=self.centrals[0].url,
                site=SITE,
                edge=edge.edge_id,
                mqtt=f"mqtt://127.0.0.1:{edge.link.port}",
                out=edge.config,
                port=edge.port,
                data_dir=edge.data_dir,
                extra=("--ack-timeout", "2"),
            ),
            self.workdir / f"provision-{edge.edge_id}.log",
        )
        assert proc.popen.wait(60) == 0, proc.output()
        proc.stop()

    # -- processes -------------------------------------------------------------------------

    def restart_later(self, node: CentralNode | EdgeNode) -> None:
        """Start a killed process again without holding up the schedule: a central waits for
        its database, which another fault may hold down until its own time is up."""
        node.starting = True

        def start() -> None:
            try:
                if isinstance(node, CentralNode):
                    self.start_central(node)
                else:
                    self.start_edge(node)
            except BaseException as exc:  # reported by await_restarts
                self._restart_errors.append(exc)

        thread = threading.Thread(target=start, daemon=True)
        self._restarts.append(thread)
        thread.start()

    def await_restarts(self) -> None:
        """Wait for every restart under way; raise what made one fail."""
        while self._restarts:
            self._restarts.pop().join(180)
        if self._restart_errors:
            errors, self._restart_errors = self._restart_errors, []
            raise errors[0]

    def start_central(self, central: CentralNode) -> None:
        """Start a central and wait until it answers; like a supervisor, start it again when
        it exits because its database is unreachable (exit 4), which it does at start."""
        central.starting = True
        try:
            self._start_central(central)
        finally:
            central.starting = False

    def _start_central(self, central: CentralNode) -> None:
        deadline = time.monotonic() + 120
        while True:
            central.starts += 1
            args = ["central", "run", "--db", self.central_db_url, "--mqtt", self.broker.url]
            args += ["--port", str(central.port)]
            if len(self.centrals) > 1:
                args.append("--shared-subscription")
            log = self.workdir / f"central-{central.name}-{central.starts}.log"
            central.proc = Proc(ioe_command(*args), log)
            code = self._wait_up(central.proc, f"{central.url}/healthz", deadline)
            if code is None:
                return
            central.proc.stop()
            if code != EXIT_DATABASE_UNAVAILABLE:
                raise ProcessDown(f"central {central.name} exited {code}:\n{_tail(log)}")
            self.supervisor_restarts += 1
            time.sleep(0.5)

    def kill_central(self, central: CentralNode) -> bool:
        if central.proc is None or central.starting:
            return False
        central.proc.stop()
        central.proc = None
        return True

    def start_edge(self, edge: EdgeNode) -> None:
        edge.starting = True
        try:
            self._start_edge(edge)
        finally:
            edge.starting = False

    def _start_edge(self, edge: EdgeNode) -> None:
        assert edge.config is not None
        edge.starts += 1
        env: dict[str, str] = {}
        if self.faketime is not None and edge.clock is not None:
            env = {
                "LD_PRELOAD": self.faketime,
                "FAKETIME_TIMESTAMP_FILE": str(edge.clock),
                "FAKETIME_CACHE_DURATION": "1",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            }
        log = self.workdir / f"{edge.edge_id}-{edge.starts}.log"
        edge.proc = Proc(ioe_command("edge", "run", "--config", str(edge.config)), log, env=env)
        code = self._wait_up(edge.proc, f"{edge.url}/healthz", time.monotonic() + 60)
        if code is not None:
            raise ProcessDown(f"{edge.edge_id} exited {code} at start:\n{_tail(log)}")

    def kill_edge(self, edge: EdgeNode) -> bool:
        if edge.proc is None or edge.starting:
            return False
        edge.proc.stop()
        edge.proc = None
        return True

    def _wait_up(self, proc: Proc, health: str, deadline: float) -> int | None:
        """None once ``health`` answers 200; the exit code if the process ends first."""
        while time.monotonic() < deadline:
            code = proc.popen.poll()
            if code is not None:
                return code
            try:
                if self.http.get(health, timeout=2).status_code == 200:
                    return None
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise ProcessDown(f"{proc.args} did not come up:\n{_tail(proc.log)}")

    def dead(self) -> list[str]:
        """Processes that ended although nothing killed them."""
        found = [] if self.broker.alive() else ["broker"]
        found += [
            f"central {c.name}: {_tail(c.proc.log)}"
            for c in self.centrals
            if c.proc is not None and c.proc.popen.poll() is not None
        ]
        found += [
            f"{e.edge_id}: {_tail(e.proc.log)}"
            for e in self.edges
            if e.proc is not None and e.proc.popen.poll() is not None
        ]
        return found

    # -- disks and clocks ------------------------------------------------------------------

    def fill_disk(self, edge: EdgeNode) -> bool:
        """Fill the edge's filesystem to the last byte."""
        if not edge.mounted or edge.filler is not None:
            return False
        edge.filler = edge.data_dir / "filler"
        chunk = b"\0" * (1 << 20)
        with open(edge.filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(chunk)
            except OSError:
                pass
            try:
                while True:
                    f.write(b"\0" * 512)
            except OSError:
                pass
        return True

    def free_disk(self, edge: EdgeNode) -> None:
        if edge.filler is not None:
            edge.filler.unlink(missing_ok=True)
            edge.filler = None

    def set_clock(self, edge: EdgeNode, offset_seconds: int) -> bool:
        """Jump the edge's wall clock to ``offset_seconds`` from true time (monotonic time is
        untouched, as with an NTP step)."""
        if edge.clock is None:
            return False
        edge.clock.write_text(f"{offset_seconds:+d}\n")
        return True

    # -- reading the edges -----------------------------------------------------------------

    def queue(self, edge: EdgeNode) -> dict[str, Any]:
        return dict(self.http.get(f"{edge.url}/api/v1/queue", timeout=10).json())

    # -- the end ---------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.await_restarts()  # so no process is started after this
        except BaseException:  # noqa: S110 - closing after a failed run: it is reported already
            pass
        for edge in self.edges:
            self.kill_edge(edge)
            edge.link.close()
            if edge.mounted:
                _run("umount", "-l", str(edge.data_dir))
        for central in self.centrals:
            self.kill_central(central)
        if self.sqlite_lock is not None:
            self.sqlite_lock.let_go()
        if self.db_link is not None:
            self.db_link.close()
        self.broker.kill()
        self.http.close()

    def logs(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- {path.name}\n{_tail(path, lines)}" for path in sorted(self.workdir.glob("*.log"))
        )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def can_mount() -> str | None:
    """None when this process may mount filesystems; else why not."""
    if os.geteuid() != 0:
        return "not root: cannot mount a small filesystem for the edge's queue"
    return None
