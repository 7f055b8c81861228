"""Follows central's reference data into the edge's cache: deltas, the head, snapshots.

Per kind the deltas form a chain (``prev`` -> ``id``). A delta applies when
``prev <= last_id < id``; one at or below ``last_id`` is a repeat (dropped); one whose ``prev``
is above ``last_id`` shows a gap, and the edge asks for a snapshot of that kind. An edge that
never had a kind complete asks for it at the start of each link; the retained head tells an
edge coming back how far central got, and a kind still behind it after ``catchup_seconds``
(the deltas did not come: they were published while the edge was away) is asked for too.

Central may be older than the edge: a kind added after the first ones (``FIRST_KINDS``; the
shipment) is asked for only once central's retained head lists it, since an older central
refuses a request that names a kind it does not know. So a link's first request waits (at
most ``HEAD_WAIT``) for the head, which the broker hands over at once when central ever
published one. A request for exactly the first kinds is sent with no kinds (what edges of that
time sent, and every central answers alike).

A snapshot arrives as pages on the edge's own topic. They are staged on disk and swapped in
together when the last one is in; deltas of those kinds arriving meanwhile are held and
applied after the swap when they follow its ``as_of``. A request that gets no complete answer
is asked again (a new id) after a timeout that doubles up to a minute.

Every message must carry central's signature (the key the edge checks central's state with):
anything else, or a signed message of another site, is counted, logged and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from edge.ref_store import Chain, RefStore, RefStoreError
from protocol import SignatureRefused, format_ts
from protocol.ref import (
    FIRST_KINDS,
    HEAD,
    REF_KINDS,
    RefDelta,
    RefHead,
    RefSnapshotPage,
    RefSnapshotRequest,
    read_ref,
    sign_request,
)
from protocol.topics import ref_filter, ref_request_topic, ref_snapshot_topic, ref_topic

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], Awaitable[None]]
MAX_HELD = 10_000  # deltas held per kind during a snapshot; beyond, the swap asks again
MAX_SNAPSHOT_WAIT = 60.0
MIN_WAIT = 0.05
# How long a link's first request waits for central's retained head (it comes at once when
# central ever published one), so one request asks for every kind central publishes.
HEAD_WAIT = 1.0


@dataclass(frozen=True)
class Freshness:
    """What the cache knows of one kind: when central was last heard, and why it may be old."""

    as_of: str | None
    reasons: tuple[str, ...]  # empty: complete and up to the head central announced


@dataclass
class _Request:
    id: str
    kinds: tuple[str, ...]
    deadline: float
    pages: int | None = None
    received: set[int] | None = None


class RefFollower:
    """Applies signed reference messages to the cache; asks for snapshots when it must."""

    def __init__(
        self,
        store: RefStore,
        *,
        site: str,
        edge: str,
        secret: str,
        central_key: bytes,
        snapshot_timeout: float = 10.0,
        catchup_seconds: float = 2.0,
        keep: dict[str, timedelta] | None = None,
        max_items: int = 200_000,
        prune_interval: float = 300.0,
    ) -> None:
        self.store = store
        self.site, self.edge = site, edge
        self._secret = secret
        self._central_key = central_key
        self.snapshot_timeout = snapshot_timeout
        self.catchup_seconds = catchup_seconds
        self.keep = keep if keep is not None else {}
        self.max_items = max_items
        self.prune_interval = prune_interval
        self._chains: dict[str, Chain] = {k: Chain(k) for k in REF_KINDS}
        self._heads: dict[str, int] = {}
        self._behind_since: dict[str, float] = {}
        self._wanted: set[str] = set()
        # Kinds central is not known to publish: the later ones, until a head lists them.
        self._unpublished: set[str] = set(REF_KINDS) - set(FIRST_KINDS)
        self._told: set[str] = set()  # what the log last said central does not publish
        self._head_seen = False
        self._asks_from = 0.0  # monotonic time from which the link's first request may go
        self._request: _Request | None = None
        self._timeout = snapshot_timeout
        self._held: dict[str, list[RefDelta]] = {}
        self._poke = asyncio.Event()
        self._publish: Publish | None = None
        self._next_prune = 0.0
        # Figures for the local API and the logs.
        self.applied = 0
        self.repeats = 0
        self.gaps = 0
        self.refused = 0
        self.snapshot_requests = 0
        self.snapshots = 0

    async def load(self) -> None:
        """Read the chain positions from the cache file (once, before the first link)."""
        self._chains = await self.store.chains()

    # -- the link -------------------------------------------------------------------------

    def topics(self) -> tuple[str, str]:
        """What the sync loop subscribes to for this follower."""
        return ref_filter(self.site), ref_snapshot_topic(self.site, self.edge)

    def owns(self, topic: str) -> bool:
        """True for the topics of :meth:`topics` (so the sync loop hands the message here)."""
        kinds = ref_filter(self.site).removesuffix("#")  # ioe/v1/{site}/ref/
        return topic.startswith(kinds) or topic == ref_snapshot_topic(self.site, self.edge)

    async def run(self, publish: Publish) -> None:
        """One link's life: ask for what is missing, then watch timeouts, until cancelled."""
        self._publish = publish
        self._requeue()  # an answer to a request of the previous link may never come
        self._timeout = self.snapshot_timeout
        self._wanted |= {k for k, c in self._chains.items() if not c.synced}
        self._asks_from = time.monotonic() + (0.0 if self._head_seen else HEAD_WAIT)
        try:
            while True:
                self._poke.clear()  # before the tick: a poke during it wakes the next wait
                try:
                    await self._tick()
                except RefStoreError as err:  # a full disk: lookups go stale, the edge runs on
                    log.error("%s; trying again", err)
                # Never less than a moment: a deadline already past must not make this spin.
                delay = max(MIN_WAIT, self._next_wake() - time.monotonic())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._poke.wait()
        finally:
            self._publish = None

    def link_down(self) -> None:
        """The broker link is gone: what central says meanwhile is not heard."""
        self._publish = None
        self._requeue()
        self._behind_since.clear()

    def _requeue(self) -> None:
        """Give up on the request in progress; its kinds are asked for on the next link."""
        if self._request is not None:
            self._wanted |= set(self._request.kinds)
            self._request = None

    async def on_message(self, topic: str, payload: bytes) -> None:
        """One message from a reference topic: verified, then applied, held or dropped."""
        try:
            if topic == ref_snapshot_topic(self.site, self.edge):
                await self._on_page(read_ref(payload, self._central_key, RefSnapshotPage))
            elif topic == ref_topic(self.site, HEAD):
                if payload:  # a cleared retained head says nothing
                    await self._on_head(read_ref(payload, self._central_key, RefHead))
            else:
                delta = read_ref(payload, self._central_key, RefDelta)
                if topic != ref_topic(self.site, delta.kind):
                    raise SignatureRefused("REF_WRONG_TOPIC", f"a {delta.kind} delta on {topic}")
                await self._on_delta(delta)
        except SignatureRefused as refused:
            self.refused += 1
            log.warning(
                "reference message on %s dropped (%s): %s", topic, refused.reason, refused.message
            )
        except RefStoreError as err:
            # The cache file failed under us: start that part over from a snapshot.
            log.error("%s; asking central for a snapshot", err)
            self._want(REF_KINDS)

    # -- what the API shows ---------------------------------------------------------------

    def freshness(self, kind: str) -> Freshness:
        """When central was last heard for ``kind``, and why its records may be out of date."""
        # A kind this edge does not follow (yet) was never synced: not an error for a caller.
        chain = self._chains.get(kind) or Chain(kind)
        reasons = []
        if not chain.synced:
            reasons.append("never_synced")
        if kind in self._wanted or (self._request is not None and kind in self._request.kinds):
            reasons.append("snapshot_pending")
        if self._heads.get(kind, 0) > chain.last_id:
            reasons.append("behind_head")
        return Freshness(chain.as_of, tuple(reasons))

    def status(self) -> dict[str, object]:
        """Chain positions and counters, for the local API."""
        return {
            "chains": {
                k: {"last_id": c.last_id, "head": self._heads.get(k, 0), "as_of": c.as_of}
                for k, c in self._chains.items()
            },
            "snapshot_pending": sorted(
                self._wanted | set(self._request.kinds if self._request else ())
            ),
            "applied": self.applied,
            "repeats": self.repeats,
            "gaps": self.gaps,
            "refused": self.refused,
            "snapshot_requests": self.snapshot_requests,
            "snapshots": self.snapshots,
        }

    # -- deltas ---------------------------------------------------------------------------

    async def _on_delta(self, delta: RefDelta) -> None:
        if delta.site != self.site:
            raise SignatureRefused("REF_WRONG_SITE", f"a delta of site {delta.site}")
        kind = delta.kind
        if self._snapshot_covers(kind):
            held = self._held.setdefault(kind, [])
            if len(held) < MAX_HELD:
                held.append(delta)
            return
        await self._follow(delta)

    async def _follow(self, delta: RefDelta) -> None:
        """Apply a delta that continues the chain; drop a repeat; ask after a gap."""
        kind, chain = delta.kind, self._chains[delta.kind]
        if delta.id <= chain.last_id:
            self.repeats += 1
            log.debug("%s delta %d: already applied (at %d)", kind, delta.id, chain.last_id)
            return
        if delta.prev > chain.last_id:
            self.gaps += 1
            log.warning(
                "%s deltas %d..%d missed (at %d, got %d after %d): asking for a snapshot",
                kind,
                chain.last_id + 1,
                delta.prev,
                chain.last_id,
                delta.id,
                delta.prev,
            )
            self._held.setdefault(kind, []).append(delta)
            self._want((kind,))
            return
        now = datetime.now(UTC)
        synced = chain.synced or delta.prev == 0
        await self.store.apply_delta(kind, delta.id, delta.items, synced=synced, now=now)
        self._chains[kind] = Chain(kind, delta.id, format_ts(now), synced)
        self.applied += 1
        if self._heads.get(kind, 0) <= delta.id:
            self._behind_since.pop(kind, None)

    # -- the head -------------------------------------------------------------------------

    async def _on_head(self, head: RefHead) -> None:
        if head.site != self.site:
            raise SignatureRefused("REF_WRONG_SITE", f"a head of site {head.site}")
        self._heads.update({k: v for k, v in head.heads.items() if k in self._chains})
        self._head_seen = True
        self._published(set(REF_KINDS) - set(head.heads))
        now = time.monotonic()
        level = []
        for kind in REF_KINDS:
            if self._heads.get(kind, 0) > self._chains[kind].last_id:
                self._behind_since.setdefault(kind, now)
            else:
                self._behind_since.pop(kind, None)
                level.append(kind)
        # Central was heard: a kind at its head is fresh as of now.
        await self.store.heard(level, datetime.now(UTC))
        stamp = format_ts(datetime.now(UTC))
        for kind in level:
            chain = self._chains[kind]
            self._chains[kind] = Chain(kind, chain.last_id, stamp, chain.synced)
        self._poke.set()

    def _published(self, unpublished: set[str]) -> None:
        """Central publishes every kind but ``unpublished``; a kind it now publishes that
        this edge never had whole is asked for (central was upgraded)."""
        added = self._unpublished - unpublished
        if unpublished and unpublished != self._told:
            log.warning(
                "central does not publish %s (it is older than this edge): not asked for",
                ", ".join(sorted(unpublished)),
            )
        self._unpublished, self._told = unpublished, unpublished
        self._wanted -= unpublished
        wanted = [k for k in REF_KINDS if k in added and not self._chains[k].synced]
        if wanted:
            self._want(wanted)

    # -- snapshots ------------------------------------------------------------------------

    def _snapshot_covers(self, kind: str) -> bool:
        return kind in self._wanted or (self._request is not None and kind in self._request.kinds)

    def _want(self, kinds: tuple[str, ...] | list[str]) -> None:
        self._wanted |= set(kinds)
        self._poke.set()

    async def _ask(self) -> None:
        """Send a request for every kind wanted (and those of a request in progress)."""
        if self._publish is None:
            return
        kinds = set(self._wanted)
        if self._request is not None:
            kinds |= set(self._request.kinds)
        kinds -= self._unpublished
        self._wanted -= self._unpublished
        ordered = tuple(k for k in REF_KINDS if k in kinds)
        if not ordered:
            self._request = None
            return
        request = RefSnapshotRequest(
            id=uuid.uuid4().hex,
            site=self.site,
            edge=self.edge,
            kinds=[] if ordered == FIRST_KINDS else list(ordered),  # type: ignore[arg-type]
            ts=format_ts(datetime.now(UTC)),
        )
        # Taken over before any await: a gap seen meanwhile is wanted anew, not lost.
        self._request = _Request(request.id, ordered, time.monotonic() + self._timeout)
        self._wanted.clear()
        await self.store.drop_staged()
        self.snapshot_requests += 1
        log.info("asking central for a snapshot of %s (request %s)", ", ".join(ordered), request.id)
        await self._publish(
            ref_request_topic(self.site, self.edge), sign_request(request, self._secret)
        )

    async def _on_page(self, page: RefSnapshotPage) -> None:
        request = self._request
        if page.site != self.site or page.edge != self.edge:
            raise SignatureRefused("REF_WRONG_EDGE", f"a page for {page.site}/{page.edge}")
        if request is None or page.request != request.id:
            log.info("snapshot page of request %s ignored: not the one asked for", page.request)
            return
        await self.store.stage(request.id, page.kind, page.items)
        if self._request is not request:
            return  # asked again meanwhile: this request's pages are of no use now
        if request.received is None or request.pages != page.pages:
            request.pages, request.received = page.pages, set()
        request.received.add(page.page)
        if len(request.received) < page.pages:
            return
        as_of = {k: v for k, v in page.as_of.items() if k in request.kinds}
        await self.store.swap(request.id, as_of, datetime.now(UTC))
        self.snapshots += 1
        if self._request is request:
            self._request = None
            self._timeout = self.snapshot_timeout
        self._chains = await self.store.chains()
        missing = [k for k in request.kinds if k not in as_of]
        if missing:
            log.error("snapshot %s left out %s; asking again", request.id, ", ".join(missing))
            self._want(missing)
        log.info("snapshot swapped in: %s", ", ".join(f"{k} at {v}" for k, v in as_of.items()))
        for kind in as_of:
            self._behind_since.pop(kind, None)
            if self._heads.get(kind, 0) > as_of[kind]:
                self._behind_since[kind] = time.monotonic()
            for delta in sorted(self._held.pop(kind, []), key=lambda d: d.id):
                await self._on_delta(delta)  # applied, dropped as a repeat, or held again
        self._poke.set()

    # -- timers ---------------------------------------------------------------------------

    async def _tick(self) -> None:
        now = time.monotonic()
        late = [k for k, since in self._behind_since.items() if now - since >= self.catchup_seconds]
        if late:
            log.warning(
                "%s behind central's head and no delta came: asking for a snapshot",
                ", ".join(sorted(late)),
            )
            for kind in late:
                self._behind_since.pop(kind)
            self._want([k for k in late if not self._snapshot_covers(k)])
        request = self._request
        if request is not None and now >= request.deadline:
            self._timeout = min(self._timeout * 2, MAX_SNAPSHOT_WAIT)
            log.warning(
                "no complete snapshot for request %s; asking again (next wait %.0fs)",
                request.id,
                self._timeout,
            )
            await self._ask()
        elif self._wanted and (self._head_seen or now >= self._asks_from):
            await self._ask()
        if now >= self._next_prune:
            self._next_prune = now + self.prune_interval
            try:
                removed = await self.store.prune(self.keep, self.max_items, datetime.now(UTC))
            except RefStoreError as err:
                log.error("%s", err)
            else:
                if removed:
                    log.info("reference cache pruned: %s", removed)

    def _next_wake(self) -> float:
        times = [self._next_prune]
        if self._request is not None:
            times.append(self._request.deadline)
        elif self._wanted and not self._head_seen:
            times.append(self._asks_from)
        times += [since + self.catchup_seconds for since in self._behind_since.values()]
        return min(times)
