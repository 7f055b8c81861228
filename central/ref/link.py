"""Central's one MQTT connection, as seen by what publishes besides ingest.

The broker knows central by its username and takes that as its client id, so a second
connection of the same account would push ingest's off: the reference publisher and the
snapshot answerer publish through the connection ingest keeps. Ingest attaches each new
connection and detaches it when it dies; a publisher takes it (or waits a bounded time for
it) and gets ``BrokerAway`` while the broker is away: its work is retried later, so nothing
is lost.
"""

import asyncio
from collections.abc import Callable

from runtime.mqtt import MqttConnection


class BrokerAway(Exception):
    """Central has no live broker connection now; try the work again later."""


class BrokerLink:
    """The live connection (or none), and who to wake when one comes up."""

    def __init__(self) -> None:
        self._conn: MqttConnection | None = None
        self._up = asyncio.Event()
        self._on_up: list[Callable[[], None]] = []

    def on_up(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the event loop) each time a connection comes up."""
        self._on_up.append(callback)

    def attach(self, conn: MqttConnection) -> None:
        """A new live connection (ingest's session has subscribed)."""
        self._conn = conn
        self._up.set()
        for callback in self._on_up:
            callback()

    def detach(self, conn: MqttConnection) -> None:
        """The connection ended (only if it is still the current one)."""
        if self._conn is conn:
            self._conn = None
            self._up.clear()

    @property
    def connected(self) -> bool:
        """True while a live connection is attached."""
        return self._conn is not None and self._conn.is_connected

    def current(self) -> MqttConnection:
        """The live connection now; BrokerAway if there is none (no waiting)."""
        conn = self._conn
        if conn is None or not conn.is_connected:
            raise BrokerAway("no broker connection")
        return conn

    async def connection(self, wait: float) -> MqttConnection:
        """The live connection, waiting up to ``wait`` seconds for one; BrokerAway if none."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            conn = self._conn
            if conn is not None and conn.is_connected:
                return conn
            if conn is not None:  # died, and ingest has not noticed yet
                self.detach(conn)
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                await asyncio.wait_for(self._up.wait(), remaining)
            except TimeoutError:
                raise BrokerAway(f"no broker connection for {wait:.0f}s") from None
