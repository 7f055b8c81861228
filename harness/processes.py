"""Processes for tests and benchmarks: free ports, waiting, ioe subprocesses."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    """Block until something accepts TCP connections on the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def wait_until(
    check: Callable[[], bool], timeout: float = 30.0, interval: float = 0.1, what: str = "condition"
) -> None:
    """Poll ``check`` until it is true; fail with ``what`` in the message on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class Proc:
    """A child process with its output in a log file, killed (SIGKILL) if still alive at the end."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.log = log
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            args,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=REPO,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last words; exactly what a power cut does to the process."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait; SIGKILL if it does not stop in time. Returns the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.returncode

    def stop(self) -> None:
        self.kill()
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def ioe_command(*args: str) -> list[str]:
    """The `ioe` CLI run with this interpreter (works without the console script on PATH)."""
    return [sys.executable, "-m", "ioe", *args]


def provision_command(
    *,
    central: str,
    site: str,
    edge: str,
    mqtt: str,
    out: Path,
    port: int,
    data_dir: Path,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """`ioe edge provision` for one edge of a test or benchmark site."""
    return ioe_command(
        "edge", "provision", "--central", central, "--site", site, "--edge", edge,
        "--mqtt", mqtt, "--out", str(out), "--port", str(port), "--data-dir", str(data_dir),
        *extra,
    )  # fmt: skip


@contextlib.contextmanager
def process_workdir(prefix: str) -> Iterator[tuple[Path, list["Proc"]]]:
    """A temporary directory for a run's files and logs, and the list of processes it
    starts: stopped (newest first) however the run ends; the directory is kept and named."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    procs: list[Proc] = []
    try:
        yield work, procs
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.stop()
        print(f"logs in {work}", file=sys.stderr)
