"""Reading what a test's changes wrote into the outbox, as every reader does: numbered by the
sequencer, then read after an id."""

from typing import Any

from central.events.reading import StoredEvent, events_after
from central.events.sequencer import sequence_all
from tests.central.conftest import Central


class Events:
    """The events written since the last look, one look at a time."""

    def __init__(self, central: Central) -> None:
        self.central = central
        self.seen = 0

    async def new(self) -> list[StoredEvent]:
        """Every event numbered since the last call, in id order."""
        await sequence_all(self.central.engine)
        async with self.central.engine.connect() as conn:
            found = await events_after(conn, self.seen, limit=10_000)
        if found:
            self.seen = found[-1].id
        return found

    async def types(self) -> list[tuple[str, str]]:
        """(type, subject) of every new event."""
        return [(e.type, e.subject) for e in await self.new()]


def has(event: StoredEvent, **fields: Any) -> None:
    """Assert the event's payload holds these fields with these values."""
    got = {key: event.payload.get(key, "<absent>") for key in fields}
    assert got == fields, (event.type, event.subject, event.payload)
