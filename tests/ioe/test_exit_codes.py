"""Faults no retry can fix end `ioe central run` / `ioe edge run` at once: one line naming
the problem and what to do, the documented exit code, no traceback, no hang."""

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from central.broker.passwords import mosquitto_hash
from central.db.migrate import upgrade
from edge.config import EdgeConfig, StationConfig, write_config
from edge.queue import ActionQueue
from harness import Proc, free_port, ioe_command, wait_for_port
from protocol import central_public_key
from runtime.fatal import ExitCode
from tests.conftest import PG_URL
from tests.edge.small_disk import fill, small_disk

PROMPTLY = 45  # seconds; a process still running by then hangs


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run an `ioe` server command that must end by itself."""
    return subprocess.run(
        ioe_command(*args),
        capture_output=True,
        text=True,
        timeout=PROMPTLY,
        env={**os.environ, **(env or {})},
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The exit code, exactly one `error:` line (the last one), holding ``words``; nothing
    of a traceback or an unfinished task anywhere in the output."""
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output and "Task was destroyed" not in output, output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == errors[0]
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process (this test) listens on."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield int(sock.getsockname()[1])


def central(db_url: str, port: int, mqtt: str = "mqtt://127.0.0.1:9") -> list[str]:
    return ["central", "run", "--db", db_url, "--mqtt", mqtt, "--port", str(port)]


def edge_config(
    tmp_path: Path, *, port: int, mqtt: str = "mqtt://127.0.0.1:9", data_dir: Path | None = None
) -> Path:
    path = tmp_path / "edge.toml"
    config = EdgeConfig(
        site="plant-1",
        edge_id="edge-1",
        secret="edge-1-test-secret-0123456789",
        central_key=central_public_key(b"c" * 32).hex(),
        data_dir=str(data_dir or tmp_path / "data"),
        mqtt_url=mqtt,
        port=port,
        stations=[StationConfig(name="pack-2", operator="op-1", action="lp.move")],
    )
    write_config(config, path)
    return path


# -- a port already in use ---------------------------------------------------------------


def test_central_on_a_taken_port_exits_with_code_3(tmp_path: Path, taken_port: int) -> None:
    result = run(*central(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", taken_port))
    assert_one_clear_line(result, ExitCode.PORT_IN_USE, str(taken_port), "already in use")
    assert not (tmp_path / "c.db").exists(), "nothing done before the port was refused"


def test_edge_on_a_taken_port_exits_instead_of_hanging(tmp_path: Path, taken_port: int) -> None:
    """The line names what sets the edge's port: `ioe edge run` has no --port."""
    result = run("edge", "run", "--config", str(edge_config(tmp_path, port=taken_port)))
    line = assert_one_clear_line(
        result, ExitCode.PORT_IN_USE, str(taken_port), "`port` in edge.toml", "IOE_PORT"
    )
    assert "--port" not in line


@pytest.mark.parametrize("port", [70000, 0])
def test_central_on_a_port_out_of_range_exits_with_code_2(tmp_path: Path, port: int) -> None:
    """Not a port at all: refused as a setting, not wrapped around (70000 is 4464)."""
    result = run(*central(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", port))
    assert_one_clear_line(result, ExitCode.CONFIG, "port")
    assert not (tmp_path / "c.db").exists()


# -- the database ------------------------------------------------------------------------


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL tier: IOE_TEST_DATABASE_URL is not set")
def test_central_with_a_missing_postgresql_database_exits_with_code_4() -> None:
    from sqlalchemy.engine import make_url

    missing = make_url(PG_URL).set(database="ioe_no_such_database_4242")
    url = missing.render_as_string(hide_password=False)
    result = run(*central(url, free_port()))
    assert_one_clear_line(result, ExitCode.DATABASE, "ioe_no_such_database_4242", "createdb")


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL tier: IOE_TEST_DATABASE_URL is not set")
def test_central_whose_postgresql_login_is_refused_exits_with_code_4() -> None:
    """The server answers and refuses the role: a login to fix, not a server to start."""
    from sqlalchemy.engine import make_url

    stranger = make_url(PG_URL).set(username="ioe_no_such_role_4242", password="not-shown")
    result = run(*central(stranger.render_as_string(hide_password=False), free_port()))
    line = assert_one_clear_line(
        result, ExitCode.DATABASE, "ioe_no_such_role_4242", "refused the login", "user and password"
    )
    assert "not-shown" not in line and "start the database" not in line


@pytest.mark.parametrize("url", ["mysql://plant:secret@db/ioe", "postgresql://db/ioe", "not a url"])
def test_central_with_a_database_url_it_cannot_use_exits_with_code_2(url: str) -> None:
    """Another database or driver, or no URL at all: a setting to fix, named with the two
    that work, before any driver is imported."""
    result = run(*central(url, free_port()))
    line = assert_one_clear_line(
        result, ExitCode.CONFIG, "--db", "sqlite+aiosqlite:///", "postgresql+asyncpg://"
    )
    assert "secret" not in line


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["db", "check"], ["central", "token", "list"], ["broker-config"]],
    ids=" ".join,
)
def test_database_commands_with_a_url_they_cannot_use_exit_with_code_2(
    tmp_path: Path, command: list[str]
) -> None:
    out = ["--out", str(tmp_path / "broker")] if command == ["broker-config"] else []
    result = run(*command, *out, "--db", "mysql://plant@db/ioe")
    assert_one_clear_line(result, ExitCode.CONFIG, "mysql://", "sqlite+aiosqlite:///")


def test_central_with_an_unreachable_database_exits_with_code_4() -> None:
    closed = free_port()
    result = run(*central(f"postgresql+asyncpg://ioe@127.0.0.1:{closed}/ioe", free_port()))
    assert_one_clear_line(result, ExitCode.DATABASE, f"127.0.0.1:{closed}", "start the database")


def test_central_with_a_sqlite_path_it_cannot_make_exits_with_code_4(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run(*central(f"sqlite+aiosqlite:///{blocker / 'data' / 'c.db'}", free_port()))
    assert_one_clear_line(result, ExitCode.DATABASE, str(blocker), "SQLite")


def test_central_with_a_sqlite_path_that_is_a_folder_exits_with_code_4(tmp_path: Path) -> None:
    folder = tmp_path / "central.db"
    folder.mkdir()
    result = run(*central(f"sqlite+aiosqlite:///{folder}", free_port()))
    assert_one_clear_line(result, ExitCode.DATABASE, str(folder), "directory")


# -- a broker that refuses the login -----------------------------------------------------


@pytest.fixture
def locked_broker(tmp_path: Path) -> Iterator[str]:
    """A Mosquitto of the test's own that admits only the account "plant" / "right"."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.skip("mosquitto binary not installed")
    port = free_port()
    passwords = tmp_path / "passwd"
    passwords.write_text(f"plant:{mosquitto_hash('right')}\n")
    passwords.chmod(0o600)
    conf = tmp_path / "mosquitto.conf"
    # Started as root it stays root: the temporary directory is private to this user.
    run_as = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
        f"persistence false\n{run_as}"
    )
    proc = Proc([binary, "-c", str(conf)], tmp_path / "mosquitto.log")
    try:
        wait_for_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.stop()


def test_central_refused_by_the_broker_exits_with_code_5(
    tmp_path: Path, locked_broker: str
) -> None:
    mqtt = f"mqtt://plant:wrong@{locked_broker}"
    result = run(*central(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", free_port(), mqtt))
    line = assert_one_clear_line(result, ExitCode.BROKER_REFUSED, "plant@", "login")
    assert "wrong" not in line, "the password is never shown"


def test_edge_refused_by_the_broker_exits_with_code_5(tmp_path: Path, locked_broker: str) -> None:
    path = edge_config(tmp_path, port=free_port(), mqtt=f"mqtt://intruder:guess@{locked_broker}")
    result = run("edge", "run", "--config", str(path))
    line = assert_one_clear_line(result, ExitCode.BROKER_REFUSED, "intruder@", "login")
    assert "guess" not in line


def test_a_broker_that_is_down_is_not_a_refusal(tmp_path: Path) -> None:
    """Down is transient: the edge keeps retrying (and serving its API) until stopped."""
    port = free_port()
    proc = Proc(
        ioe_command("edge", "run", "--config", str(edge_config(tmp_path, port=port))),
        tmp_path / "edge.log",
    )
    try:
        wait_for_port(port, timeout=PROMPTLY)
        assert proc.popen.poll() is None
        assert proc.terminate() == ExitCode.OK
    finally:
        proc.stop()
    assert "Traceback" not in proc.output()


# -- the edge's queue file ---------------------------------------------------------------


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` made read-only: a read-only bind mount as root (root writes through file
    modes), file modes otherwise."""
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], check=False)
        if mounted.returncode != 0:
            pytest.skip("cannot bind-mount here to make a read-only folder")
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
            yield
        finally:
            subprocess.run(["umount", str(folder)], check=False)
    else:
        paths = [folder, *folder.iterdir()]
        for path in paths:
            path.chmod(0o500 if path.is_dir() else 0o400)
        try:
            yield
        finally:
            for path in paths:
                path.chmod(0o700 if path.is_dir() else 0o600)


@pytest.mark.parametrize("queue", ["new", "existing"])
def test_edge_whose_queue_cannot_be_written_exits_with_code_4(tmp_path: Path, queue: str) -> None:
    """A data_dir on a read-only filesystem: with no queue yet, and with one made before."""
    config = edge_config(tmp_path, port=free_port())
    data = tmp_path / "data"
    data.mkdir()
    if queue == "existing":

        async def make() -> None:
            made = await ActionQueue.open(data / "queue.db", site="plant-1", edge="edge-1",
                                          secret="edge-1-test-secret-0123456789")  # fmt: skip
            await made.close()

        asyncio.run(make())
    with read_only(data):
        result = run("edge", "run", "--config", str(config))
    assert_one_clear_line(result, ExitCode.DATABASE, "queue file", "writable")


def test_edge_whose_data_dir_cannot_be_made_exits_with_code_4(tmp_path: Path) -> None:
    """/proc takes no new folders, also for root."""
    config = edge_config(tmp_path, port=free_port(), data_dir=Path("/proc/ioe-nope/data"))
    result = run("edge", "run", "--config", str(config))
    assert_one_clear_line(result, ExitCode.DATABASE, "/proc/ioe-nope/data", "data_dir")


def test_edge_started_first_on_a_full_disk_exits_with_code_4_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """No queue yet and no room to make one: nothing to keep, so the failed start leaves
    no empty queue.db behind."""
    with small_disk("tmpfs", tmp_path, 1) as data:
        fill(data)
        config = edge_config(tmp_path, port=free_port(), data_dir=data)
        result = run("edge", "run", "--config", str(config))
        left = sorted(path.name for path in data.iterdir())
    assert_one_clear_line(result, ExitCode.DATABASE, "queue file", "disk is full", "free space")
    assert left == []


def test_edge_on_another_edges_queue_exits_with_code_4(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()

    async def make() -> None:
        made = await ActionQueue.open(data / "queue.db", site="plant-1", edge="edge-2",
                                      secret="edge-2-test-secret-0123456789")  # fmt: skip
        await made.close()

    asyncio.run(make())
    result = run("edge", "run", "--config", str(edge_config(tmp_path, port=free_port())))
    assert_one_clear_line(result, ExitCode.DATABASE, "plant-1/edge-2", "data_dir")


def test_central_on_a_read_only_sqlite_database_exits_with_code_4(tmp_path: Path) -> None:
    """A migrated database on a read-only filesystem, the master key given."""
    folder = tmp_path / "db"
    folder.mkdir()
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{folder / 'c.db'}"))
    with read_only(folder):
        result = run(*central(f"sqlite+aiosqlite:///{folder / 'c.db'}", free_port()))
    assert_one_clear_line(result, ExitCode.DATABASE, "SQLite", "write")


def test_central_that_cannot_make_its_master_key_file_exits_with_code_2(tmp_path: Path) -> None:
    """No key given, and the folder where central would make one is read-only."""
    folder = tmp_path / "db"
    folder.mkdir()
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{folder / 'c.db'}"))
    with read_only(folder):
        result = run(
            *central(f"sqlite+aiosqlite:///{folder / 'c.db'}", free_port()),
            env={"IOE_MASTER_KEY": ""},
        )
    assert_one_clear_line(result, ExitCode.CONFIG, "master key file", "IOE_MASTER_KEY")


# -- an unreadable config ----------------------------------------------------------------


def test_edge_config_that_is_a_folder_exits_with_code_2(tmp_path: Path) -> None:
    folder = tmp_path / "edge.toml"
    folder.mkdir()
    result = run("edge", "run", "--config", str(folder))
    assert_one_clear_line(result, ExitCode.CONFIG, str(folder))


def test_edge_config_that_is_not_utf8_exits_with_code_2(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_bytes(b'site = "\xff\xfe"\n')
    result = run("edge", "run", "--config", str(path))
    assert_one_clear_line(result, ExitCode.CONFIG, str(path))


def test_central_with_an_unreadable_master_key_file_exits_with_code_2(tmp_path: Path) -> None:
    folder = tmp_path / "master.key"
    folder.mkdir()
    result = run(
        *central(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", free_port()),
        env={"IOE_MASTER_KEY": "", "IOE_MASTER_KEY_FILE": str(folder)},
    )
    assert_one_clear_line(result, ExitCode.CONFIG, "master.key")


def test_central_with_a_master_key_file_that_is_not_text_exits_with_code_2(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_bytes(b"\xff\xfe" * 32 + b"\n")
    key_file.chmod(0o600)
    result = run(
        *central(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", free_port()),
        env={"IOE_MASTER_KEY": "", "IOE_MASTER_KEY_FILE": str(key_file)},
    )
    assert_one_clear_line(result, ExitCode.CONFIG, str(key_file), "not text")


def test_central_with_an_invalid_setting_exits_with_code_2(tmp_path: Path) -> None:
    result = run(
        *central(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", free_port()),
        env={"IOE_MQTT_SHARED": "perhaps"},
    )
    assert result.returncode == ExitCode.CONFIG, result.stderr
    assert "Traceback" not in result.stderr


# -- SIGTERM while starting --------------------------------------------------------------


def running_ioe_code(pid: int) -> bool:
    """True once the process runs `ioe`'s own code: it catches SIGTERM (the first thing its
    entry point does) or has loaded an installed package's extension module (which `ioe`'s
    imports do, all after that). Before, the Python interpreter itself is still starting:
    tens of milliseconds, more on a loaded machine, that no program can shorten."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return True  # ended already: the test reports how
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.MULTILINE)[1], 16)
    if caught & (1 << (signal.SIGTERM - 1)):
        return True
    return re.search(r"(site|dist)-packages/\S+\.so", maps) is not None


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("server", ["central", "edge"])
def test_sigterm_at_any_moment_of_the_start_is_a_clean_stop(tmp_path: Path, server: str) -> None:
    """SIGTERM during the imports, the settings, the queue or migrations, or once serving:
    exit 0 and no traceback, never killed by the signal (status 143, nothing logged). The
    delays grow until the serving loop is the one that got it, so every part of the start
    is covered however fast this machine is."""
    delay = 0.05
    while True:
        work = tmp_path / f"after-{delay:.3f}"
        work.mkdir()
        if server == "central":
            command = central(f"sqlite+aiosqlite:///{work / 'c.db'}", free_port())
        else:
            command = ["edge", "run", "--config", str(edge_config(work, port=free_port()))]
        started = time.monotonic()
        proc = subprocess.Popen(ioe_command(*command), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            while proc.poll() is None and not running_ioe_code(proc.pid):
                assert time.monotonic() - started < PROMPTLY, "the interpreter never started"
                time.sleep(0.002)
            time.sleep(max(0.0, started + delay - time.monotonic()))
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=PROMPTLY)
        finally:
            proc.kill()
            proc.wait()
        assert proc.returncode == ExitCode.OK, f"SIGTERM after {delay}s: {proc.returncode}\n{err}"
        assert "Traceback" not in out + err and "Task was destroyed" not in err, err
        if "SIGTERM received: stopping" in err:  # logged by the serving loop
            break
        delay = min(delay * 1.5, delay + 0.4)
        assert delay < PROMPTLY, "never got as far as serving"


SWALLOWING_START = """
import os, signal, sys, time, weakref
from ioe.starting import stop_cleanly_while_starting

stop_cleanly_while_starting()


class Module:
    pass


def callback(_):
    # Where an import lock's weakref callback runs: an exception raised here is printed as
    # "Exception ignored in ..." and dropped. SIGTERM lands right here.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.2)


held = Module()
ref = weakref.ref(held, callback)
del held
print("the start went on", flush=True)
time.sleep(30)
"""


def test_sigterm_where_an_exception_would_be_dropped_still_stops() -> None:
    """The signal can land where Python drops exceptions (a weakref callback, as importlib's
    module locks use): the start must stop there, with 0 and no traceback, not go on."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", SWALLOWING_START], capture_output=True,
                          text=True, timeout=PROMPTLY)  # fmt: skip
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "SIGTERM received while starting: stopped" in proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert "the start went on" not in proc.stdout
    assert time.monotonic() - started < 10


def test_sigterm_still_kills_a_command_that_is_not_a_server() -> None:
    """`ioe db check` stopped while it waits on its database has not checked anything: it
    must not end with exit 0 as a server that stops does."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        proc = subprocess.Popen(ioe_command("db", "check", "--db",
                                            f"postgresql+asyncpg://ioe@127.0.0.1:{port}/ioe"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        try:
            silent.settimeout(PROMPTLY)
            connection, _ = silent.accept()  # the command is at work
            with connection:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=PROMPTLY)
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGTERM
