"""A scan whose answer never comes back (the edge took the request, then the connection
dropped) may be saved: the kiosk says so instead of "not saved, scan again", which would make
the action twice. Against a real socket that reads each request and hangs up."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from harness import free_port
from terminals.kiosk.app import KioskApp
from terminals.kiosk.client import EdgeClient
from terminals.kiosk.errors import EdgeAnswerLost, EdgeUnreachable
from tests.terminals.kiosk_helpers import burst, shown, until


@pytest.fixture
async def hangs_up() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that reads each request whole, then closes without answering; the URL and
    the requests it got."""
    got: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n")
             if line.lower().startswith(b"content-length:")),
            0,
        )  # fmt: skip
        got.append(head + await reader.readexactly(length))
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", got


async def test_a_dropped_answer_is_told_apart_from_an_edge_not_there(
    hangs_up: tuple[str, list[bytes]],
) -> None:
    url, got = hangs_up
    client = EdgeClient(url)
    with pytest.raises(EdgeAnswerLost):
        await client.scan("pack-2", "LP0001")
    assert any(b'"LP0001"' in request for request in got)  # it did reach the other end
    await client.aclose()
    nowhere = EdgeClient(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(EdgeUnreachable) as err:
        await nowhere.scan("pack-2", "LP0001")
    assert not isinstance(err.value, EdgeAnswerLost)
    await nowhere.aclose()


async def test_the_kiosk_says_a_scan_may_be_saved_when_its_answer_is_lost(
    hangs_up: tuple[str, list[bytes]],
) -> None:
    url, got = hangs_up
    app = KioskApp(EdgeClient(url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        burst(pilot, "LP0001\n")
        flash = app.query_one("#flash")
        await until(pilot, lambda: "NOT CONFIRMED" in shown(flash), "the scan not confirmed")
        assert "may have saved it" in shown(flash)
        assert "NOT SAVED" not in shown(flash)
        assert any(b'"LP0001"' in request for request in got)
