"""Two real central processes on one PostgreSQL: each one's streams carry every event any
replica commits, in one order; a client whose replica is SIGKILLed resumes on the other with
its last id and misses nothing."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central.db.engine import make_engine
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType
from harness import Proc, free_port, ioe_command, wait_until
from harness.stack import KillableBroker
from tests.central.events.sse_client import stream

EVENTS = "/api/v1/events"


@pytest.fixture
def replicas(
    migrated_database_url: str, database_tier: str, tmp_path: Path
) -> Iterator[list[tuple[Proc, str]]]:
    """Two `ioe central run` processes on the test's database (PostgreSQL only)."""
    if database_tier == "sqlite":
        pytest.skip("replicas share a PostgreSQL database; SQLite is one process's")
    broker = KillableBroker("embedded", tmp_path)
    broker.start()
    started: list[tuple[Proc, str]] = []
    try:
        for name in ("a", "b"):
            port = free_port()
            args = ioe_command(
                "central", "run", "--db", migrated_database_url, "--mqtt", broker.url,
                "--port", str(port),
            )  # fmt: skip
            env = {"IOE_LOG_LEVEL": "WARNING", "IOE_SSE_KEEPALIVE_SECONDS": "0.5"}
            started.append(
                (Proc(args, tmp_path / f"central-{name}.log", env), f"http://127.0.0.1:{port}")
            )
        for proc, url in started:

            def up(proc: Proc = proc, url: str = url) -> bool:
                assert proc.popen.poll() is None, proc.output()
                try:
                    return httpx.get(f"{url}/healthz").status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(up, 60, what="central")
        yield started
    finally:
        for proc, _ in started:
            proc.stop()
        broker.kill()


def moved(n: int) -> DomainEvent:
    return DomainEvent(EventType.LP_MOVED, "plant-1", f"LP-{n}", {"to": "A-01"})


async def test_streams_on_both_replicas_carry_every_event_and_survive_a_killed_replica(
    migrated_database_url: str, replicas: list[tuple[Proc, str]]
) -> None:
    (proc_a, url_a), (_, url_b) = replicas
    writer = make_engine(migrated_database_url)  # a third writer: another replica's API

    async def write(first: int, count: int) -> None:
        async with writer.begin() as conn:
            await write_events(conn, [moved(n) for n in range(first, first + count)])

    try:
        async with httpx.AsyncClient(timeout=10) as client:
            async with (
                stream(client, f"{url_a}{EVENTS}", params={"after": 0}) as on_a,
                stream(client, f"{url_b}{EVENTS}", params={"after": 0}) as on_b,
            ):
                for first in range(0, 30, 3):
                    await write(first, 3)
                got_a = await on_a.events(30)
                got_b = await on_b.events(30)
                assert (
                    [m.id for m in got_a] == [m.id for m in got_b] == [str(i) for i in range(1, 31)]
                )
                assert [m.json()["subject"] for m in got_a] == [f"LP-{n}" for n in range(30)]
                proc_a.kill()  # SIGKILL under a live stream
                await write(30, 5)
                # the client moves to the other replica with the last id it had
                async with stream(
                    client, f"{url_b}{EVENTS}", headers={"Last-Event-ID": got_a[-1].id}
                ) as moved_on:
                    resumed = await moved_on.events(5)
                assert [m.id for m in resumed] == ["31", "32", "33", "34", "35"]
                assert [m.id for m in await on_b.events(5)] == ["31", "32", "33", "34", "35"]
    finally:
        await writer.dispose()
