"""Central's SQLite database and the edge's queue are readable by their owner only."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from central.db.engine import make_engine
from edge.queue import ActionQueue
from runtime.files import owner_only_file


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask, under which a plain create gives everyone read access."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(path: Path) -> dict[str, int]:
    found = (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in found if p.exists()}


async def test_central_database_files_are_owner_only(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "var" / "central.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        found = modes(path)  # while open: the file, its WAL and shared memory
    finally:
        await engine.dispose()
    assert set(found) == {"central.db", "central.db-wal", "central.db-shm"}
    assert set(found.values()) == {0o600}


async def test_the_edge_queue_files_are_owner_only(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "data" / "queue.db"
    async with await ActionQueue.open(path, site="plant-1", edge="edge-1", secret="s" * 32) as q:
        await q.enqueue(
            type="lp.move", station="st-1", operator="op-1", body={"lp": "X", "to_location": "A"}
        )
        found = modes(path)
    assert set(found) == {"queue.db", "queue.db-wal", "queue.db-shm"}
    assert set(found.values()) == {0o600}


def test_an_existing_readable_database_is_tightened(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "central.db"
    path.write_bytes(b"")  # made by an earlier version: 0644
    Path(f"{path}-wal").write_bytes(b"")
    assert modes(path)["central.db"] == 0o644
    owner_only_file(path)
    assert set(modes(path).values()) == {0o600}
