"""A station's running totals for its kiosk: what its current job needs and how far it is.

Central's figures come from the reference cache (a work order's consumed and produced
quantities, a shipment's planned and loaded LPs, the open pick tasks); this edge's actions
central has not acknowledged yet are counted on top as ``pending``, so the totals move with
every scan even while central is away. A figure the cache does not hold is unknown (null),
never zero. Each answer is a few indexed reads: a kiosk asks after every scan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from edge.config import EdgeConfig
from edge.errors import EdgeError
from edge.lookups import RefLookups
from edge.pending_index import PendingIndex
from edge.queue import ActionQueue
from edge.ref_overlay import overlay_lp
from edge.station_log import StationLog, summary
from edge.stations import StationRunner, StationView
from protocol import format_ts

log = logging.getLogger(__name__)

RECENT = 10  # actions in ``recent``
MAX_MISSING = 50  # planned LPs listed as missing at most
# The reference kinds each job's figures come from (for as_of and stale).
JOB_KINDS = {
    "lp.consume": ("work_order", "lp"),
    "wo.output": ("work_order",),
    "ship.load": ("shipment",),
    "count.record": ("lp",),
    "pick.confirm": ("task",),
}

Record = dict[str, Any] | None


def _dec(value: Any) -> Decimal | None:
    """A decimal string as a Decimal; None for absent or unreadable (unknown, not zero)."""
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _remaining(required: Decimal | None, *taken: Decimal | None) -> Decimal | None:
    """``required`` less what is taken, never below zero; unknown when any part is."""
    if required is None or any(t is None for t in taken):
        return None
    return max(Decimal(0), required - sum((t for t in taken if t is not None), Decimal(0)))


def start_of_today(now: datetime | None = None) -> str:
    """Midnight of the edge's local day, as a wire timestamp (actions' ``ts`` compare to it)."""
    local = (now or datetime.now(UTC)).astimezone()
    return format_ts(local.replace(hour=0, minute=0, second=0, microsecond=0))


class StationProgress:
    """Builds ``GET /stations/{station}/progress`` from the station, the cache and the queue."""

    def __init__(
        self,
        config: EdgeConfig,
        queue: ActionQueue,
        stations: StationRunner,
        lookups: RefLookups | None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config, self.stations, self.lookups = config, stations, lookups
        self.log = StationLog(queue)
        # One index of unacked actions per edge: the lookups' when there is a cache.
        self.pending = lookups.pending if lookups is not None else PendingIndex(queue)
        self.clock = clock

    async def of(self, station: str) -> dict[str, Any]:
        """The station's progress; UnknownStationError for a station this edge lacks."""
        view = self.stations.state(station)
        flow = view.flow
        job = await self._job(station, view)
        kinds = JOB_KINDS.get(flow, ())
        as_of, reasons = self._freshness(kinds)
        recent = [
            {
                "action_id": a.id,
                "type": a.type,
                "state": a.state,
                "code": a.code,
                "message": a.message,
                "summary": summary(a.type, a.body),
                "ts": a.ts,
            }
            for a in await self.log.recent(station, RECENT)
        ]
        return {
            "station": station,
            "flow": flow,
            "as_of": as_of,
            "stale": bool(reasons),
            "stale_reasons": reasons,
            "stale_since": self._stale_since(kinds, reasons),
            "job": job,
            "recent": recent,
        }

    def _freshness(self, kinds: tuple[str, ...]) -> tuple[str | None, list[str]]:
        """The oldest ``as_of`` of the kinds and every reason they may be out of date."""
        if not kinds:
            return None, []  # figures from this edge's own queue only: always current
        if self.lookups is None:
            return None, ["no_reference_cache"]
        stamps, reasons = [], []
        for kind in kinds:
            as_of, why = self.lookups.freshness(kind)
            stamps.append(as_of)
            reasons += [r for r in why if r not in reasons]
        known = [s for s in stamps if s is not None]
        as_of = min(known) if known and len(known) == len(stamps) else None
        return as_of, reasons

    def _stale_since(self, kinds: tuple[str, ...], reasons: list[str]) -> str | None:
        """The earliest moment since which one of the kinds may be stale; None when the
        figures are current, or any of them was never synced (no moment says since when)."""
        if not reasons or self.lookups is None or "never_synced" in reasons:
            return None
        moments = [m for m in (self.lookups.stale_since(k) for k in kinds) if m]
        return min(moments) if moments else None

    async def _get(self, kind: str, key: str) -> Record:
        """A cached record, or None when the cache lacks it or cannot be read."""
        if self.lookups is None:
            return None
        try:
            return await self.lookups.store.get(kind, key)
        except EdgeError as err:
            log.warning("progress: the reference cache could not be read: %s", err)
            return None

    async def _made_here(self, number: str, before: Any) -> Record:
        """An LP central does not know yet, as this edge's unacked actions older than the
        seq ``before`` made it (a receipt or an output with its label); None otherwise."""
        earlier = [
            e
            for e in await self.pending.mentioning([number])
            if isinstance(e.get("seq"), int) and isinstance(before, int) and e["seq"] < before
        ]
        return overlay_lp(number, None, earlier, {}).data

    async def _unacked(self, type: str, field: str, value: str) -> list[dict[str, Any]]:
        """This edge's unacked actions of ``type`` whose body's ``field`` is ``value``."""
        return [
            e
            for e in await self.pending.mentioning([value])
            if e.get("type") == type and (e.get("body") or {}).get(field) == value
        ]

    async def _job(self, station: str, view: StationView) -> dict[str, Any] | None:
        got = view.collected
        match view.flow:
            case "lp.consume":
                wo = got.get("work_order") or view.work_order
                return await self._consume(wo) if wo else None
            case "wo.output":
                wo = got.get("work_order") or view.work_order
                return await self._output(wo) if wo else None
            case "ship.load":
                shipment = got.get("shipment")
                return await self._load(shipment) if shipment else None
            case "count.record":
                session = got.get("session")
                return await self._count(session, got.get("location")) if session else None
            case "pick.confirm":
                return await self._pick(station, got.get("task"))
        title = self.stations.flow_title(station, view.flow)
        done = await self.log.count_since(station, view.flow, start_of_today(self.clock()))
        return {"kind": title, "done": done}

    async def _consume(self, number: str) -> dict[str, Any]:
        wo = await self._get("work_order", number)
        pending: dict[str | None, Decimal | None] = {}
        unmatched = 0
        for envelope in await self._unacked("lp.consume", "work_order", number):
            body = envelope["body"]
            lp_number = str(body.get("lp"))
            lp = await self._get("lp", lp_number) or await self._made_here(
                lp_number, envelope.get("seq")
            )
            product = lp.get("product") if lp else None
            qty = _dec(body.get("qty")) if body.get("qty") is not None else None
            if qty is None and lp is not None and body.get("qty") is None:
                qty = _dec(lp.get("qty"))
            if product is None:
                unmatched += 1
                continue
            before = pending.get(product, Decimal(0))
            pending[product] = None if before is None or qty is None else before + qty
        lines = []
        materials = (wo or {}).get("materials") or []
        for material in materials:
            product = material.get("product")
            required, consumed = _dec(material.get("qty")), _dec(material.get("qty_consumed"))
            mine = pending.pop(product, Decimal(0))
            lines.append(
                {
                    "product": product,
                    "uom": material.get("uom"),
                    "required": _text(required),
                    "consumed": _text(consumed),
                    "pending": _text(mine),
                    "remaining": _text(_remaining(required, consumed, mine)),
                }
            )
        for product, mine in pending.items():  # consumed into the WO but not in its BOM
            lines.append(
                {
                    "product": product,
                    "uom": None,
                    "required": None,
                    "consumed": None,
                    "pending": _text(mine),
                    "remaining": None,
                }
            )
        return {
            "kind": "consume",
            "work_order": number,
            "product": (wo or {}).get("product"),
            "status": (wo or {}).get("status"),
            "lines": lines,
            "pending_unknown": unmatched,
        }

    async def _output(self, number: str) -> dict[str, Any]:
        wo = await self._get("work_order", number) or {}
        pending: Decimal | None = Decimal(0)
        for envelope in await self._unacked("wo.output", "work_order", number):
            qty = _dec(envelope["body"].get("qty"))
            pending = None if pending is None or qty is None else pending + qty
        planned, produced = _dec(wo.get("qty_planned")), _dec(wo.get("qty_produced"))
        return {
            "kind": "output",
            "work_order": number,
            "product": wo.get("product"),
            "status": wo.get("status"),
            "uom": wo.get("uom"),
            "planned": _text(planned),
            "produced": _text(produced),
            "pending": _text(pending),
            "remaining": _text(_remaining(planned, produced, pending)),
        }

    async def _load(self, number: str) -> dict[str, Any]:
        shipment = await self._get("shipment", number)
        pending_lps: list[str] = []
        for envelope in await self._unacked("ship.load", "shipment", number):
            lp = str(envelope["body"].get("lp"))
            if lp not in pending_lps:
                pending_lps.append(lp)
        if shipment is None:
            return {
                "kind": "load",
                "shipment": number,
                "status": None,
                "planned": None,
                "loaded": None,
                "pending": len(pending_lps),
                "missing": [],
                "loaded_lps": [],
                "pending_lps": pending_lps,
            }
        planned = [str(lp) for lp in shipment.get("planned") or []]
        loaded = [str(lp) for lp in shipment.get("loaded") or []]
        pending_lps = [lp for lp in pending_lps if lp not in set(loaded)]
        done = set(loaded) | set(pending_lps)
        return {
            "kind": "load",
            "shipment": number,
            "status": shipment.get("status"),
            "planned": len(planned),
            "loaded": len(loaded),
            "pending": len(pending_lps),
            "missing": [lp for lp in planned if lp not in done][:MAX_MISSING],
            "loaded_lps": loaded,
            "pending_lps": pending_lps,
        }

    async def _count(self, session: str, location: str | None) -> dict[str, Any]:
        latest: dict[str, tuple[dict[str, Any], str]] = {}  # LP -> its last count, its state
        for action in await self.log.of_count_session(session):
            location = location or action.body.get("location")
            for entry in action.body.get("lps") or []:
                if isinstance(entry, dict) and entry.get("lp"):
                    latest[str(entry["lp"])] = (entry, action.state)
        lines, total = [], Decimal(0)
        for lp, (entry, state) in latest.items():
            cached = await self._get("lp", lp)
            counted, expected = _dec(entry.get("qty")), _dec((cached or {}).get("qty"))
            variance = None if counted is None or expected is None else counted - expected
            total += variance or Decimal(0)
            lines.append(
                {
                    "lp": lp,
                    "counted": _text(counted),
                    "expected": _text(expected),
                    "variance": _text(variance),
                    "uom": (cached or {}).get("uom"),
                    "state": state,
                }
            )
        return {
            "kind": "count",
            "session": session,
            "location": location,
            "lines": lines,
            "counted": len(lines),
            "variance": str(total),
        }

    async def _pick(self, station: str, current: str | None) -> dict[str, Any]:
        tasks: list[dict[str, Any]] = []
        if self.lookups is not None:
            found = self.config.station(station)
            try:
                listed = await self.lookups.tasks(station, found.task_locations if found else None)
                tasks = [dict(t) for t in listed.tasks]
            except EdgeError as err:
                log.warning("progress: the reference cache could not be read: %s", err)
        numbers = [str(t.get("number")) for t in tasks]
        picked = {
            str((e.get("body") or {}).get("task"))
            for e in await self.pending.mentioning(numbers)
            if e.get("type") == "pick.confirm"
        }
        for each in tasks:
            each["pending"] = str(each.get("number")) in picked
        task: dict[str, Any] | None = next(
            (t for t in tasks if str(t.get("number")) == current), None
        )
        if task is None and current:
            task = {"number": current, "pending": current in picked}
        upcoming = next((t.get("number") for t in tasks if not t["pending"]), None)
        return {"kind": "pick", "task": task, "tasks": tasks, "next": upcoming}
