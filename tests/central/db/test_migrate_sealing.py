"""Migration 0005: the secrets of edges registered before it are sealed, not changed."""

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.tables import edges
from central.edges.registry import load_edges
from central.edges.sealing import EdgeSecretBox
from central.errors import MigrationError
from central.keys import MasterKey

OLD_SECRET = "clear-secret-of-an-edge-from-before-0005"


async def test_existing_edges_keep_their_keys_sealed(database_url: str) -> None:
    await upgrade(database_url, "0003")
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO edges (site, edge_id, secret, created_at, online, queue_depth, "
                "last_ack_seq, version, last_seq) VALUES ('plant-1', 'edge-1', "
                f"'{OLD_SECRET}', '2026-11-01 10:00:00', false, 0, 0, '', 7)"
            )
        # Without the master key there is nothing to seal with: refused, nothing changed.
        with pytest.raises(MigrationError, match="IOE_MASTER_KEY"):
            await upgrade(database_url)
        async with engine.connect() as conn:
            version = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).all()
        assert version == [("0003",)]
        master = MasterKey(bytes(range(32)))
        await upgrade(database_url, master_key=master)
        async with engine.connect() as conn:
            sealed = (await conn.execute(select(edges.c.secret_sealed))).scalar_one()
            known = await load_edges(conn, [("plant-1", "edge-1")], box=EdgeSecretBox(master))
    finally:
        await engine.dispose()
    record = known[("plant-1", "edge-1")]
    # The edge's key did not change: what it queued before the upgrade still verifies.
    assert (record.secret, record.key_version, record.last_seq) == (OLD_SECRET, 1, 7)
    assert OLD_SECRET not in sealed
    if make_url(database_url).get_backend_name() == "sqlite":
        path = Path(make_url(database_url).database or "")
        on_disk = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert OLD_SECRET.encode() not in on_disk  # not even in the file's free pages
