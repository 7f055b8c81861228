"""Stations at run time: every scan decoded, run through its station's flow, queued, answered.

One path for every scan: scanner drivers, ``POST /api/v1/stations/{station}/scans`` and the
kiosk all call ``StationRunner.handle_scan``. Scans at one station are handled one at a
time, in arrival order (asyncio.Lock is FIFO). The flows themselves are pure code
(edge/flows/); this module does the decoding, the queueing and the events around them.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from edge.barcodes.decode import BarcodeDecoder
from edge.config import EdgeConfig, StationConfig
from edge.errors import (
    OperatorNotSignedInError,
    QuantityOverLimitError,
    QueueError,
    QueueFullError,
    ScanError,
    UnknownStationError,
)
from edge.events import EventSink
from edge.flows import FLOWS, Setup
from edge.flows.station import Reaction, Station, StationSetup, StationState
from edge.limits import QuantityLimits
from edge.queue import ActionQueue, QueuedAction
from protocol import ProtocolError
from protocol.envelope import normalize_body

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Level = Literal["ok", "error", "info"]
# The kiosk's sound for each feedback level: a confirmation, an alarm, a "scan next" chirp.
SOUNDS: dict[Level, str] = {"ok": "ok", "error": "error", "info": "prompt"}
LEVELS: dict[str, Level] = {"queued": "ok", "context": "info", "refused": "error"}


@dataclass(frozen=True)
class StationView:
    """A station as the API shows it: who, which flow and step, what it expects, what it has.

    ``action`` (the flow), ``location``, ``work_order`` and ``qty`` keep the fields clients
    read before flows existed. ``flows`` (the allowed flows with their steps) is filled when
    one station or the list is asked for, not in every scan's answer.
    """

    name: str
    operator: str | None
    require_sign_in: bool
    action: str
    location: str | None
    work_order: str | None
    qty: str | None
    flow: str
    step: str
    expect: str
    expected: list[str]
    collected: dict[str, str]
    locale: str | None
    idle_timeout_seconds: float
    quality_reasons: list[str]
    flows: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class ScanOutcome:
    """What a scan did: changed the context, queued an action, or was refused (and why)."""

    station: str
    result: Literal["context", "queued", "refused"]
    message: str
    state: StationView
    code: str | None = None
    action_type: str | None = None
    action: QueuedAction | None = None

    @property
    def expect(self) -> str:
        """What the station expects next, in the operator's words."""
        return self.state.expect

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the local API and events."""
        return {
            "station": self.station,
            "result": self.result,
            "message": self.message,
            "code": self.code,
            "expect": self.state.expect,
            "expected": self.state.expected,
            "action_type": self.action_type,
            "action": asdict(self.action) if self.action else None,
            "state": asdict(self.state),
        }


def station_setup(station: StationConfig, config: EdgeConfig) -> StationSetup:
    """A station's flow setup from edge.toml."""
    reasons = station.quality_reasons or config.quality_reasons
    return StationSetup(
        name=station.name,
        flow=station.action,
        flows=tuple(station.flows or FLOWS),
        operator=station.operator,
        require_sign_in=station.require_sign_in,
        setup=Setup(station.location, station.work_order, tuple(reasons)),
        idle_timeout=station.idle_timeout_seconds,
        locale=station.locale,
    )


class StationRunner:
    """Owns every station's state; turns its scans, and actions sent for it, into queued ones."""

    def __init__(
        self,
        config: EdgeConfig,
        queue: ActionQueue,
        events: EventSink | None = None,
        *,
        decoder: BarcodeDecoder | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.queue = queue
        self.events = events
        self.decoder = decoder or config.barcode_decoder()
        self.clock = clock
        self.limits = QuantityLimits.from_config(config)
        self._stations = {s.name: Station(station_setup(s, config)) for s in config.stations}
        self._states = {name: station.initial() for name, station in self._stations.items()}
        self._locks = {name: asyncio.Lock() for name in self._stations}

    @property
    def names(self) -> list[str]:
        """The configured station names."""
        return list(self._stations)

    def _station(self, name: str) -> Station:
        try:
            return self._stations[name]
        except KeyError:
            raise UnknownStationError(
                f"no station {name!r} on this edge; configured: "
                f"{', '.join(self._stations) or '(none)'}"
            ) from None

    def state(self, station: str, *, with_flows: bool = False) -> StationView:
        """A station as the API shows it; UnknownStationError when there is no such station."""
        machine = self._station(station)
        return _view(machine, self._states[station], with_flows=with_flows)

    def flow_title(self, station: str, flow: str) -> str:
        """The title of one of a station's flows (e.g. "move"), as the kiosk names it."""
        machine = self._station(station)
        found = machine.flows.get(flow)
        return found.title if found is not None else flow

    async def handle_scan(self, station: str, raw: str) -> ScanOutcome:
        """Handle one raw scan exactly as if the station's scanner had read it.

        Raises ScanError (with its code) for a scan the decoder cannot read,
        UnknownStationError, and QueueError (QueueFullError when the disk is full): the scan
        was not saved. Every scan ends with a ``feedback`` event, published only after an
        action it made is committed.
        """
        machine = self._station(station)
        async with self._locks[station]:
            now = self.clock()
            state = self._states[station]
            notes: list[str] = []
            expired = machine.expire(state, now)
            if expired is not None:
                state, note = expired
                notes.append(note)
            self._states[station] = replace(state, touched=now)
            step = machine.step(state)
            try:
                scan = self.decoder(raw, expected=step.expected, locale=machine.setup.locale)
            except ScanError as err:
                invalid = {"station": station, "result": "invalid", "code": err.code}
                self._publish("scan", {**invalid, "message": str(err)})
                self._feedback(machine, station, "error", _join(*notes, str(err)), code=err.code)
                raise
            reaction = machine.react(state, scan, now)
            if reaction.action is None:
                self._states[station] = reaction.state
                result: Literal["context", "refused"] = (
                    "refused" if reaction.result == "refused" else "context"
                )
                outcome = self._outcome(
                    machine, station, result, _join(*notes, reaction.message), reaction.code
                )
            else:
                outcome = await self._enqueue(machine, station, state, reaction, notes)
            self._publish("scan", {"kind": scan.kind, "value": scan.value, **outcome.to_dict()})
            level = LEVELS[outcome.result]
            self._feedback(
                machine, station, level, outcome.message, code=outcome.code, action=outcome
            )
            return outcome

    async def _enqueue(
        self,
        machine: Station,
        station: str,
        before: StationState,
        reaction: Reaction,
        notes: list[str],
    ) -> ScanOutcome:
        """Queue the action the scan completed; the new state holds only once it is saved."""
        request = reaction.action
        assert request is not None and reaction.state.operator is not None
        try:
            wire_body = normalize_body(request.type, request.body)
            self.limits.check(request.type, wire_body)
            queued = await self.queue.enqueue(
                type=request.type,
                station=station,
                operator=reaction.state.operator,
                body=wire_body,
            )
        except (QuantityOverLimitError, ProtocolError) as err:
            # What was scanned cannot be saved as it is: start the sequence again.
            reset, dropped = machine.reset(replace(before, touched=reaction.state.touched))
            self._states[station] = reset
            code = err.code if isinstance(err, ProtocolError) else "QTY_OVER_LIMIT"
            message = err.message if isinstance(err, ProtocolError) else str(err)
            return self._outcome(machine, station, "refused", _join(*notes, message, dropped), code)
        except QueueError as err:
            code = "QUEUE_FULL" if isinstance(err, QueueFullError) else "QUEUE_ERROR"
            self._feedback(machine, station, "error", str(err), code=code)
            self._publish("warning", {"station": station, "code": code, "message": str(err)})
            raise
        self._states[station] = reaction.state
        message = _join(*notes, f"saved: {request.message}", reaction.message)
        return self._outcome(machine, station, "queued", message, None, request.type, queued)

    def _outcome(
        self,
        machine: Station,
        station: str,
        result: Literal["context", "queued", "refused"],
        message: str,
        code: str | None,
        action_type: str | None = None,
        action: QueuedAction | None = None,
    ) -> ScanOutcome:
        view = _view(machine, self._states[station])
        return ScanOutcome(station, result, message, view, code, action_type, action)

    async def submit_action(
        self, *, station: str, type: str, operator: str, body: dict[str, Any]
    ) -> QueuedAction:
        """Queue an action a kiosk or tool sends for a station, checked as a scan would be.

        Raises UnknownStationError, OperatorNotSignedInError when the station requires sign-in
        and ``operator`` is not the one signed in there, QuantityOverLimitError, ProtocolError
        for an invalid action, and QueueError; nothing is queued when it raises.
        """
        machine = self._station(station)
        async with self._locks[station]:
            state = self._states[station]
            if machine.setup.require_sign_in and operator != state.operator:
                signed_in = (
                    f"{state.operator} is signed in there" if state.operator else "nobody is"
                )
                raise OperatorNotSignedInError(
                    f"station {station} requires sign-in and {operator!r} is not signed in "
                    f"there ({signed_in}); sign in at the station (scan OP:<id>) first"
                )
            wire_body = normalize_body(type, body)  # ProtocolError: nothing is stored
            self.limits.check(type, wire_body)
            return await self.queue.enqueue(
                type=type, station=station, operator=operator, body=wire_body
            )

    # -- idle timeout -----------------------------------------------------------------------

    def expire_idle(self, now: float) -> list[str]:
        """Drop every half-done sequence idle for longer than its station's timeout.

        Each drop is announced with a ``feedback`` event so a kiosk shows it; answers the
        stations whose sequence was dropped. A station busy with a scan is left alone: that
        scan is activity.
        """
        dropped = []
        for name, machine in self._stations.items():
            if self._locks[name].locked():
                continue
            expired = machine.expire(self._states[name], now)
            if expired is None:
                continue
            self._states[name], message = expired
            dropped.append(name)
            self._feedback(machine, name, "info", message, code="IDLE_TIMEOUT")
        return dropped

    async def sweep_idle(self, every: float = 1.0) -> None:
        """Run ``expire_idle`` every ``every`` seconds until cancelled (an agent task)."""
        while True:
            await asyncio.sleep(every)
            for name in self.expire_idle(self.clock()):
                log.info("%s: idle sequence dropped", name)

    # -- events -----------------------------------------------------------------------------

    def _feedback(
        self,
        machine: Station,
        station: str,
        level: Level,
        message: str,
        *,
        code: str | None = None,
        action: ScanOutcome | None = None,
    ) -> None:
        """The station's feedback event: what the kiosk shows and sounds after a scan."""
        view = _view(machine, self._states[station])
        queued = action.action if action is not None else None
        self._publish(
            "feedback",
            {
                "station": station,
                "level": level,
                "sound": SOUNDS[level],
                "message": message,
                "code": code,
                "expect": view.expect,
                "expected": view.expected,
                "flow": view.flow,
                "step": view.step,
                "operator": view.operator,
                "action_id": queued.id if queued else None,
                "action_type": action.action_type if action is not None else None,
            },
        )

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.publish(kind, data)


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _view(machine: Station, state: StationState, *, with_flows: bool = False) -> StationView:
    """The API's picture of a station in ``state``."""
    setup = machine.setup
    step = machine.step(state)
    collected = {k: v for k, v in state.data.items() if v and not k.startswith("_")}
    flows = None
    if with_flows:
        flows = [
            {
                "name": name,
                "title": machine.flows[name].title,
                "steps": [
                    {"name": s.name, "prompt": s.prompt, "kinds": list(s.kinds), "done": s.done}
                    for s in machine.flows[name].steps
                ],
            }
            for name in setup.flows
        ]
    return StationView(
        name=setup.name,
        operator=state.operator,
        require_sign_in=setup.require_sign_in,
        action=state.flow,
        location=state.data.get("location") or setup.setup.location,
        work_order=state.data.get("work_order") or setup.setup.work_order,
        qty=state.data.get("qty"),
        flow=state.flow,
        step=step.name,
        expect=step.prompt,
        expected=list(step.kinds),
        collected=collected,
        locale=setup.locale,
        idle_timeout_seconds=setup.idle_timeout,
        quality_reasons=list(setup.setup.reasons),
        flows=flows,
    )
