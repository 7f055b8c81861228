"""Edge secrets at rest: a stolen database (file, dump or backup) gives no edge key away."""

import stat
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from central.actions.processor import ActionProcessor
from central.api.app import create_app
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.tables import edges, metadata, processed_actions
from central.errors import MasterKeyError
from central.settings import CentralSettings
from protocol import AckResult, build_envelope, encode_batch
from tests.central.conftest import EDGE, SITE, Central


def database_bytes(url: str) -> bytes:
    """Everything SQLite keeps on disk for the database: the file and its WAL."""
    path = Path(make_url(url).database or "")
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


async def every_row_as_text(central: Central) -> str:
    """A dump of every table, as a thief with the database would read it."""
    dump = []
    for table in metadata.sorted_tables:
        dump += [repr(tuple(row)) for row in await central.rows(f"SELECT * FROM {table.name}")]
    return "\n".join(dump)


async def test_the_database_holds_no_edge_secret(central: Central) -> None:
    provisioned = await central.client.post("/api/v1/edges", json={"site": SITE, "edge_id": "e-2"})
    rotated = await central.client.post(f"/api/v1/edges/{SITE}/{EDGE}/rotate-secret")
    keys = [
        central.secrets[EDGE],  # now the previous key, still accepted
        provisioned.json()["secret"],
        rotated.json()["secret"],
    ]
    dump = await every_row_as_text(central)
    assert "v1." in dump  # the sealed keys are there...
    for key in keys:
        assert key not in dump  # ...and no key in clear, in any table
    if central.engine.dialect.name == "sqlite":
        on_disk = database_bytes(central.settings.db_url)
        for key in keys:
            assert key.encode() not in on_disk


async def test_a_sealed_key_copied_onto_another_edge_does_not_open(central: Central) -> None:
    await central.provision("e-2")
    # The attack: with write access to the database, give e-2 the sealed key of edge-1, whose
    # clear key the attacker knows, to speak for e-2.
    async with central.engine.begin() as conn:
        sealed = (
            await conn.execute(select(edges.c.secret_sealed).where(edges.c.edge_id == EDGE))
        ).scalar_one()
        await conn.execute(
            update(edges).where(edges.c.edge_id == "e-2").values(secret_sealed=sealed)
        )
    forged = central.env(
        "lp.move", {"lp": "X", "to_location": "A"}, edge="e-2", secret=central.secrets[EDGE]
    )
    with pytest.raises(MasterKeyError, match="does not open"):
        await central.send(forged, edge="e-2")
    assert await central.count("processed_actions") == 0


async def test_another_master_key_opens_no_edge_key(central: Central) -> None:
    other = CentralSettings(db_url=central.settings.db_url, master_key="77" * 32)
    processor = ActionProcessor(central.engine, other)
    envelope = central.env("lp.move", {"lp": "X", "to_location": "A"})
    with pytest.raises(MasterKeyError, match="another master key"):
        await processor.process_message(
            encode_batch([envelope]), topic_site=SITE, topic_edge=EDGE, via="mqtt"
        )
    async with central.engine.connect() as conn:
        assert (await conn.execute(select(processed_actions))).all() == []


async def test_an_embedded_central_keeps_its_key_file_and_database_owner_only(
    tmp_path: Path,
) -> None:
    db = tmp_path / "var" / "central.db"
    url = f"sqlite+aiosqlite:///{db}"
    settings = CentralSettings(db_url=url, master_key=None)  # nothing configured: the default
    await upgrade(url, master_key=settings.load_master_key())
    engine = make_engine(url)
    try:
        app = create_app(settings, engine=engine)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://central"
        ) as client:
            response = await client.post("/api/v1/edges", json={"site": SITE, "edge_id": EDGE})
            secret = response.json()["secret"]
            envelope = build_envelope(
                type="lp.move",
                site=SITE,
                edge=EDGE,
                station="s",
                operator="o",
                seq=1,
                secret=secret,
                body={"lp": "X", "to_location": "A"},
            )
            ack = await client.post("/api/v1/actions", json=envelope)
            assert ack.json()["result"] == AckResult.CONFLICT  # verified, then LP_NOT_FOUND
            for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), db.parent / "central.key"):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM edges"))).scalar_one() == 1
    finally:
        await engine.dispose()
    assert secret.encode() not in database_bytes(url)
