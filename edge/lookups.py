"""Answers to the stations' questions from the reference cache, with how fresh they are.

Each answer says when the edge last heard from central for that kind (``as_of``) and whether
it may be out of date (``stale``, with the reasons: the broker or central is away, the kind
trails central's head, a snapshot is pending, the kind was never complete). An LP answer also
carries this edge's own actions on it that central has not acknowledged yet, applied on top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.errors import NotInCacheError
from edge.pending_index import PendingIndex
from edge.queue import ActionQueue
from edge.ref_follow import RefFollower
from edge.ref_overlay import Overlaid, Source, needles, overlay_lp
from edge.ref_store import RefStore

# The word a 404 uses for each kind.
KIND_NAMES = {
    "lp": "LP",
    "product": "product",
    "location": "location",
    "work_order": "work order",
    "task": "task",
    "shipment": "shipment",
}


@dataclass
class Lookup:
    """One record as the edge knows it."""

    kind: str
    key: str
    data: dict[str, Any]
    as_of: str | None
    stale: bool
    stale_reasons: list[str]
    pending: bool = False
    pending_actions: list[str] = field(default_factory=list)
    cached: dict[str, Any] | None = None  # central's summary, when pending actions change it


@dataclass
class TaskList:
    """Open pick tasks for a station, in wave and sequence order."""

    station: str | None
    tasks: list[dict[str, Any]]
    as_of: str | None
    stale: bool
    stale_reasons: list[str]


def _sort_key(task: dict[str, Any]) -> tuple[str, int, str]:
    sequence = task.get("sequence")
    return (
        str(task.get("wave") or ""),
        sequence if isinstance(sequence, int) else 0,
        str(task.get("number")),
    )


def location_matches(code: Any, patterns: list[str]) -> bool:
    """True when ``code`` is one of ``patterns`` or starts with one ending in ``*``."""
    text = str(code or "")
    return any(text.startswith(p[:-1]) if p.endswith("*") else text == p for p in patterns)


class RefLookups:
    """The lookups the local API serves."""

    def __init__(
        self,
        store: RefStore,
        follower: RefFollower,
        queue: ActionQueue,
        link: Callable[[], dict[str, Any]],
    ) -> None:
        self.store, self.follower, self.queue, self._link = store, follower, queue, link
        self.pending = PendingIndex(queue)

    def freshness(self, kind: str) -> tuple[str | None, list[str]]:
        """``as_of`` and the stale reasons of a kind, the link's included."""
        fresh = self.follower.freshness(kind)
        reasons = list(fresh.reasons)
        link = self._link()
        if not link.get("broker_connected"):
            reasons.insert(0, "broker_offline")
        elif not link.get("central_online"):
            reasons.insert(0, "central_offline")
        return fresh.as_of, reasons

    async def _answer(self, kind: str, key: str, data: dict[str, Any] | None) -> Lookup:
        as_of, reasons = self.freshness(kind)
        if data is None:
            raise await self._missing(kind, key, as_of, reasons)
        return Lookup(kind, key, data, as_of, bool(reasons), reasons)

    async def _missing(
        self, kind: str, key: str, as_of: str | None, reasons: list[str]
    ) -> NotInCacheError:
        empty = not await self.store.holds_any(kind)
        state = "empty" if empty else ("stale" if reasons else "current")
        why = {
            "empty": "the cache holds none yet",
            "stale": f"the cache may be out of date: {', '.join(reasons)}",
            "current": "the cache is up to date with central",
        }[state]
        return NotInCacheError(
            f"{KIND_NAMES.get(kind, kind)} {key} is not in this edge's reference cache ({why})",
            details={
                "kind": kind,
                "key": key,
                "cache": state,
                "stale_reasons": reasons,
                "as_of": as_of,
            },
        )

    async def status(self) -> dict[str, Any]:
        """Per kind: chain position, central's head, records, freshness; and the counters."""
        counts = await self.store.counts()
        figures = self.follower.status()
        chains: dict[str, dict[str, Any]] = figures.pop("chains")  # type: ignore[assignment]
        for kind, chain in chains.items():
            as_of, reasons = self.freshness(kind)
            chain.update(records=counts.get(kind, 0), stale=bool(reasons), stale_reasons=reasons)
        return {"kinds": chains, **figures}

    async def lp(self, number: str) -> Lookup:
        """An LP: central's summary with this edge's unacked actions on it applied."""
        cached = await self.store.get("lp", number)
        pending = await self.pending.mentioning(needles(number, cached))
        sources: dict[str, Source] = {}
        for envelope in pending:
            source = (envelope.get("body") or {}).get("lp")
            if isinstance(source, str) and source != number and source not in sources:
                found = await self.store.get("lp", source)
                mentions = await self.pending.mentioning(needles(source, found))
                sources[source] = Source(found, mentions)
        result = overlay_lp(number, cached, pending, sources)
        if result.data is not None and result.data.get("parent"):
            await self._moved_with_parent(number, result, pending)
        as_of, reasons = self.freshness("lp")
        if result.data is None:
            raise await self._missing("lp", number, as_of, reasons)
        return Lookup(
            "lp",
            number,
            result.data,
            as_of,
            bool(reasons),
            reasons,
            pending=bool(result.actions),
            pending_actions=result.actions,
            cached=cached if result.actions else None,
        )

    async def _moved_with_parent(
        self, number: str, result: Overlaid, pending: list[dict[str, Any]]
    ) -> None:
        """An LP packed on a pallet goes where the pallet goes: this edge's unacked moves of
        its parent since it was packed there move it too."""
        assert result.data is not None
        parent = str(result.data["parent"])
        packed = [
            e.get("seq") for e in pending if e.get("type") == "lp.pack" and _body(e, "lp") == number
        ]
        since = max((s for s in packed if isinstance(s, int)), default=0)
        for envelope in await self.pending.mentioning([parent]):
            seq = envelope.get("seq")
            if envelope.get("type") != "lp.move" or _body(envelope, "lp") != parent:
                continue
            if isinstance(seq, int) and seq > since:
                result.data["location"] = _body(envelope, "to_location")
                result.actions.append(str(envelope.get("id")))

    async def product(self, code_or_gtin: str) -> Lookup:
        """A product by its code, or by any of its GTINs (8, 12, 13 or 14 digits)."""
        data = await self.store.get("product", code_or_gtin)
        if data is None:
            data = await self.store.product_by_gtin(code_or_gtin)
        return await self._answer("product", code_or_gtin, data)

    async def location(self, code: str) -> Lookup:
        """A location by its code."""
        return await self._answer("location", code, await self.store.get("location", code))

    async def work_order(self, number: str) -> Lookup:
        """A work order by its number."""
        return await self._answer("work_order", number, await self.store.get("work_order", number))

    async def shipment(self, number: str) -> Lookup:
        """A shipment by its number: its orders, the LPs planned on it and those loaded."""
        return await self._answer("shipment", number, await self.store.get("shipment", number))

    async def tasks(self, station: str | None, locations: list[str] | None) -> TaskList:
        """Open pick tasks (assigned or not), for a station's locations when it has some."""
        tasks = await self.store.open_records("task")
        if locations:
            tasks = [t for t in tasks if location_matches(t.get("location"), locations)]
        tasks.sort(key=_sort_key)
        as_of, reasons = self.freshness("task")
        return TaskList(station, tasks, as_of, bool(reasons), reasons)


def _body(envelope: dict[str, Any], field: str) -> Any:
    body = envelope.get("body")
    return body.get(field) if isinstance(body, dict) else None
