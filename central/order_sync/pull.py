"""Pulling an order system's pages over HTTP (httpx): ``GET {url}?since=...&cursor=...``
answered ``{"orders": [...], "shipments": [...], "next_cursor": "..." | null}``, followed
until the cursor runs out. Each page is applied in its own transaction; a page request is
retried with a doubling wait on connection errors, timeouts, 429 and 5xx answers, a bounded
number of times, then the pull fails with a clear reason (pages applied so far stay, and the
next pull asks again from the last success)."""

import asyncio
import functools
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from central.access.callers import Caller
from central.apply.context import ApplyContext
from central.apply.refs import ReferenceCache
from central.clock import now
from central.db.types import as_utc
from central.order_sync import runs
from central.order_sync.page import apply_page
from central.order_sync.report import SyncReport
from central.order_sync.source import SourceOrder, SourceShipment
from central.settings import CentralSettings

log = logging.getLogger(__name__)


class SourceFailed(Exception):
    """The order system did not answer a page usably (after the retries)."""


class SourcePage(BaseModel):
    """A page's frame; its orders and shipments are read one by one, so one bad order is
    reported without losing the rest of the page."""

    orders: list[Any]
    shipments: list[Any] = []
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Pull:
    """How to pull: where from, for which site, and how patiently."""

    url: str
    site: str
    token: str | None = None
    retries: int = 4
    backoff: float = 0.5
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class PullResult:
    """What a pull did: its report, what it asked for, and why it failed (None: it did not)."""

    run_id: int
    since: datetime | None
    report: SyncReport
    error: str | None

    @property
    def ok(self) -> bool:
        """True when every page was fetched and applied."""
        return self.error is None


@functools.cache
def _tls() -> ssl.SSLContext:
    """The system's CA store, loaded once per process (each load costs ~80 ms)."""
    return ssl.create_default_context()


def stamp(at: datetime) -> str:
    """A time as the ``since`` parameter carries it: ISO 8601 UTC with a Z."""
    return as_utc(at).isoformat().replace("+00:00", "Z")


async def fetch_page(
    client: httpx.AsyncClient, pull: Pull, since: datetime | None, cursor: str | None
) -> SourcePage:
    """One page, retried on failures that may pass; SourceFailed when they do not."""
    params = {"since": stamp(since)} if since is not None else {}
    if cursor is not None:
        params["cursor"] = cursor
    for attempt in range(pull.retries + 1):
        last = attempt == pull.retries
        try:
            response = await client.get(pull.url, params=params)
        except httpx.TransportError as err:  # connect, read, write, timeout, protocol
            reason = f"{type(err).__name__}: {err or 'no answer'}"
        else:
            if response.status_code == 200:
                return _page(response)
            reason = f"HTTP {response.status_code}"
            if response.status_code != 429 and response.status_code < 500:
                raise SourceFailed(f"{pull.url} answered {reason}: {response.text[:200]}")
        if last:
            break
        wait = pull.backoff * 2**attempt
        log.warning("order source %s: %s; retrying in %.1f s", pull.url, reason, wait)
        await asyncio.sleep(wait)
    raise SourceFailed(f"{pull.url} failed {pull.retries + 1} time(s), last: {reason}")


def _page(response: httpx.Response) -> SourcePage:
    """The page frame of a 200 answer, or SourceFailed naming what is wrong with it."""
    try:
        return SourcePage.model_validate_json(response.content)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise SourceFailed(f"not a page of orders ({where}: {first['msg']})") from err


def _read(page: SourcePage, report: SyncReport) -> tuple[list[SourceOrder], list[SourceShipment]]:
    """The page's valid orders and shipments; the others reported as errors."""
    orders, shipments = [], []
    for raw in page.orders:
        try:
            orders.append(SourceOrder.model_validate(raw))
        except ValidationError as err:
            report.errors.append(_invalid("INVALID_ORDER", raw, "number", err))
    for raw in page.shipments:
        try:
            shipments.append(SourceShipment.model_validate(raw))
        except ValidationError as err:
            report.errors.append(_invalid("INVALID_SHIPMENT", raw, "tracking_number", err))
    return orders, shipments


def _invalid(code: str, raw: Any, key: str, err: ValidationError) -> dict[str, Any]:
    """A report error for an order or shipment that does not match the format."""
    name = raw.get(key) if isinstance(raw, dict) else None
    problems = [f"{'.'.join(str(p) for p in e['loc']) or key}: {e['msg']}" for e in err.errors()]
    return {
        key: name if isinstance(name, str) else None,
        "code": code,
        "message": "; ".join(problems[:5]),
        "details": problems,
    }


def puller(site: str) -> Caller:
    """Who a pull acts as where it writes in someone's name (the audit of an automatic
    release): the order sync, with the planning role at the pulled site only."""
    return Caller("order-sync", frozenset({"planning"}), frozenset({site}))


async def pull_orders(
    engine: AsyncEngine,
    pull: Pull,
    *,
    since: datetime | None = None,
    full: bool = False,
    settings: CentralSettings | None = None,
) -> PullResult:
    """Pull every page changed since ``since`` (default: the start of the last successful
    pull from this source for this site; ``full``: everything) and apply them; ``settings``
    are central's (read from the environment when not given)."""
    started = now()
    async with engine.begin() as conn:
        if not full and since is None:
            since = await runs.last_success(conn, site=pull.site, source=pull.url)
        since = None if full else since
        run_id = await runs.start(conn, site=pull.site, source=pull.url, since=since, at=started)
    report, error = SyncReport(), None
    headers = {"Authorization": f"Bearer {pull.token}"} if pull.token else {}
    try:
        async with httpx.AsyncClient(
            timeout=pull.timeout, headers=headers, verify=_tls()
        ) as client:
            await _pages(engine, client, pull, since, report, settings or CentralSettings())
    except SourceFailed as err:
        error = str(err)
    except asyncio.CancelledError:  # central stopping: the run says it did not finish
        await asyncio.shield(_end(engine, run_id, report, "stopped before the last page"))
        raise
    except Exception as err:  # the database failed under a page: the run still says so
        error = f"{type(err).__name__}: {err}"
        await _end(engine, run_id, report, error)
        raise
    await _end(engine, run_id, report, error)
    return PullResult(run_id=run_id, since=since, report=report, error=error)


async def _pages(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    pull: Pull,
    since: datetime | None,
    report: SyncReport,
    settings: CentralSettings,
) -> None:
    """Fetch and apply pages until the source gives no next cursor."""
    cursor: str | None = None
    seen: set[str] = set()
    refs, caller = ReferenceCache(), puller(pull.site)
    while True:
        page = await fetch_page(client, pull, since, cursor)
        orders, shipments = _read(page, report)
        async with engine.begin() as conn:
            at = now()
            ctx = ApplyContext(conn, settings, refs, recorded_at=at, cause="api")
            await apply_page(
                ctx,
                caller=caller,
                site=pull.site,
                orders=orders,
                shipments=shipments,
                at=at,
                report=report,
            )
            await ctx.finish()
        cursor = page.next_cursor
        if not cursor:
            return
        if cursor in seen:
            raise SourceFailed(f"the source sent cursor {cursor!r} twice: its pages loop")
        seen.add(cursor)


async def _end(engine: AsyncEngine, run_id: int, report: SyncReport, error: str | None) -> None:
    """Record the pull's end: succeeded, or failed with the reason in its report."""
    body = report.as_dict() | ({"failure": error} if error else {})
    async with engine.begin() as conn:
        await runs.finish(
            conn, run_id, status="failed" if error else "succeeded", report=body, at=now()
        )
