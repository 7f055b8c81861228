"""Service tiers for the whole suite.

Every test that talks to a database or a broker takes ``database_url`` / ``mqtt_url``.
Locally they run on SQLite and the embedded broker; when ``IOE_TEST_DATABASE_URL`` /
``IOE_TEST_MQTT_URL`` are set (CI sets both) the same tests also run on PostgreSQL and
Mosquitto, and without them those tiers are skipped with a visible reason.

``migrated_database_url`` is a database already at the newest schema: on SQLite a copy of a
file migrated once per session, on PostgreSQL one database reset between tests. Only tests of
the migrations themselves take the empty ``database_url`` and run the upgrade.
"""

import asyncio
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Proc, free_port, ioe_command, wait_for_port

# Central signs its state with a key derived from the master key, which PostgreSQL deployments
# must configure; the test session has one, and the subprocesses it starts inherit it.
os.environ.setdefault("IOE_MASTER_KEY", "5e" * 32)

PG_URL = os.environ.get("IOE_TEST_DATABASE_URL", "")
# Central's master key for the whole session (subprocesses inherit it): PostgreSQL needs one
# configured. tests/central/test_keys.py and tests/central/edges/test_sealing.py cover the
# key file an embedded central makes for itself.
os.environ.setdefault("IOE_MASTER_KEY", "5e" * 32)
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


# Each DROP DATABASE waits for a checkpoint; run side by side, the drops share them.
PG_PARALLEL_DROPS = 8


async def _pg_drop_all(dsn: str, names: list[str]) -> None:
    slots = asyncio.Semaphore(PG_PARALLEL_DROPS)

    async def drop(name: str) -> None:
        async with slots:
            await _pg_exec(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    results = await asyncio.gather(*(drop(name) for name in names), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:  # every drop was tried; say what went wrong
        raise failed[0]


@pytest.fixture(scope="session")
def _pg_databases() -> Iterator[list[str]]:
    """Databases made for this run on the shared server; dropped at the end of the session."""
    made: list[str] = []
    yield made
    if made:
        asyncio.run(_pg_drop_all(_pg_admin_dsn(PG_URL), made))


def _fresh_pg_database(made: list[str], template: str | None = None) -> str:
    """A new database on the shared server (a copy of ``template`` when given); its URL."""
    name = f"ioe_test_{uuid.uuid4().hex[:12]}"
    create = f'CREATE DATABASE "{name}"'
    if template is not None:
        create += f' TEMPLATE "{template}"'
    asyncio.run(_pg_exec(_pg_admin_dsn(PG_URL), create))
    made.append(name)
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}"


def _migrated_sqlite_file(path: Path) -> None:
    """Run every migration on a new SQLite file and leave it whole in that one file.

    ``upgrade`` leaves the file in WAL mode; the checkpoint moves every page into the main
    file, and closing the last connection removes the -wal/-shm files, so a plain file copy
    is the complete database.
    """
    from central.db.migrate import upgrade

    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    conn = sqlite3.connect(path)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "the migrated template is still in use"
    finally:
        conn.close()
    leftovers = [p for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    assert not leftovers, f"the migrated template left {leftovers} behind"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / "central.db"
    _migrated_sqlite_file(path)
    return path


@pytest.fixture(scope="session")
def _pg_template(_pg_databases: list[str]) -> str:
    """A PostgreSQL database migrated to head once per session (its name); tests get copies
    made with ``CREATE DATABASE ... TEMPLATE``, which needs the template to have no open
    connection: ``upgrade`` disposes its engine before returning."""
    from central.db.migrate import upgrade

    url = _fresh_pg_database(_pg_databases)
    asyncio.run(upgrade(url))
    return url.rpartition("/")[2]


class PgWorkDatabase:
    """One PostgreSQL database at the newest schema, reused by every test of the session in
    turn and put back to the migrated state before each: other sessions on it are ended,
    every table is emptied (identities restarted) and the rows the migrations wrote are put
    back. Much cheaper than a CREATE DATABASE (and its DROP) per test.

    Tables are emptied with DELETE, foreign-key triggers off for the session, not TRUNCATE:
    a test leaves a few rows, and TRUNCATE gives every table new files (~65 ms a reset
    against ~20 ms)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seed_rows: dict[str, list[tuple[object, ...]]] = {}
        self.tables: list[str] = []
        self.sequences: list[str] = []

    async def learn(self) -> None:
        """Remember the tables and the rows the migrations left (e.g. the SSCC sequence)."""
        import asyncpg

        conn = await asyncpg.connect(_pg_admin_dsn(self.url))
        try:
            self.tables = [
                row["tablename"]
                for row in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            ]
            self.sequences = [
                row["sequencename"]
                for row in await conn.fetch(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
                )
            ]
            for table in self.tables:
                rows = await conn.fetch(f'SELECT * FROM "{table}"')
                if rows:
                    self.seed_rows[table] = [tuple(row.values()) for row in rows]
        finally:
            await conn.close()

    async def reset(self) -> None:
        """Back to the migrated state, whatever the previous test left connected or written."""
        import asyncpg

        conn = await asyncpg.connect(_pg_admin_dsn(self.url))
        try:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            await conn.execute(
                "SET session_replication_role = replica;"
                + "".join(f'DELETE FROM "{table}";' for table in self.tables)
                + "".join(f'ALTER SEQUENCE "{seq}" RESTART;' for seq in self.sequences)
                + "SET session_replication_role = DEFAULT;"
            )
            for table, rows in self.seed_rows.items():
                await conn.copy_records_to_table(table, records=rows)
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def _pg_work(_pg_template: str, _pg_databases: list[str]) -> PgWorkDatabase:
    """The session's reusable PostgreSQL database, a copy of the migrated template."""
    work = PgWorkDatabase(_fresh_pg_database(_pg_databases, _pg_template))
    asyncio.run(work.learn())
    return work


@pytest.fixture(params=["sqlite", "postgresql"])
def database_tier(request: pytest.FixtureRequest) -> str:
    """The database tier of the test: ``sqlite`` always, ``postgresql`` when configured."""
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL tier: IOE_TEST_DATABASE_URL is not set")
    return str(request.param)


@pytest.fixture
def database_url(database_tier: str, tmp_path: Path, _pg_databases: list[str]) -> str:
    """A fresh, empty database: a SQLite file, or a new database on PostgreSQL. For tests of
    the migrations themselves; everything else takes ``migrated_database_url``."""
    if database_tier == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'central.db'}"
    return _fresh_pg_database(_pg_databases)


@pytest.fixture
def migrated_database_url(
    database_tier: str, tmp_path: Path, request: pytest.FixtureRequest
) -> str:
    """A database at the newest schema holding only what the migrations wrote, the test's
    own while it runs: a copy of the session's migrated SQLite file, or the session's
    PostgreSQL work database reset to that state. No test pays for the migrations."""
    if database_tier == "sqlite":
        return migrated_sqlite_copy(request.getfixturevalue("_sqlite_template"), tmp_path)
    work: PgWorkDatabase = request.getfixturevalue("_pg_work")
    asyncio.run(work.reset())
    return work.url


def migrated_sqlite_copy(template: Path, directory: Path) -> str:
    """Copy the migrated template into ``directory``; the copy's URL."""
    path = directory / "central.db"
    shutil.copyfile(template, path)
    path.chmod(0o600)  # as central creates its database: owner-only
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file, for tests about the embedded default only."""
    return f"sqlite+aiosqlite:///{tmp_path / 'central.db'}"


@pytest.fixture
def migrated_sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """A SQLite database at the newest schema (a copy of the template), for SQLite-only tests."""
    return migrated_sqlite_copy(_sqlite_template, tmp_path)


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
    from harness.stack import KillableBroker

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


def pytest_addoption(parser: pytest.Parser) -> None:
    """The fault-injection suite's knobs (tests/faults): CI runs a few seeded runs per tier;
    a soak asks for more, or replays one seed."""
    group = parser.getgroup("faults", "fault injection (tests/faults)")
    group.addoption("--runs", type=int, default=3, help="seeded runs per tier (default 3)")
    group.addoption("--first-seed", type=int, default=1, help="the first seed of the runs")
    group.addoption(
        "--fault-seed", type=int, action="append", default=[], help="run exactly this seed"
    )
    group.addoption(
        "--fault-window", type=float, default=3.0, help="seconds of scanning under faults"
    )
    group.addoption("--fault-log", default=None, help="append one JSON line per run here")
