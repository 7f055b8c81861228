"""Per-edge accounts and ACLs on a real Mosquitto, run with the files `ioe broker-config` wrote.

Mosquitto drops a denied publish or delivery silently, so each attack is followed by an
allowed message on the same path (the positive control): once the control has arrived, the
attacker's earlier message would have arrived before it if the broker had let it through.
"""

import asyncio
import json
import os
import signal
import stat

import pytest

from central.broker.files import write_broker_files
from central.broker.mosquitto import Listener
from central.broker.passwords import verify
from central.db.engine import make_engine
from central.edges.rotation import revoke_edge
from central.keys import MasterKey
from protocol.topics import (
    ACT_FILTER,
    CENTRAL_STATE,
    STATE_FILTER,
    ack_topic,
    act_topic,
    ref_topic,
    shared,
    state_topic,
)
from runtime.errors import MqttConnectError, MqttError
from runtime.mqtt import BrokerAddress, Message, MqttConnection
from tests.central.broker.conftest import (
    CENTRALS,
    EDGES,
    OTHER_SITE,
    SITE,
    AclBroker,
    private_layout,
)

A_ACT, B_ACT = act_topic(*EDGES["a"]), act_topic(*EDGES["b"])
A_STATE, B_STATE = state_topic(*EDGES["a"]), state_topic(*EDGES["b"])
A_ACK, B_ACK = ack_topic(*EDGES["a"]), ack_topic(*EDGES["b"])


async def until(conn: MqttConnection, last_topic: str, timeout: float = 5.0) -> list[Message]:
    """Every message up to and including the first one on ``last_topic``."""
    seen: list[Message] = []

    async def read() -> None:
        async for message in conn.messages():
            seen.append(message)
            if message.topic == last_topic:
                return

    await asyncio.wait_for(read(), timeout)
    return seen


async def subscribe_or_refused(conn: MqttConnection, topic_filter: str) -> bool:
    """Subscribe; False when the broker refused the subscription in its SUBACK."""
    try:
        await conn.subscribe(topic_filter)
    except MqttError:
        return False
    return True


def test_files_hold_hashes_only_and_are_private(acl_broker: AclBroker) -> None:
    passwd = (acl_broker.out_dir / "passwd").read_text()
    acl = (acl_broker.out_dir / "acl").read_text()
    conf = (acl_broker.out_dir / "mosquitto.conf").read_text()
    for name in ("passwd", "acl"):
        mode = stat.S_IMODE((acl_broker.out_dir / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {mode:o}"
    hashes = dict(line.split(":", 1) for line in passwd.splitlines())
    assert set(hashes) == {
        "central-1",
        "central-2",
        "plant-1/edge-a",
        "plant-1/edge-b",
        "plant-2/edge-c",
    }
    for account in acl_broker.accounts.values():
        assert verify(account.password, hashes[account.username])
        assert account.password not in passwd + acl + conf
    assert "allow_anonymous false" in conf and "use_username_as_clientid true" in conf
    assert acl_broker.files.edges_without_account == ["plant-1/edge-old"]
    assert "edge-old" not in passwd + acl


async def test_anonymous_wrong_password_and_unprovisioned_clients_are_refused(
    acl_broker: AclBroker,
) -> None:
    address = acl_broker.address("a")
    anonymous = BrokerAddress("127.0.0.1", acl_broker.port)
    wrong = BrokerAddress("127.0.0.1", acl_broker.port, address.username, "not-the-password")
    stranger = BrokerAddress("127.0.0.1", acl_broker.port, "plant-1/edge-old", "guess")
    for refused in (anonymous, wrong, stranger):
        with pytest.raises(MqttConnectError, match="refused|lost"):
            await MqttConnection.open(refused, timeout=5)
    async with await MqttConnection.open(address, timeout=5):  # the right login works
        pass


async def test_an_edge_cannot_publish_as_another_edge(acl_broker: AclBroker) -> None:
    async with (
        await acl_broker.connect("central-1") as central,
        await acl_broker.connect("a") as edge_a,
    ):
        await central.subscribe(ACT_FILTER)
        await edge_a.publish(B_ACT, b'[{"forged": true}]')
        await edge_a.publish(A_ACT, b'[{"own": true}]')
        received = await until(central, A_ACT)
    assert [(m.topic, m.payload) for m in received] == [(A_ACT, b'[{"own": true}]')]


async def test_an_edge_cannot_read_another_edges_acks(acl_broker: AclBroker) -> None:
    async with (
        await acl_broker.connect("central-1") as central,
        await acl_broker.connect("a") as edge_a,
        await acl_broker.connect("b") as edge_b,
    ):
        await edge_b.subscribe(B_ACK)
        # Asking for B's acks by name and by wildcard: Mosquitto 2.0 grants both
        # subscriptions and checks the ACL on every delivery; a broker may refuse instead.
        named = await subscribe_or_refused(edge_a, B_ACK)
        await edge_a.subscribe("ioe/v1/#")
        await edge_a.subscribe(A_ACK)
        await central.publish(B_ACK, b'["for b"]')
        await central.publish(A_ACK, b'["for a"]')
        to_a = await until(edge_a, A_ACK)
        to_b = await until(edge_b, B_ACK)
    assert {m.topic for m in to_a} == {A_ACK}, f"named subscription granted: {named}"
    assert [m.payload for m in to_b] == [b'["for b"]']


async def test_an_edge_cannot_publish_central_state_or_a_retained_state_of_another(
    acl_broker: AclBroker,
) -> None:
    forged = json.dumps({"online": True, "forged": True}).encode()
    async with await acl_broker.connect("a") as edge_a:
        await edge_a.publish(CENTRAL_STATE, forged, retain=True)
        await edge_a.publish(B_STATE, forged, retain=True)
        await edge_a.publish(A_STATE, b'{"online": true}', retain=True)
        async with (
            await acl_broker.connect("b") as edge_b,
            await acl_broker.connect("central-2") as watcher,
            await acl_broker.connect("central-1") as central,
        ):
            await edge_b.subscribe(CENTRAL_STATE)  # a retained forgery would arrive now
            await watcher.subscribe(STATE_FILTER)
            await central.publish(CENTRAL_STATE, b'{"online": true}')
            await edge_a.publish(A_STATE, b'{"marker": true}')
            seen_by_b = await until(edge_b, CENTRAL_STATE)
            states = await until(watcher, A_STATE)
    assert [m.payload for m in seen_by_b] == [b'{"online": true}']
    assert [(m.topic, m.payload, m.retain) for m in states] == [
        (A_STATE, b'{"online": true}', True)
    ]


async def test_an_edge_cannot_take_over_another_edges_client_id(acl_broker: AclBroker) -> None:
    async with await acl_broker.connect("b", client_id="plant-1/edge-b") as edge_b:
        for stolen_id in ("plant-1/edge-b", "ioe-edge-plant-1-edge-b"):
            async with await acl_broker.connect("a", client_id=stolen_id):
                pass
        assert not edge_b.closed.done(), "edge b was pushed off by edge a"
        async with await acl_broker.connect("central-1") as central:
            await central.subscribe(STATE_FILTER)
            await edge_b.publish(B_STATE, b'{"still": "here"}')
            assert [m.topic for m in await until(central, B_STATE)] == [B_STATE]
        # The control: a second login as b itself does take the session over, so the test
        # would see a takeover if a could cause one.
        async with await acl_broker.connect("b"):
            await asyncio.wait_for(asyncio.shield(edge_b.closed), 5)


async def test_central_reads_every_act_plain_and_shared_and_answers(
    acl_broker: AclBroker,
) -> None:
    c_act = act_topic(*EDGES["c"])
    ref_a, ref_c = ref_topic(SITE, "products"), ref_topic(OTHER_SITE, "products")
    async with (
        await acl_broker.connect("central-1") as plain,
        await acl_broker.connect("central-2") as sharing,
        await acl_broker.connect("a") as edge_a,
        await acl_broker.connect("c") as edge_c,
    ):
        await plain.subscribe(ACT_FILTER)
        await sharing.subscribe(shared(ACT_FILTER))
        await edge_a.subscribe(A_ACK, f"ioe/v1/{SITE}/ref/#", f"ioe/v1/{OTHER_SITE}/ref/#")
        await edge_c.subscribe(f"ioe/v1/{OTHER_SITE}/ref/#")
        await edge_a.publish(A_ACT, b"[1]")
        await edge_c.publish(c_act, b"[2]")
        for central in (plain, sharing):  # the only member of its group gets every batch
            assert [m.topic for m in await until(central, c_act)] == [A_ACT, c_act]
        await plain.publish(ref_c, b"other site")
        await plain.publish(ref_a, b"own site")
        await plain.publish(A_ACK, b'["ack"]')
        to_a = await until(edge_a, A_ACK)
        to_c = await until(edge_c, ref_c)
    assert [m.topic for m in to_a] == [ref_a, A_ACK]
    assert [m.payload for m in to_c] == [b"other site"]


async def test_a_revoked_edge_loses_its_account_at_the_next_broker_config(
    acl_broker: AclBroker, migrated_database_url: str
) -> None:
    """The stolen device keeps its password, but the broker stops knowing it once the
    configuration is written again and the broker reloaded (SIGHUP)."""
    async with await acl_broker.connect("a"):  # before: the login works
        pass
    site, edge = EDGES["a"]
    engine = make_engine(migrated_database_url)
    try:
        async with engine.begin() as conn:
            await revoke_edge(conn, site=site, edge_id=edge)
    finally:
        await engine.dispose()
    await write_broker_files(
        db_url=migrated_database_url,
        master_key=MasterKey(os.urandom(32)),
        out_dir=acl_broker.out_dir,
        layout=private_layout(acl_broker.out_dir, [Listener("127.0.0.1", acl_broker.port)]),
        centrals=CENTRALS,
    )
    assert f"user {site}/{edge}\n" not in (acl_broker.out_dir / "acl").read_text()
    acl_broker.proc.popen.send_signal(signal.SIGHUP)
    for _ in range(100):  # the reload is asynchronous: wait for the refusal
        try:
            async with await acl_broker.connect("a"):
                pass
        except MqttConnectError:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the revoked edge still logs in after broker-config and a reload")
    async with await acl_broker.connect("b"):  # the others keep theirs
        pass
