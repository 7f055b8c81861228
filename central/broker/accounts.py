"""Broker accounts: one per edge (made at provisioning) and one per central replica.

An edge's MQTT password is random, handed out once in the provisioning answer, and only its
Mosquitto hash is kept. A central replica's password is derived from the master key and its
account name, so a replica needs nothing but ``IOE_MQTT_USERNAME`` besides the master key it
already has, and ``ioe broker-config`` can write its hash without anything being stored.

Usernames: an edge is ``<site>/<edge_id>`` (names never hold a ``/``, so no two edges share
one); a central replica is a plain name such as ``central-1`` (no ``/``, so it never looks
like an edge). With ``use_username_as_clientid`` the username is also the MQTT client id.
"""

import re
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.broker.passwords import mosquitto_hash, new_password
from central.db.tables import edges
from central.errors import InvalidInput
from central.keys import MasterKey
from protocol.types import NAME_PATTERN

DEFAULT_CENTRAL_ACCOUNT = "central-1"
_CENTRAL_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class BrokerAccount:
    """A login to hand to a client; the password is left out of ``repr``."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class EdgeLogin:
    """An edge's entry in the broker's password file and ACL."""

    site: str
    edge_id: str
    password_hash: str

    @property
    def username(self) -> str:
        """The edge's broker username (and client id)."""
        return edge_username(self.site, self.edge_id)


def edge_username(site: str, edge_id: str) -> str:
    """``<site>/<edge_id>``: unique, since neither part may hold a ``/``."""
    return f"{site}/{edge_id}"


def check_central_account(name: str) -> str:
    """A central replica's account name, or InvalidInput saying why it cannot be one."""
    if not _CENTRAL_NAME.match(name):
        raise InvalidInput(
            f"central broker account {name!r} must match {NAME_PATTERN} "
            "(letters, digits, '_', '.', '-')"
        )
    return name


def central_accounts(count: int) -> list[str]:
    """``central-1`` .. ``central-<count>``: one account per replica."""
    if count < 1:
        raise InvalidInput("at least one central broker account is needed")
    return [f"central-{n}" for n in range(1, count + 1)]


def central_password(master_key: MasterKey, account: str) -> str:
    """The broker password of a central replica's account, derived from the master key."""
    check_central_account(account)
    return master_key.derive(f"mqtt-central/{account}").hex()


async def create_edge_account(conn: AsyncConnection, *, site: str, edge_id: str) -> BrokerAccount:
    """Give a registered edge a new broker password (replacing any old one) and return it.

    The answer is the only place the password appears; the database keeps its hash. The new
    password works once ``ioe broker-config`` has written the files and the broker reloaded.
    """
    password = new_password()
    result = await conn.execute(
        update(edges)
        .where(edges.c.site == site, edges.c.edge_id == edge_id)
        .values(mqtt_password_hash=mosquitto_hash(password))
    )
    if result.rowcount != 1:
        raise InvalidInput(f"edge {site}/{edge_id} is not registered")
    return BrokerAccount(edge_username(site, edge_id), password)


async def edge_logins(conn: AsyncConnection) -> tuple[list[EdgeLogin], list[str]]:
    """The edges that get a broker account, and the usernames of those that have none yet
    (provisioned before broker accounts existed: provision them again)."""
    query = (
        select(edges.c.site, edges.c.edge_id, edges.c.mqtt_password_hash)
        .where(edges.c.revoked_at.is_(None))  # a revoked edge loses its account here
        .order_by(edges.c.site, edges.c.edge_id)
    )
    logins, missing = [], []
    for row in await conn.execute(query):
        if row.mqtt_password_hash:
            logins.append(EdgeLogin(row.site, row.edge_id, row.mqtt_password_hash))
        else:
            missing.append(edge_username(row.site, row.edge_id))
    return logins, missing
