"""A migrated central on the tier's database, with an API client and envelope helpers."""

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from central.access.callers import ADMIN_CALLER, OPEN_CALLER
from central.access.tokens import create_token
from central.actions.processor import ActionProcessor
from central.api.app import create_app, wire_app
from central.apply.context import ApplyContext
from central.catalog.locations import create_location
from central.catalog.products import create_product
from central.clock import now
from central.db.engine import make_engine
from central.edges.registry import provision_edge
from central.production.service import create_work_order
from central.settings import CentralSettings
from protocol import Ack, build_envelope, encode_batch
from tests.central.mqtt_plant import Plant, open_plant

SITE = "plant-1"
EDGE = "edge-1"
ADMIN_TOKEN = "root-token"


class Central:
    """One central on a fresh database: engine, processor, API client, and a few shortcuts."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: CentralSettings,
        processor: ActionProcessor,
        client: httpx.AsyncClient,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.processor = processor
        self.client = client
        self.secrets: dict[str, str] = {}
        self.seqs: dict[str, int] = {}

    async def provision(self, edge: str = EDGE, site: str = SITE) -> str:
        """Register an edge through the service; remember its secret."""
        async with self.engine.begin() as conn:
            self.secrets[edge] = await provision_edge(
                conn, site=site, edge_id=edge, box=self.processor.edge_box
            )
        return self.secrets[edge]

    async def seed(self) -> None:
        """Products, locations (SHIP-1 is a shipping location) and WO-1001 released, written
        by the domain operations the API's routes call, as the open API's caller (the routes
        are thin adapters tested on their own; here they would only cost time)."""
        async with self.engine.begin() as conn:
            for code, uom in (("RAW-1", "kg"), ("FG-1", "ea")):
                await create_product(
                    conn, site=SITE, code=code, name=code, uom=uom, caller=OPEN_CALLER
                )
            for code, kind in (
                ("RECV", "receiving"),
                ("A-01", "storage"),
                ("A-02", "storage"),
                ("SHIP-1", "shipping"),
            ):
                await create_location(
                    conn, site=SITE, code=code, name=code, kind=kind, caller=OPEN_CALLER
                )
            ctx = ApplyContext(
                conn, self.settings, self.processor.refs, recorded_at=now(), cause="api"
            )
            await create_work_order(
                ctx,
                caller=OPEN_CALLER,
                site=SITE,
                number="WO-1001",
                product="FG-1",
                qty_planned=Decimal("100"),
                status="released",
            )

    def env(
        self,
        type: str,
        body: dict[str, Any],
        *,
        edge: str = EDGE,
        seq: int | None = None,
        secret: str | None = None,
        ts: datetime | str | None = None,
        id: str | None = None,
        site: str = SITE,
    ) -> dict[str, Any]:
        """A signed envelope from ``edge``, with the edge's next seq unless given."""
        if seq is None:
            seq = self.seqs.get(edge, 0) + 1
        self.seqs[edge] = max(seq, self.seqs.get(edge, 0))
        return build_envelope(
            type=type,
            site=site,
            edge=edge,
            station="st-1",
            operator="op-1",
            seq=seq,
            body=body,
            secret=secret or self.secrets[edge],
            ts=ts,
            id=id,
        )

    async def send(
        self, *envelopes: dict[str, Any], edge: str = EDGE, site: str = SITE
    ) -> list[Ack]:
        """Deliver a batch as MQTT ingest does (on the edge's act topic)."""
        return await self.processor.process_message(
            encode_batch(list(envelopes)), topic_site=site, topic_edge=edge, via="mqtt"
        )

    async def send_one(self, envelope: dict[str, Any]) -> Ack:
        """Deliver one envelope and return its ack."""
        (ack,) = await self.send(envelope)
        return ack

    async def receive(
        self, lp: str, qty: str = "10", *, item: str = "RAW-1", location: str = "RECV", **body: Any
    ) -> Ack:
        """Receive an LP (applied, normally)."""
        return await self.send_one(
            self.env(
                "lp.receive",
                {
                    "item": item,
                    "qty": qty,
                    "uom": body.pop("uom", "kg"),
                    "location": location,
                    "lp": lp,
                    **body,
                },
            )
        )

    async def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of a raw SQL query."""
        async with self.engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql), params)]

    async def count(self, table: str) -> int:
        """Rows in a table."""
        return int((await self.rows(f"SELECT count(*) FROM {table}"))[0][0])

    async def bearer(self, name: str, roles: list[str], sites: list[str]) -> dict[str, str]:
        """An Authorization header for a new token (made straight in the database)."""
        async with self.engine.begin() as conn:
            _, token = await create_token(
                conn, caller=ADMIN_CALLER, name=name, roles=roles, sites=sites
            )
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def _apps() -> dict[bool, FastAPI]:
    """Central's API built once per session, open and guarded, re-wired for each test."""
    return {}


def wired_app(apps: dict[bool, FastAPI], settings: CentralSettings, engine: AsyncEngine) -> FastAPI:
    """The session's app of this kind (guarded or open), pointed at ``engine``."""
    guarded = bool(settings.admin_token)
    if guarded not in apps:
        apps[guarded] = create_app(settings, engine=engine)
    else:
        wire_app(apps[guarded], settings, engine=engine)
    return apps[guarded]


@pytest.fixture
async def central(migrated_database_url: str, _apps: dict[bool, FastAPI]) -> AsyncIterator[Central]:
    """A migrated, empty central with edge-1 provisioned."""
    settings = CentralSettings(db_url=migrated_database_url)
    engine = make_engine(migrated_database_url)
    app = wired_app(_apps, settings, engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://central") as client:
        site = Central(engine, settings, app.state.processor, client)
        await site.provision()
        yield site
    await engine.dispose()


@pytest.fixture
async def guarded(central: Central, _apps: dict[bool, FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    """The same database behind an app that demands tokens (admin token: ADMIN_TOKEN)."""
    settings = CentralSettings(db_url=central.settings.db_url, admin_token=ADMIN_TOKEN)
    app = wired_app(_apps, settings, central.engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central"
    ) as client:
        yield client


@pytest.fixture
async def seeded(central: Central) -> Central:
    """A central with products, locations and WO-1001 released."""
    await central.seed()
    return central


@pytest.fixture
async def plant(migrated_database_url: str, own_broker: str) -> AsyncIterator[Plant]:
    """Central's ingest worker and API on a migrated database, over a broker of the test's
    own, with a device on it (tests/central/mqtt_plant.py)."""
    async with open_plant(migrated_database_url, own_broker) as plant:
        yield plant
