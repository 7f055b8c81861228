"""The floor as the e2e tests drive it: GS1 labels as scanners send them, scans through an
edge's local API, its stations configured in edge.toml, its scanners, its state topic, and
its queue file read after a kill."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from edge.config import StationConfig, load_config, write_config
from edge.queue import ActionQueue
from harness import wait_until
from harness.stack import SITE, KillableBroker, Stack
from protocol.gs1 import gs1_check_digit
from protocol.topics import state_topic
from runtime.mqtt import MqttConnection

EDGE = "edge-floor"
GS = "\x1d"  # FNC1 as a scanner sends it: ends a variable-length field


def check_digit(digits: str) -> str:
    """``digits`` with its GS1 check digit appended (a GTIN-14 or an SSCC)."""
    return digits + str(gs1_check_digit(digits))


def receipt_label(
    gtin: str,
    *,
    lot: str,
    expiry: str | None = None,
    produced: str | None = None,
    grams: int | None = None,
    sscc: str | None = None,
) -> str:
    """A GS1-128 receipt label as a scanner sends it (AIM ]C1): fixed-length fields first,
    the lot last but one and closed by GS, the net weight (3103: kg with 3 decimals) last."""
    parts = ["]C1"]
    if sscc:
        parts.append(f"00{sscc}")
    parts.append(f"01{gtin}")
    if expiry:
        parts.append(f"17{expiry}")
    if produced:
        parts.append(f"11{produced}")
    parts.append(f"10{lot}{GS}")
    if grams is not None:
        parts.append(f"3103{grams:06d}")
    return "".join(parts)


def add_stations(stack: Stack, edge_id: str, *stations: StationConfig) -> None:
    """The provisioned edge.toml with these stations instead of the default one."""
    path = stack.edge_configs[edge_id]
    config = load_config(path, env={})  # the file as written, no environment mixed in
    write_config(config.model_copy(update={"stations": list(stations)}), path, overwrite=True)


def start_site(stack: Stack, broker: KillableBroker, *stations: StationConfig) -> None:
    """Broker, central, one provisioned edge with ``stations``, running."""
    broker.start()
    stack.start_central()
    stack.provision_edge(EDGE)
    add_stations(stack, EDGE, *stations)
    stack.start_edge(EDGE)


class Floor:
    """Scans at the edge's stations through its local API, and the actions they queued."""

    def __init__(self, stack: Stack, edge_id: str = EDGE) -> None:
        self.stack = stack
        self.url = f"{stack.edge_url(edge_id)}/api/v1"

    def scan(self, station: str, data: str, result: str = "context") -> dict[str, Any]:
        """One scan; asserts the outcome (``context``, ``queued`` or ``refused``)."""
        response = self.stack.http.post(f"{self.url}/stations/{station}/scans", json={"data": data})
        assert response.status_code == 200, f"{station} {data!r}: {response.text}"
        answer = dict(response.json())
        assert answer["result"] == result, f"{station} {data!r}: {answer}"
        return answer

    def queued(self, station: str, data: str, action_type: str) -> str:
        """A scan that completes an action: the action's id, once committed on the edge."""
        answer = self.scan(station, data, "queued")
        assert answer["action_type"] == action_type, answer
        return str(answer["action"]["id"])

    def final(self, action_id: str, timeout: float = 30) -> dict[str, Any]:
        """The edge's record of the action once central answered it."""
        record: dict[str, Any] = {}

        def answered() -> bool:
            record.update(self.stack.http.get(f"{self.url}/actions/{action_id}").json())
            return record["state"] not in ("queued", "sent")

        wait_until(answered, timeout, interval=0.05, what=f"action {action_id} answered")
        return record

    def applied(self, *action_ids: str, resent: bool = False) -> list[str]:
        """Wait until central applied every one of the actions (in queue order); their final
        states. ``resent``: an action sent again after a restart may be answered
        ``duplicate`` (central had applied it, the edge had not heard)."""
        accepted = ("applied", "duplicate") if resent else ("applied",)
        states = []
        for action_id in action_ids:
            record = self.final(action_id)
            assert record["state"] in accepted, record
            states.append(str(record["state"]))
        return states

    def pick(
        self, station: str, task: str, location: str, lp: str, qty: str, *, new_lp: str = ""
    ) -> str:
        """One pick at a pick station, scan by scan (task, location, LP, a new label for the
        picked part if given, the quantity); the pick.confirm's id."""
        for data in (task, f"LOC:{location}", lp, *([new_lp] if new_lp else [])):
            self.scan(station, data)
        return self.queued(station, qty, "pick.confirm")

    def pack(self, station: str, parent: str, *lps: str) -> list[str]:
        """``lps`` packed onto ``parent`` at a station with lp.pack; the lp.pack ids."""
        self.scan(station, "ACT:lp.pack")
        self.scan(station, parent)
        ids = [self.queued(station, lp, "lp.pack") for lp in lps]
        self.scan(station, "CMD:done")
        return ids

    def load(self, station: str, shipment: str, *lps: str) -> list[str]:
        """``lps`` (LPs or pallets) loaded onto ``shipment`` at a load station; the ship.load
        ids. The station stays on the shipment."""
        self.scan(station, shipment)
        return [self.queued(station, lp, "ship.load") for lp in lps]


def central_lp(stack: Stack, number: str) -> dict[str, Any]:
    return dict(stack.api("GET", f"/license-plates/{number}"))


def ledger(stack: Stack, **filters: str) -> list[dict[str, Any]]:
    return list(stack.api("GET", "/stock-moves", params={"limit": 500, **filters})["items"])


def made_lp(stack: Stack, action_id: str) -> str:
    """The number of the LP an lp.receive or wo.output made."""
    (row,) = ledger(stack, action_id=action_id)
    return str(row["lp"])


def qty(value: str) -> Decimal:
    return Decimal(value)


def scanners(stack: Stack) -> dict[str, dict[str, Any]]:
    """GET /api/v1/scanners by station."""
    answer = stack.http.get(f"{stack.edge_url(EDGE)}/api/v1/scanners").json()
    return {row["station"]: row for row in answer}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used (/proc/<pid>/stat utime, stime)."""
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StateWatch:
    """The edge's state topic seen live from the broker, each message with when it came."""

    def __init__(self, mqtt_url: str) -> None:
        self.mqtt_url = mqtt_url
        self.topic = state_topic(SITE, EDGE)
        self.states: list[tuple[float, dict[str, Any]]] = []
        self.subscribed = threading.Event()
        self._loop: asyncio.AbstractEventLoop
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._watch(),), daemon=True)
        self._thread.start()
        assert self.subscribed.wait(10), f"no subscription to {self.topic}"

    async def _watch(self) -> None:
        self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        try:
            async with await MqttConnection.open(self.mqtt_url) as conn:
                await conn.subscribe(self.topic)
                self.subscribed.set()
                async for message in conn.messages():
                    if message.topic == self.topic:
                        self.states.append((time.monotonic(), json.loads(message.payload)))
        except asyncio.CancelledError:
            return  # close(): the watch is over

    def first(
        self, check: Callable[[dict[str, Any]], bool], deadline: float
    ) -> tuple[float, dict[str, Any]]:
        """The first state for which ``check`` holds, waiting until ``deadline`` (monotonic)."""
        wait_until(
            lambda: any(check(state) for _, state in self.states),
            max(0.1, deadline - time.monotonic()),  # looked at once at least
            interval=0.05,
            what=f"a state on {self.topic} that passes the check",
        )
        return next((at, state) for at, state in self.states if check(state))

    def close(self) -> None:
        assert self._task is not None  # set before the subscription was
        self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)


def lp_with_lot(stack: Stack, lot: str) -> dict[str, Any] | None:
    items = stack.api("GET", "/license-plates", params={"lot": lot})["items"]
    return dict(items[0]) if items else None


def states_on_disk(stack: Stack, ids: list[str]) -> list[str]:
    """Each action's state in the stopped edge's queue file, read as the edge would."""
    assert EDGE not in stack.edges, "the edge must be stopped: it owns its queue file"
    config = load_config(stack.edge_configs[EDGE], env={})

    async def read() -> list[str]:
        queue = await ActionQueue.open(
            config.queue_path, site=config.site, edge=config.edge_id, secret=config.secret
        )
        async with queue:
            records = [await queue.get(action_id) for action_id in ids]
        return [record.state if record else "missing" for record in records]

    return asyncio.run(read())
