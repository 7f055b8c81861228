"""Seeded fault runs on Mosquitto, one central on SQLite and three edges."""

from collections.abc import Iterator

import pytest

from tests.faults.site import mosquitto_binary
from tests.faults.suite import SiteHolder, play_seed

TIER = "sqlite"

pytestmark = pytest.mark.skipif(
    mosquitto_binary() is None, reason="fault suite: the mosquitto binary is not installed"
)


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteHolder]:
    sites = SiteHolder(
        tmp_path_factory.mktemp("faults-sqlite"),
        lambda work: f"sqlite+aiosqlite:///{work / 'central.db'}",
        replicas=1,
    )
    yield sites
    sites.discard()


def test_seeded_run(holder: SiteHolder, fault_seed: int, pytestconfig: pytest.Config) -> None:
    """Every operator-acknowledged scan at central once, nothing refused there, ledger whole."""
    play_seed(holder, TIER, fault_seed, pytestconfig)
