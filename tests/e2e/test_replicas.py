"""Two central replicas on one PostgreSQL: a product changed through one is what the other applies.

Each central process caches products and locations for its apply path (central/apply/refs.py).
A replica that changes a product can drop its own copy, but the other replicas only learn of the
change through the ``references`` counter the change bumps in the database. These tests run two
real `ioe central run` processes on one database and change a product's merge rule and unit of
measure through replica A after replica B has cached it: B must apply the new attribute at once.
"""

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from central.db.tables import license_plates, products
from harness.stack import SITE, KillableBroker, Stack
from protocol import build_envelope
from tests.conftest import MQTT_URL, PG_URL, _fresh_pg_database

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="PostgreSQL tier: IOE_TEST_DATABASE_URL is not set"
)

EDGE = "edge-1"


class Site:
    """Replicas A and B of central on one database, and a provisioned edge that signs for both."""

    def __init__(self, a: Stack, b: Stack, secret: str) -> None:
        self.a = a
        self.b = b
        self.secret = secret
        self.seqs = count(1)

    def act(self, replica: Stack, type: str, body: dict[str, Any]) -> tuple[str, str | None]:
        """POST one signed envelope to ``replica``; its ack's (result, code)."""
        env = build_envelope(
            type=type,
            site=SITE,
            edge=EDGE,
            station="st-1",
            operator="op-1",
            seq=next(self.seqs),
            body=body,
            secret=self.secret,
        )
        response = replica.http.post(f"{replica.central_url}/api/v1/actions", json=env)
        assert response.status_code == 200, response.text
        ack = response.json()
        assert (ack["id"], ack["seq"]) == (env["id"], env["seq"])
        return ack["result"], ack.get("code")

    def receive(self, replica: Stack, item: str, lp: str, uom: str) -> tuple[str, str | None]:
        """lp.receive of 5 ``uom`` of ``item`` at RECV as LP ``lp``, through ``replica``."""
        body = {"item": item, "qty": "5", "uom": uom, "location": "RECV", "lp": lp}
        return self.act(replica, "lp.receive", body)

    def lp(self, number: str) -> tuple[Any, ...]:
        """(product code, qty, uom) of an LP, read from the shared database."""

        async def read() -> tuple[Any, ...]:
            engine = create_async_engine(self.a.db_url)
            try:
                async with engine.connect() as conn:
                    query = (
                        select(products.c.code, license_plates.c.qty, license_plates.c.uom)
                        .join(products, products.c.id == license_plates.c.product_id)
                        .where(license_plates.c.number == number)
                    )
                    return tuple((await conn.execute(query)).one())
            finally:
                await engine.dispose()

        return asyncio.run(read())

    def product(self, code: str, uom: str, *, allow_merge: bool = False) -> dict[str, Any]:
        """Create a product through A."""
        body = {"site": SITE, "code": code, "name": code, "uom": uom, "allow_merge": allow_merge}
        return dict(self.a.api("POST", "/products", json=body))

    def change(self, product: dict[str, Any], **fields: Any) -> None:
        """PUT the product through A with ``fields`` changed and everything else as it was."""
        keep = ("name", "uom", "gtin", "type", "shelf_life_days", "allergens", "allow_merge")
        body = {k: product[k] for k in keep} | fields
        changed = self.a.api("PUT", f"/products/{product['id']}", json=body)
        assert {k: changed[k] for k in fields} == fields


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
    _pg_databases: list[str],
    request: pytest.FixtureRequest,
) -> Iterator[Site]:
    """Replicas A and B (A migrates first), the shared broker or one of our own, and a location."""
    workdir = tmp_path_factory.mktemp("replicas")
    db_url = _fresh_pg_database(_pg_databases)
    broker: KillableBroker | None = None
    if MQTT_URL:
        mqtt_url = MQTT_URL
    else:
        broker = KillableBroker("embedded", workdir)
        broker.start()
        mqtt_url = broker.url
    replicas = []
    failed_before = request.session.testsfailed
    try:
        for name in ("a", "b"):
            replica = Stack(workdir / name, db_url=db_url, mqtt_url=mqtt_url)
            replica.workdir.mkdir()
            replicas.append(replica)
            replica.start_central()  # one after the other: A has migrated when B starts
        a, b = replicas
        assert a.central_port != b.central_port
        a.api("POST", "/locations", json={"site": SITE, "code": "RECV", "name": "RECV"})
        secret = a.api("POST", "/edges", json={"site": SITE, "edge_id": EDGE})["secret"]
        yield Site(a, b, secret)
    finally:
        for replica in replicas:
            replica.close()
        if broker is not None:
            broker.kill()
        if request.session.testsfailed > failed_before:
            for name, replica in zip("AB", replicas, strict=False):
                print(f"=== replica {name}\n{replica.logs()}")


def test_merge_rule_changed_through_a_is_what_b_applies(site: Site) -> None:
    """B refuses a merge while P forbids it, and applies it once A allowed merging."""
    product = site.product("P-MERGE", "kg", allow_merge=False)
    assert site.receive(site.b, "P-MERGE", "LP-M1", "kg") == ("applied", None)
    assert site.receive(site.b, "P-MERGE", "LP-M2", "kg") == ("applied", None)
    merge = {"lp": "LP-M1", "into": "LP-M2"}
    assert site.act(site.b, "lp.merge", merge) == ("conflict", "MERGE_NOT_ALLOWED")

    site.change(product, allow_merge=True)

    assert site.act(site.b, "lp.merge", merge) == ("applied", None)
    assert site.lp("LP-M2") == ("P-MERGE", Decimal("10"), "kg")


def test_unit_changed_through_a_is_what_b_applies(site: Site) -> None:
    """B refuses pcs while R is counted in kg, and receives pcs once A changed R's unit."""
    product = site.product("R-UNIT", "kg")
    assert site.receive(site.b, "R-UNIT", "LP-U1", "pcs") == ("conflict", "UOM_MISMATCH")

    site.change(product, uom="pcs")

    assert site.receive(site.b, "R-UNIT", "LP-U1", "pcs") == ("applied", None)
    assert site.lp("LP-U1") == ("R-UNIT", Decimal("5"), "pcs")
