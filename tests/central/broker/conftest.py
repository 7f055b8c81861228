"""A private Mosquitto started with the files `ioe broker-config` wrote from a database holding
three provisioned edges (two on one site, one on another) and an edge provisioned before
broker accounts existed."""

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from central.broker.accounts import BrokerAccount, central_password, create_edge_account
from central.broker.files import BrokerFiles, write_broker_files
from central.broker.mosquitto import BrokerLayout, Listener
from central.db.engine import make_engine
from central.edges.registry import provision_edge
from central.edges.sealing import EdgeSecretBox
from central.keys import MasterKey
from central.settings import CentralSettings
from harness import Proc, free_port, wait_for_port
from runtime.mqtt import BrokerAddress, MqttConnection

SITE, OTHER_SITE = "plant-1", "plant-2"
EDGES = {"a": (SITE, "edge-a"), "b": (SITE, "edge-b"), "c": (OTHER_SITE, "edge-c")}
CENTRALS = ["central-1", "central-2"]


def mosquitto_binary() -> str:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.skip("mosquitto binary not installed")
    return binary


def private_layout(out_dir: Path, listeners: list[Listener]) -> BrokerLayout:
    """No persistence; a broker started as root here stays root, since the temporary
    directories are private to this user."""
    run_as = "root" if os.geteuid() == 0 else None
    return BrokerLayout(str(out_dir), listeners, persistence_dir=None, run_as=run_as)


async def provision_with_accounts(db_url: str) -> dict[str, BrokerAccount]:
    """Provision the edges as the API does: signing secret, then broker account."""
    engine = make_engine(db_url)
    box = EdgeSecretBox(CentralSettings(db_url=db_url).load_master_key())
    accounts = {}
    try:
        async with engine.begin() as conn:
            for name, (site, edge) in EDGES.items():
                await provision_edge(conn, site=site, edge_id=edge, box=box)
                accounts[name] = await create_edge_account(conn, site=site, edge_id=edge)
            await provision_edge(conn, site=SITE, edge_id="edge-old", box=box)  # no account
    finally:
        await engine.dispose()
    return accounts


@dataclass
class AclBroker:
    """The running broker, the accounts' logins, and what broker-config wrote."""

    port: int
    accounts: dict[str, BrokerAccount]
    files: BrokerFiles
    out_dir: Path
    proc: Proc

    def address(self, who: str) -> BrokerAddress:
        account = self.accounts[who]
        return BrokerAddress("127.0.0.1", self.port, account.username, account.password)

    async def connect(self, who: str, **options: object) -> MqttConnection:
        return await MqttConnection.open(self.address(who), timeout=5, **options)  # type: ignore[arg-type]


@pytest.fixture
async def acl_broker(migrated_database_url: str, tmp_path: Path) -> AsyncIterator[AclBroker]:
    binary = mosquitto_binary()
    accounts = await provision_with_accounts(migrated_database_url)
    key = MasterKey(os.urandom(32))
    port = free_port()
    out_dir = tmp_path / "broker"
    files = await write_broker_files(
        db_url=migrated_database_url,
        master_key=key,
        out_dir=out_dir,
        layout=private_layout(out_dir, [Listener("127.0.0.1", port)]),
        centrals=CENTRALS,
    )
    for name in CENTRALS:
        accounts[name] = BrokerAccount(name, central_password(key, name))
    proc = Proc([binary, "-c", str(out_dir / "mosquitto.conf")], tmp_path / "mosquitto.log")
    try:
        wait_for_port(port)
        yield AclBroker(port, accounts, files, out_dir, proc)
    finally:
        proc.stop()
