"""Stations: each one's context, and what a raw scan at that station does."""

import asyncio
from dataclasses import asdict, dataclass
from typing import Any, Literal

from edge.config import EdgeConfig
from edge.errors import (
    OperatorNotSignedInError,
    QuantityOverLimitError,
    QueueError,
    QueueFullError,
    ScanError,
    UnknownStationError,
)
from edge.events import EventSink
from edge.limits import QuantityLimits
from edge.queue import ActionQueue, QueuedAction
from edge.scanning import (
    ActionRequest,
    ContextChange,
    Refusal,
    StationState,
    interpret,
    normalize,
)
from protocol import ProtocolError
from protocol.envelope import normalize_body


@dataclass(frozen=True)
class ScanOutcome:
    """What a scan did: changed the context, queued an action, or was refused (and why)."""

    station: str
    result: Literal["context", "queued", "refused"]
    message: str
    state: StationState
    code: str | None = None
    action_type: str | None = None
    action: QueuedAction | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the local API and events."""
        return {
            "station": self.station,
            "result": self.result,
            "message": self.message,
            "code": self.code,
            "action_type": self.action_type,
            "action": asdict(self.action) if self.action else None,
            "state": asdict(self.state),
        }


class StationRunner:
    """Owns every station's context; turns its scans, and actions sent for it, into queued ones."""

    def __init__(
        self, config: EdgeConfig, queue: ActionQueue, events: EventSink | None = None
    ) -> None:
        self.queue = queue
        self.events = events
        self.limits = QuantityLimits.from_config(config)
        self._states = {
            s.name: StationState(
                name=s.name,
                operator=s.operator,
                action=s.action,
                location=s.location,
                work_order=s.work_order,
                require_sign_in=s.require_sign_in,
            )
            for s in config.stations
        }
        # Scans at one station are handled in arrival order: a LOC: scan must take effect
        # before the LP scanned right after it.
        self._locks = {name: asyncio.Lock() for name in self._states}

    @property
    def names(self) -> list[str]:
        """The configured station names."""
        return list(self._states)

    def state(self, station: str) -> StationState:
        """A station's current context; UnknownStationError when there is no such station."""
        try:
            return self._states[station]
        except KeyError:
            raise UnknownStationError(
                f"no station {station!r} on this edge; configured: "
                f"{', '.join(self._states) or '(none)'}"
            ) from None

    async def handle_scan(self, station: str, raw: str) -> ScanOutcome:
        """Handle one raw scan exactly as if the station's scanner had read it.

        Raises ScanError for an unreadable scan, UnknownStationError, QueueFullError when the
        disk is full (the scan was not saved) and ProtocolError when the action is invalid.
        """
        self.state(station)
        async with self._locks[station]:
            state = self._states[station]
            try:
                scan = normalize(raw)
            except ScanError as err:
                self._publish(
                    "scan",
                    {
                        "station": station,
                        "result": "invalid",
                        "code": "SCAN_INVALID",
                        "message": str(err),
                    },
                )
                raise
            meaning = interpret(state, scan)
            if isinstance(meaning, ContextChange):
                self._states[station] = meaning.state
                outcome = ScanOutcome(station, "context", meaning.message, meaning.state)
            elif isinstance(meaning, Refusal):
                outcome = ScanOutcome(station, "refused", meaning.message, state, code=meaning.code)
            else:
                outcome = await self._enqueue(station, state, meaning)
            self._publish("scan", {"kind": scan.kind, "value": scan.value, **outcome.to_dict()})
            return outcome

    async def submit_action(
        self, *, station: str, type: str, operator: str, body: dict[str, Any]
    ) -> QueuedAction:
        """Queue an action a kiosk or tool sends for a station, checked as a scan would be.

        Raises UnknownStationError, OperatorNotSignedInError when the station requires sign-in
        and ``operator`` is not the one signed in there, QuantityOverLimitError, ProtocolError
        for an invalid action, and QueueError; nothing is queued when it raises.
        """
        self.state(station)
        async with self._locks[station]:
            state = self._states[station]
            if state.require_sign_in and operator != state.operator:
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

    async def _enqueue(
        self, station: str, state: StationState, request: ActionRequest
    ) -> ScanOutcome:
        try:
            wire_body = normalize_body(request.type, request.body)
            self.limits.check(request.type, wire_body)
            queued = await self.queue.enqueue(
                type=request.type, station=station, operator=request.operator, body=wire_body
            )
        except QuantityOverLimitError as err:
            return ScanOutcome(station, "refused", str(err), state, code="QTY_OVER_LIMIT")
        except (QueueError, ProtocolError) as err:
            if isinstance(err, ProtocolError):
                code = err.code
            else:
                code = "QUEUE_FULL" if isinstance(err, QueueFullError) else "QUEUE_ERROR"
            self._publish("warning", {"station": station, "code": code, "message": str(err)})
            raise
        return ScanOutcome(
            station,
            "queued",
            f"saved: {request.message}",
            state,
            action_type=request.type,
            action=queued,
        )

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.publish(kind, data)
