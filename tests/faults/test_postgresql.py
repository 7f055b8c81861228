"""Seeded fault runs on Mosquitto, two central replicas on one PostgreSQL sharing the ingest
subscription, and three edges."""

from collections.abc import Iterator

import pytest

from tests.conftest import PG_URL, _fresh_pg_database
from tests.faults.site import mosquitto_binary
from tests.faults.suite import SiteHolder, play_seed

TIER = "postgresql"

pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="PostgreSQL tier: IOE_TEST_DATABASE_URL is not set"),
    pytest.mark.skipif(
        mosquitto_binary() is None, reason="fault suite: the mosquitto binary is not installed"
    ),
]


@pytest.fixture(scope="module")
def holder(
    tmp_path_factory: pytest.TempPathFactory, _pg_databases: list[str]
) -> Iterator[SiteHolder]:
    sites = SiteHolder(
        tmp_path_factory.mktemp("faults-postgresql"),
        lambda work: _fresh_pg_database(_pg_databases),
        replicas=2,
    )
    yield sites
    sites.discard()


def test_seeded_run(holder: SiteHolder, fault_seed: int, pytestconfig: pytest.Config) -> None:
    """Every operator-acknowledged scan at central once, nothing refused there, ledger whole."""
    play_seed(holder, TIER, fault_seed, pytestconfig)
