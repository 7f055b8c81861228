"""The embedded development broker (amqtt), for `ioe demo`, `ioe broker` and laptop tests.

It speaks MQTT 3.1.1 only, has no working shared subscriptions and keeps no session for
anonymous clients; IOE needs none of those (see docs/architecture.md). Production uses
Mosquitto or another real broker.
"""

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


def broker_config(host: str, port: int) -> dict[str, Any]:
    """amqtt configuration: one TCP listener, anonymous access, no $SYS chatter."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 0}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


class EmbeddedBroker:
    """An amqtt broker started and stopped inside the running event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host = host
        self.port = port
        self._broker: Any = None

    @property
    def url(self) -> str:
        """The mqtt:// URL clients use to reach this broker."""
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        """Start listening; amqtt needs the running loop, so this must be awaited inside it."""
        from amqtt.broker import Broker  # heavy import, only when a broker is wanted

        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._broker = Broker(broker_config(self.host, self.port))
        await self._broker.start()
        log.info("embedded broker listening on %s", self.url)

    async def stop(self) -> None:
        """Stop the broker and close every client connection."""
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None

    async def __aenter__(self) -> "EmbeddedBroker":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve_forever(host: str, port: int) -> None:
    """Run the embedded broker until cancelled."""
    async with EmbeddedBroker(host, port):
        await asyncio.Event().wait()
