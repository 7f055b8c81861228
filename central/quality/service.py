"""Quality holds over the API: list, read, hold and release.

Holding and releasing run the very code the floor's qc.hold / qc.release run
(appliers/quality.py) inside an ApplyContext of the API call, so an LP held from a kiosk and
one held from the API end up the same; the audit entry is the hold's cause.
"""

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.apply.context import ApplyContext
from central.db.enums import HoldStatus
from central.db.rows import as_dict, page
from central.db.tables import license_plates, products, quality_holds
from central.errors import ActionConflict, InvalidReference, NotFound
from central.quality.operations import (
    HoldChange,
    Stamp,
    Target,
    place_hold,
    release_holds,
)
from protocol import ConflictCode

# Names the request gave that do not exist: a bad request (422), not a state conflict.
_BAD_REFERENCES = (ConflictCode.LP_NOT_FOUND.value, ConflictCode.PRODUCT_NOT_FOUND.value)


@dataclass(frozen=True, slots=True)
class Hold:
    """A quality hold: its target, who held it and why, and its release if released."""

    id: int
    site: str
    lp: str | None
    lot: str | None
    product: str | None
    reason: str
    status: HoldStatus
    held_by: str
    held_at: datetime
    hold_cause: str
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None
    release_cause: str | None


@dataclass(frozen=True, slots=True)
class HoldOutcome:
    """The answer to a hold or a release: the hold, the LPs whose status changed, a sentence."""

    hold: Hold
    lps: list[str]
    message: str


def _query() -> Select[Any]:
    """Holds with the held LP's number and the product's code: the fields of Hold."""
    h = quality_holds.c
    return (
        select(
            h.id,
            h.site,
            license_plates.c.number.label("lp"),
            h.lot,
            products.c.code.label("product"),
            h.reason,
            h.status,
            h.held_by,
            h.held_at,
            h.hold_cause,
            h.released_by,
            h.released_at,
            h.release_reason,
            h.release_cause,
        )
        .select_from(quality_holds)
        .outerjoin(license_plates, license_plates.c.id == quality_holds.c.lp_id)
        .outerjoin(products, products.c.id == quality_holds.c.product_id)
    )


async def list_holds(
    conn: AsyncConnection,
    *,
    sites: list[str] | None,
    status: str | None = None,
    lp: str | None = None,
    lot: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Hold]:
    """Holds, newest first, of the given sites (None: all), optionally filtered."""
    limit, offset = page(limit, offset)
    query = _query().order_by(quality_holds.c.id.desc())
    if sites is not None:
        query = query.where(quality_holds.c.site.in_(sites))
    for column, value in (
        (quality_holds.c.status, status),
        (license_plates.c.number, lp),
        (quality_holds.c.lot, lot),
    ):
        if value is not None:
            query = query.where(column == value)
    return [Hold(**as_dict(row)) for row in await conn.execute(query.limit(limit).offset(offset))]


async def get_hold(conn: AsyncConnection, *, hold_id: int, caller: Caller | None = None) -> Hold:
    """One hold by id; NotFound when it does not exist or belongs to a site the caller
    cannot see."""
    row = (await conn.execute(_query().where(quality_holds.c.id == hold_id))).first()
    if row is None or (caller is not None and not caller.sees(row.site)):
        raise NotFound(f"hold {hold_id} does not exist", details={"id": hold_id})
    return Hold(**as_dict(row))


async def _run(ctx: ApplyContext, change: Awaitable[HoldChange]) -> HoldChange:
    """Await a hold or release; unknown names in the request become InvalidReference."""
    try:
        result = await change
    except ActionConflict as err:
        if err.code in _BAD_REFERENCES:
            raise InvalidReference(err.message, code=err.code) from err
        raise
    await ctx.flush()
    return result


async def create_hold(
    ctx: ApplyContext,
    *,
    caller: Caller,
    site: str,
    reason: str,
    lp: str | None = None,
    lot: str | None = None,
    item: str | None = None,
) -> HoldOutcome:
    """Put an LP (with its contents) or a lot on hold, as qc.hold does; audited."""
    conn = ctx.conn
    caller.require_site(site)
    target = Target(site, lp, lot, item)
    entry = await audit.record(
        conn,
        caller=caller,
        action="quality.hold",
        target=str(target),
        site=site,
        details={"lp": lp, "lot": lot, "item": item, "reason": reason},
    )
    change = await _run(
        ctx,
        place_hold(ctx, target, reason=reason, stamp=Stamp(caller.name, ctx.recorded_at, entry)),
    )
    return HoldOutcome(
        hold=await get_hold(conn, hold_id=change.hold_ids[0]),
        lps=change.lps,
        message=change.message,
    )


async def release_hold(
    ctx: ApplyContext,
    *,
    caller: Caller,
    hold_id: int,
    reason: str,
) -> HoldOutcome:
    """Release one hold, as qc.release does; its LPs come off hold unless another hold still
    covers them. HOLD_NOT_FOUND (409) when the hold was already released."""
    conn = ctx.conn
    row = (
        await conn.execute(
            select(quality_holds).where(quality_holds.c.id == hold_id).with_for_update()
        )
    ).first()
    if row is None or not caller.sees(row.site):
        raise NotFound(f"hold {hold_id} does not exist", details={"id": hold_id})
    if row.status != "active":
        raise ActionConflict(
            f"hold {hold_id} was already released",
            code=ConflictCode.HOLD_NOT_FOUND.value,
            details={"id": hold_id},
        )
    entry = await audit.record(
        conn,
        caller=caller,
        action="quality.release",
        target=f"hold {hold_id}",
        site=row.site,
        details={"reason": reason},
    )
    change = await _run(
        ctx,
        release_holds(ctx, [row], reason=reason, stamp=Stamp(caller.name, ctx.recorded_at, entry)),
    )
    return HoldOutcome(
        hold=await get_hold(conn, hold_id=hold_id), lps=change.lps, message=change.message
    )
