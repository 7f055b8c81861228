"""Service tiers for the whole suite.

Every test that talks to a database or a broker takes ``database_url`` / ``mqtt_url``.
Locally they run on SQLite and the embedded broker; when ``IOE_TEST_DATABASE_URL`` /
``IOE_TEST_MQTT_URL`` are set (CI sets both) the same tests also run on PostgreSQL and
Mosquitto, and without them those tiers are skipped with a visible reason.
"""

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Proc, free_port, ioe_command, wait_for_port

PG_URL = os.environ.get("IOE_TEST_DATABASE_URL", "")
MQTT_URL = os.environ.get("IOE_TEST_MQTT_URL", "")


def _pg_admin_dsn(url: str) -> str:
    """asyncpg DSN of the server behind a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _pg_exec(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def _pg_databases() -> Iterator[list[str]]:
    """Databases made for this run on the shared server; dropped at the end of the session."""
    made: list[str] = []
    yield made
    for name in made:
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        asyncio.run(_pg_exec(_pg_admin_dsn(PG_URL), drop))


def _fresh_pg_database(made: list[str]) -> str:
    name = f"ioe_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_exec(_pg_admin_dsn(PG_URL), f'CREATE DATABASE "{name}"'))
    made.append(name)
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, _pg_databases: list[str]) -> str:
    """A fresh, empty database: a SQLite file, or a new database on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'central.db'}"
    if not PG_URL:
        pytest.skip("PostgreSQL tier: IOE_TEST_DATABASE_URL is not set")
    return _fresh_pg_database(_pg_databases)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file, for tests about the embedded default only."""
    return f"sqlite+aiosqlite:///{tmp_path / 'central.db'}"


@pytest.fixture(scope="session")
def embedded_broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The embedded broker (`ioe broker`) in its own process for the whole session."""
    port = free_port()
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    proc = Proc(ioe_command("broker", "--port", str(port)), log)
    try:
        wait_for_port(port)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        proc.stop()


@pytest.fixture(params=["embedded", "mosquitto"])
def mqtt_url(request: pytest.FixtureRequest) -> str:
    """A running broker: the embedded one, or the machine's Mosquitto when configured."""
    if request.param == "embedded":
        return str(request.getfixturevalue("embedded_broker_url"))
    if not MQTT_URL:
        pytest.skip("Mosquitto tier: IOE_TEST_MQTT_URL is not set")
    return MQTT_URL


@pytest.fixture(params=["embedded", "mosquitto"])
def own_broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A broker of the test's own (URL): for tests of central's retained, global state topic,
    which tests sharing one broker would see from each other."""
    from tests.e2e.stack import KillableBroker

    if request.param == "mosquitto" and not MQTT_URL:
        pytest.skip("Mosquitto tier: IOE_TEST_MQTT_URL is not set")
    broker = KillableBroker(request.param, tmp_path)
    broker.start()
    yield broker.url
    broker.kill()


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator["PrivateMosquitto"]:
    """A Mosquitto of the test's own on a free port, safe to kill and restart."""
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("mosquitto binary not installed")
    broker = PrivateMosquitto(tmp_path)
    try:
        yield broker
    finally:
        broker.stop()


class PrivateMosquitto:
    """Start/stop a throwaway Mosquitto listening on 127.0.0.1 only."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 100000\nmax_inflight_messages 100\n"
        )
        self.log = workdir / "mosquitto.log"
        self.proc: Proc | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = Proc([binary, "-c", str(self.conf)], self.log)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None
