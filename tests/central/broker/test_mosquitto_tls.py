"""TLS to a real Mosquitto with the listener `ioe broker-config` wrote: the edge's and
central's own settings connect with a CA file and client certificates (mutual TLS); a client
without a valid certificate, or one that cannot verify the broker, is refused."""

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from central.broker.accounts import BrokerAccount
from central.broker.files import write_broker_files
from central.broker.mosquitto import Listener
from central.keys import MasterKey
from central.settings import CentralSettings
from edge.config import validate_config
from harness import Proc, free_port, wait_for_port
from protocol.topics import ACT_FILTER, act_topic
from runtime.errors import BrokerUrlError, MqttConnectError
from runtime.mqtt import BrokerAddress, MqttConnection
from tests.central.broker.certs import Issued, TestCA
from tests.central.broker.conftest import (
    EDGES,
    mosquitto_binary,
    private_layout,
    provision_with_accounts,
)


@dataclass
class TlsBroker:
    mutual_port: int  # require_certificate: a client certificate from the CA is needed
    server_port: int  # server-only TLS
    ca: TestCA
    edge_cert: Issued
    edge_a: BrokerAccount
    master_key_hex: str


@pytest.fixture
async def tls_broker(migrated_database_url: str, tmp_path: Path) -> AsyncIterator[TlsBroker]:
    binary = mosquitto_binary()
    accounts = await provision_with_accounts(migrated_database_url)
    ca = TestCA(tmp_path / "pki")
    server = ca.issue("broker", server=True)
    mutual, server_only = free_port(), free_port()
    tls = {"cafile": str(ca.cert_file), "certfile": str(server.cert), "keyfile": str(server.key)}
    raw_key = os.urandom(32)
    out_dir = tmp_path / "broker"
    await write_broker_files(
        db_url=migrated_database_url,
        master_key=MasterKey(raw_key),
        out_dir=out_dir,
        layout=private_layout(
            out_dir,
            [
                Listener("127.0.0.1", mutual, **tls, require_certificate=True),
                Listener("127.0.0.1", server_only, **tls),
            ],
        ),
        centrals=["central-1"],
    )
    proc = Proc([binary, "-c", str(out_dir / "mosquitto.conf")], tmp_path / "mosquitto.log")
    try:
        wait_for_port(mutual)
        wait_for_port(server_only)
        edge_cert = ca.issue("plant-1/edge-a")
        yield TlsBroker(mutual, server_only, ca, edge_cert, accounts["a"], raw_key.hex())
    finally:
        proc.stop()


async def test_edge_and_central_settings_connect_over_mutual_tls(tls_broker: TlsBroker) -> None:
    url = f"mqtts://127.0.0.1:{tls_broker.mutual_port}"
    edge = validate_config(
        {
            "site": EDGES["a"][0],
            "edge_id": EDGES["a"][1],
            "secret": "s" * 32,
            "mqtt_url": url,
            "mqtt_username": tls_broker.edge_a.username,
            "mqtt_password": tls_broker.edge_a.password,
            "mqtt_ca_file": str(tls_broker.ca.cert_file),
            "mqtt_cert_file": str(tls_broker.edge_cert.cert),
            "mqtt_key_file": str(tls_broker.edge_cert.key),
        }
    )
    central_cert = tls_broker.ca.issue("central-1")
    central = CentralSettings(
        mqtt_url=url,
        mqtt_username="central-1",  # the password is derived from the master key
        master_key=tls_broker.master_key_hex,
        mqtt_ca_file=tls_broker.ca.cert_file,
        mqtt_cert_file=central_cert.cert,
        mqtt_key_file=central_cert.key,
    )
    assert tls_broker.edge_a.password not in repr(edge.broker_address()) + repr(edge)
    async with (
        await MqttConnection.open(central.broker_address(), timeout=5) as central_link,
        await MqttConnection.open(edge.broker_address(), timeout=5) as edge_link,
    ):
        await central_link.subscribe(ACT_FILTER)
        await edge_link.publish(act_topic(*EDGES["a"]), b"[]")
        async for message in central_link.messages():
            assert message.topic == act_topic(*EDGES["a"])
            break


def _address(port: int, account: BrokerAccount, **tls: object) -> BrokerAddress:
    return BrokerAddress(
        "127.0.0.1",
        port,
        account.username,
        account.password,
        tls=True,
        **tls,  # type: ignore[arg-type]
    )


async def test_a_client_without_a_valid_certificate_is_refused(
    tls_broker: TlsBroker, tmp_path: Path
) -> None:
    ca_file = str(tls_broker.ca.cert_file)
    stranger = TestCA(tmp_path / "other-pki", "someone else's CA").issue("plant-1/edge-a")
    port, account = tls_broker.mutual_port, tls_broker.edge_a
    refused = {
        "no client certificate": _address(port, account, ca_file=ca_file),
        "certificate from another CA": _address(
            port, account, ca_file=ca_file, cert_file=str(stranger.cert), key_file=str(stranger.key)
        ),
        "broker not verifiable (system CAs only)": _address(
            port,
            account,
            cert_file=str(tls_broker.edge_cert.cert),
            key_file=str(tls_broker.edge_cert.key),
        ),
    }
    for case, address in refused.items():
        with pytest.raises(MqttConnectError):
            await MqttConnection.open(address, timeout=5)
            pytest.fail(f"connected with {case}")
    good = _address(
        port,
        account,
        ca_file=ca_file,
        cert_file=str(tls_broker.edge_cert.cert),
        key_file=str(tls_broker.edge_cert.key),
    )
    async with await MqttConnection.open(good, timeout=5):
        pass


async def test_server_only_tls_needs_the_ca_and_still_a_login(tls_broker: TlsBroker) -> None:
    port, account = tls_broker.server_port, tls_broker.edge_a
    ca_file = str(tls_broker.ca.cert_file)
    async with await MqttConnection.open(_address(port, account, ca_file=ca_file), timeout=5):
        pass
    plain = BrokerAddress("127.0.0.1", port, account.username, account.password)
    anonymous = BrokerAddress("127.0.0.1", port, tls=True, ca_file=ca_file)
    for refused in (plain, anonymous):
        with pytest.raises(MqttConnectError):
            await MqttConnection.open(refused, timeout=3)


def test_tls_settings_that_cannot_work_are_refused_when_read(tmp_path: Path) -> None:
    base = BrokerAddress.parse("mqtt://127.0.0.1:1883")
    with pytest.raises(BrokerUrlError, match="mqtts://"):
        base.with_options(ca_file=tmp_path / "ca.pem")
    tls = BrokerAddress.parse("mqtts://127.0.0.1")
    with pytest.raises(BrokerUrlError, match="does not exist"):
        tls.with_options(ca_file=tmp_path / "missing.pem")
    with pytest.raises(BrokerUrlError, match="needs its key"):
        tls.with_options(cert_file=tmp_path / "client.pem")
