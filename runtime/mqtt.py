"""The one place paho-mqtt is used: a connection object with an asyncio API, and a supervisor.

paho runs its network loop in its own thread (``loop_start``); every callback is handed to
the asyncio loop with ``call_soon_threadsafe``. A ``MqttConnection`` lives for exactly one
network connection: paho's own reconnect is switched off, and ``keep_connected`` (the single
owner of reconnection) opens a new connection after a jittered exponential backoff.
IOE never relies on the broker's session: connections are clean, and callers re-subscribe and
resend what they still need after every reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from runtime.errors import MqttConnectError, MqttDisconnected, MqttError, MqttLoginRefused
from runtime.fatal import BrokerRefused
from runtime.mqtt_options import BrokerAddress, configure_client

log = logging.getLogger(__name__)

# More in flight is slower with paho: it rescans its in-flight list on every PUBACK.
MAX_INFLIGHT = 100

# CONNACK reason codes that refuse the login itself (MQTT 5 values; paho maps the 3.1.1
# return codes 4 and 5 onto 134 and 135): the broker is up, the credentials are wrong.
LOGIN_REFUSALS = frozenset({134, 135, 138, 140})  # bad user/password, not authorized,
# banned, bad authentication method


@dataclass(frozen=True)
class Message:
    """One received message."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True)
class Will:
    """The last will the broker publishes when the connection dies without a DISCONNECT."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def _resolve(future: asyncio.Future[Any], error: BaseException | None, value: Any = None) -> None:
    """Complete a future once, on the loop thread."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


_LOST = object()  # sentinel put on the message queue when the connection dies


def stop_network_thread(client: paho.Client) -> None:
    """``loop_stop`` without paho's race (eclipse-paho/paho.mqtt.python#872, paho 2.1): the
    network thread clears ``Client._thread`` as it ends, and when that falls between
    loop_stop's check and its join, loop_stop raises AttributeError. The thread has ended
    then, which is all a caller waits for; the edge used to die of it after a lost link."""
    try:
        client.loop_stop()
    except AttributeError:
        pass  # the network thread ended between loop_stop's check and its join


class MqttConnection:
    """One live connection to a broker, with awaitable publish/subscribe and a message stream."""

    def __init__(
        self,
        address: BrokerAddress,
        *,
        client_id: str,
        will: Will | None,
        keepalive: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.address = address
        self.client_id = client_id
        self._loop = loop
        self._keepalive = keepalive
        self._lock = threading.Lock()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._early: dict[int, Any] = {}  # acks that beat the registration of their future
        self._messages: asyncio.Queue[Any] = asyncio.Queue()
        self._connack: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[str] = loop.create_future()
        version = (
            MQTTProtocolVersion.MQTTv5 if address.version == 5 else MQTTProtocolVersion.MQTTv311
        )
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=version,
            clean_session=True if version == MQTTProtocolVersion.MQTTv311 else None,
            reconnect_on_failure=False,
        )
        self._client.max_inflight_messages_set(MAX_INFLIGHT)
        self._client.max_queued_messages_set(0)
        configure_client(self._client, address)
        if will is not None:
            self._client.will_set(will.topic, will.payload, will.qos, will.retain)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    @classmethod
    async def open(
        cls,
        address: BrokerAddress | str,
        *,
        client_id: str | None = None,
        will: Will | None = None,
        keepalive: int = 15,
        timeout: float = 10.0,
    ) -> MqttConnection:
        """Connect and wait for the broker's CONNACK; raise MqttConnectError on any failure."""
        if isinstance(address, str):
            address = BrokerAddress.parse(address)
        loop = asyncio.get_running_loop()
        conn = cls(
            address,
            client_id=client_id or f"ioe-{uuid.uuid4().hex[:12]}",
            will=will,
            keepalive=keepalive,
            loop=loop,
        )
        await conn._connect(timeout)
        return conn

    async def _connect(self, timeout: float) -> None:
        kwargs: dict[str, Any] = {"keepalive": self._keepalive}
        if self.address.version == 5:
            kwargs["clean_start"] = True
        try:
            # The TCP connect blocks; keep it off the event loop.
            await asyncio.wait_for(
                self._loop.run_in_executor(
                    None,
                    lambda: self._client.connect(self.address.host, self.address.port, **kwargs),
                ),
                timeout,
            )
        except (OSError, TimeoutError, ValueError) as err:
            raise MqttConnectError(f"cannot reach broker {self.address.display()}: {err}") from err
        self._client.loop_start()
        try:
            await asyncio.wait_for(asyncio.shield(self._connack), timeout)
        except TimeoutError as err:
            await self._abort()
            raise MqttConnectError(
                f"no CONNACK from {self.address.display()} in {timeout}s"
            ) from err
        except MqttConnectError:
            await self._abort()
            raise

    async def _abort(self) -> None:
        self._client.disconnect()
        await self._loop.run_in_executor(None, stop_network_thread, self._client)

    # -- paho callbacks: these run on paho's network thread ------------------------------

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        error: MqttConnectError | None = None
        if reason.is_failure:
            refused = f"broker {self.address.display()} refused the connection: {reason}"
            error = (
                MqttLoginRefused(refused)
                if reason.value in LOGIN_REFUSALS
                else MqttConnectError(refused)
            )
        self._loop.call_soon_threadsafe(_resolve, self._connack, error)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._loop.call_soon_threadsafe(self._lost, str(reason))

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        self._complete(
            mid, None if not reason.is_failure else MqttError(f"broker refused publish: {reason}")
        )

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: list[Any], properties: Any
    ) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        self._complete(
            mid,
            MqttError(f"subscription refused: {refused}") if refused else None,
            [r.value for r in reasons],
        )

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        message = Message(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain))
        self._loop.call_soon_threadsafe(self._messages.put_nowait, message)

    def _complete(self, mid: int, error: BaseException | None, value: Any = None) -> None:
        with self._lock:
            future = self._pending.pop(mid, None)
            if future is None:
                self._early[mid] = (error, value)
                return
        self._loop.call_soon_threadsafe(_resolve, future, error, value)

    # -- loop side -----------------------------------------------------------------------

    def _register(self, mid: int) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self._loop.create_future()
        with self._lock:
            early = self._early.pop(mid, None)
            if early is None:
                self._pending[mid] = future
        if early is not None:
            _resolve(future, *early)
        return future

    def _lost(self, reason: str) -> None:
        if self.closed.done():
            return
        self.closed.set_result(reason)
        _resolve(self._connack, MqttConnectError(f"connection lost before CONNACK: {reason}"))
        with self._lock:
            pending, self._pending = self._pending, {}
        for future in pending.values():
            _resolve(future, MqttDisconnected(f"connection lost: {reason}"))
        self._messages.put_nowait(_LOST)
        log.info(
            "mqtt connection %s to %s closed: %s", self.client_id, self.address.display(), reason
        )

    @property
    def is_connected(self) -> bool:
        """True until the connection is lost or closed."""
        return not self.closed.done()

    def publish_nowait(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> asyncio.Future[Any]:
        """Queue a publish; the future resolves when the broker acknowledged it (QoS 1)."""
        if self.closed.done():
            raise MqttDisconnected("connection is closed")
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise MqttDisconnected(f"publish failed: {paho.error_string(info.rc)}")
        if qos == 0:
            done: asyncio.Future[Any] = self._loop.create_future()
            done.set_result(None)
            return done
        return self._register(info.mid)

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish and wait for the broker's PUBACK (QoS 1)."""
        await self.publish_nowait(topic, payload, qos=qos, retain=retain)

    async def subscribe(self, *filters: str, qos: int = 1) -> list[int]:
        """Subscribe to topic filters and wait for SUBACK; MqttError if any is refused."""
        if self.closed.done():
            raise MqttDisconnected("connection is closed")
        rc, mid = self._client.subscribe([(f, qos) for f in filters])
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise MqttDisconnected(f"subscribe failed: {paho.error_string(rc)}")
        granted: list[int] = await self._register(mid)
        return granted

    async def messages(self) -> AsyncIterator[Message]:
        """Received messages in arrival order; raises MqttDisconnected when the link dies."""
        while True:
            item = await self._messages.get()
            if item is _LOST:
                self._messages.put_nowait(_LOST)  # let any other reader see it too
                raise MqttDisconnected(f"connection lost: {self.closed.result()}")
            yield item

    async def close(self) -> None:
        """Disconnect cleanly (the broker does not publish the will) and stop the thread."""
        if not self.closed.done():
            self._client.disconnect()
        await self._loop.run_in_executor(None, stop_network_thread, self._client)
        self._lost("closed by us")

    async def __aenter__(self) -> MqttConnection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class Backoff:
    """Exponential backoff with full jitter (a random delay up to the current ceiling)."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0, factor: float = 2.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; grows until ``maximum``."""
        ceiling = min(self.maximum, self.initial * self.factor**self.attempt)
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """Start over after a success."""
        self.attempt = 0


async def run_link_tasks(
    conn: MqttConnection,
    start: Callable[[asyncio.TaskGroup], None],
    *,
    farewell: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run one connection's tasks together until one fails or all are cancelled.

    A lost link surfaces as a plain MqttDisconnected (not an ExceptionGroup) so
    ``keep_connected`` can reconnect. On a clean stop ``farewell`` runs while the link is still
    up: it publishes the retained offline presence that the will would otherwise publish late.
    """
    try:
        async with asyncio.TaskGroup() as group:
            start(group)
    except* MqttDisconnected as errors:
        raise errors.exceptions[0] from None
    finally:
        if farewell is not None and conn.is_connected:
            try:
                await asyncio.wait_for(farewell(), 2)
            except (MqttError, TimeoutError):
                pass


async def keep_connected(
    open_connection: Callable[[], Awaitable[MqttConnection]],
    session: Callable[[MqttConnection], Awaitable[None]],
    *,
    name: str,
    backoff: Backoff | None = None,
    on_change: Callable[[bool], None] | None = None,
) -> None:
    """Own one logical link forever: connect, run ``session`` until the link dies, back off, redo.

    ``session`` should return or raise MqttDisconnected when the connection ends. Cancel the
    task running this to stop; the live connection is then closed cleanly. A broker that is
    down is retried forever; one that refuses the login ends this with BrokerRefused, since
    the same login will be refused again (docs/deploy.md#exit-codes).
    """
    backoff = backoff or Backoff()
    while True:
        try:
            conn = await open_connection()
        except MqttLoginRefused as err:
            raise BrokerRefused(
                f"{name}: {err}; check the broker login (IOE_MQTT_USERNAME / IOE_MQTT_PASSWORD, "
                "or the edge's config), and that `ioe broker-config` was run and the broker "
                "reloaded since the account was made"
            ) from None
        except MqttError as err:
            delay = backoff.next_delay()
            log.warning("%s: %s; retrying in %.1fs", name, err, delay)
            await asyncio.sleep(delay)
            continue
        backoff.reset()
        log.info("%s: connected to %s", name, conn.address.display())
        if on_change:
            on_change(True)
        try:
            async with conn:
                await session(conn)
        except MqttDisconnected as err:
            log.warning("%s: %s", name, err)
        except MqttError as err:
            log.warning("%s: link failed: %s", name, err)
        finally:
            if on_change:
                on_change(False)
        await asyncio.sleep(backoff.next_delay())
