"""Tiers for the end-to-end tests: embedded broker + SQLite always; Mosquitto + PostgreSQL
when IOE_TEST_DATABASE_URL is set and the mosquitto binary is installed. Brokers here are the
test's own (they get killed), never the machine's shared service."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.stack import KillableBroker, Stack
from tests.conftest import PG_URL, _fresh_pg_database


@pytest.fixture(params=["embedded+sqlite", "mosquitto+postgresql"])
def tier(
    request: pytest.FixtureRequest, tmp_path: Path, _pg_databases: list[str]
) -> tuple[str, str]:
    """(broker kind, database URL) of the tier under test."""
    if request.param == "embedded+sqlite":
        return "embedded", f"sqlite+aiosqlite:///{tmp_path / 'central.db'}"
    if not PG_URL:
        pytest.skip("Mosquitto+PostgreSQL tier: IOE_TEST_DATABASE_URL is not set")
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("Mosquitto+PostgreSQL tier: mosquitto binary not installed")
    return "mosquitto", _fresh_pg_database(_pg_databases)


@pytest.fixture
def broker(tier: tuple[str, str], tmp_path: Path) -> Iterator[KillableBroker]:
    """The tier's broker, not yet started."""
    instance = KillableBroker(tier[0], tmp_path)
    yield instance
    instance.kill()


@pytest.fixture
def stack(
    tier: tuple[str, str], broker: KillableBroker, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    """Central and edges wired to the tier's broker and database; logs shown on failure."""
    instance = Stack(tmp_path, db_url=tier[1], mqtt_url=broker.url)
    yield instance
    instance.close()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(instance.logs())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
