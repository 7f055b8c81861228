"""A count session against the books: one line per LP, and what approval will do with it.

The report and the approval read the same lines, so what a manager sees before approving is
what gets booked. An LP packed in an LP counted in the session counts with it (a pallet's
label scanned, its cartons under the wrap). What happens to LPs booked at the location that
nobody counted depends on the session's scope: a ``full`` count zeroes them, except held ones
(quality's stock: a count never writes it off by absence); a ``partial`` count leaves them
alone and only names them.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.enums import QTY_KINDS
from central.db.tables import count_lines, license_plates, locations, products, stock_moves
from central.inventory import nesting

CLOSED_LP = ("consumed", "shipped")


@dataclass(frozen=True, slots=True)
class VarianceLine:
    """One LP against the books: expected here, counted, variance, and what approval books
    (``adjustment``), or why it leaves the LP alone (``reason``)."""

    lp: str
    product: str | None
    uom: str | None
    book_location: str | None
    book_status: str | None
    book_qty: Decimal | None
    expected: Decimal
    counted: Decimal
    variance: Decimal
    counted_at: datetime | None
    missing: bool
    unexpected: bool
    unknown: bool
    changed_after_count: bool
    counted_with: str | None
    adjustment: Decimal | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class VarianceTotal:
    """Expected, counted and variance of one product at the session's location, and the
    adjustment approval would book of it (less than the variance where a line is not
    adjusted: held stock a full count did not find, an LP changed after it was counted)."""

    product: str
    uom: str
    expected: Decimal
    counted: Decimal
    variance: Decimal
    adjustment: Decimal


@dataclass(frozen=True, slots=True)
class Lines:
    """A session's lines; the LPs booked at its location nobody counted; and the time those
    count as counted (as absent) at."""

    lines: list[VarianceLine]
    uncounted: list[str]
    count_time: datetime


async def latest_lines(conn: AsyncConnection, session_id: int) -> dict[str, Any]:
    """The line that counts per LP number: latest device time, then latest recorded."""
    rows = await conn.execute(
        select(count_lines)
        .where(count_lines.c.session_id == session_id)
        .order_by(count_lines.c.counted_at, count_lines.c.id)
    )
    return {row.lp_number: row for row in rows}


async def _books(
    conn: AsyncConnection, session: Any, numbers: list[str]
) -> tuple[dict[str, Any], set[str]]:
    """LPs by number: those booked at the session's location (not empty, not gone) and those
    counted; and the numbers of the first kind."""
    base = (
        select(
            license_plates.c.id,
            license_plates.c.number,
            license_plates.c.qty,
            license_plates.c.uom,
            license_plates.c.status,
            license_plates.c.location_id,
            products.c.code.label("product"),
            locations.c.code.label("location"),
        )
        .join(products, products.c.id == license_plates.c.product_id)
        .join(locations, locations.c.id == license_plates.c.location_id)
        .where(license_plates.c.site == session.site)
    )
    booked = list(
        await conn.execute(
            base.where(
                license_plates.c.location_id == session.location_id,
                license_plates.c.qty > 0,
                license_plates.c.status.not_in(CLOSED_LP),
            )
        )
    )
    found = list(await conn.execute(base.where(license_plates.c.number.in_(numbers))))
    return {row.number: row for row in booked + found}, {row.number for row in booked}


async def _last_activity(conn: AsyncConnection, ids: list[int]) -> dict[int, datetime]:
    """The device time of each LP's latest quantity row."""
    rows = await conn.execute(
        select(stock_moves.c.lp_id, func.max(stock_moves.c.occurred_at))
        .where(stock_moves.c.lp_id.in_(ids), stock_moves.c.kind.in_(QTY_KINDS))
        .group_by(stock_moves.c.lp_id)
    )
    return dict(rows.all())


async def _counted_with(
    conn: AsyncConnection, books: dict[str, Any], uncounted: list[str], counted: dict[str, Any]
) -> dict[str, str]:
    """Uncounted LPs packed (any depth) in an LP the session counted above 0: the number of
    the nearest such LP. A pallet counted at 0 is gone, and vouches for nothing on it."""
    vouching = {books[n].id: n for n, line in counted.items() if n in books and line.qty > 0}
    if not vouching or not uncounted:
        return {}
    ancestors = await nesting.ancestor_ids(conn, [books[n].id for n in uncounted])
    found = {}
    for number in uncounted:
        ups = ancestors.get(books[number].id, [])  # the nearest first
        hit = next((vouching[up] for up in ups if up in vouching), None)
        if hit is not None:
            found[number] = hit
    return found


async def variance_lines(conn: AsyncConnection, session: Any) -> Lines:
    """Every line of a session (a ``session_row``) against the books as they are now."""
    counted = await latest_lines(conn, session.id)
    # Uncounted LPs were "counted" (as absent) when the session's last line was taken.
    count_time = max((line.counted_at for line in counted.values()), default=session.created_at)
    books, here = await _books(conn, session, list(counted))
    activity = await _last_activity(conn, [row.id for row in books.values()])
    not_counted = sorted(here - set(counted))
    covered = await _counted_with(conn, books, not_counted, counted)
    lines, uncounted = [], []
    for number in sorted(set(books) | set(counted)):
        book, line = books.get(number), counted.get(number)
        if line is None and number not in covered:
            uncounted.append(number)
            if session.scope != "full":
                continue  # a partial count says nothing about the LPs it did not count
        lines.append(_line(number, book, line, here, activity, count_time, covered.get(number)))
    return Lines(lines, uncounted, count_time)


def _line(
    number: str,
    book: Any,
    line: Any,
    here: set[str],
    activity: dict[int, datetime],
    count_time: datetime,
    counted_with: str | None,
) -> VarianceLine:
    """One LP's line: counted (or, uncounted in a full count, counted as absent, or counted
    with the LP it is packed in) against its books."""
    expected = book.qty if book is not None and number in here else Decimal(0)
    qty = line.qty if line is not None else Decimal(0)
    at = line.counted_at if line is not None else count_time
    changed, adjustment, reason = False, None, None
    if counted_with is not None:
        qty = expected  # as booked: the count of the LP it is packed in speaks for it
        reason = f"LP {number} is packed in LP {counted_with}, which was counted: it counts with it"
    elif book is not None and book.status in CLOSED_LP:
        reason = f"LP {number} is {book.status}"
    elif book is not None:
        # The books moved on after the count (a move, a consumption): latest device time
        # wins, so this count no longer says anything about the LP. Count it again.
        changed = bool(activity.get(book.id) and activity[book.id] > at)
        if changed:
            reason = f"LP {number} changed after it was counted; count it again"
        elif line is None and book.status == "on_hold":
            reason = (
                f"LP {number} is on quality hold: a count never zeroes held stock it did not "
                "find; count it, or ask quality"
            )
        else:
            adjustment = qty - book.qty
    return VarianceLine(
        lp=number,
        product=book.product if book else None,
        uom=book.uom if book else None,
        book_location=book.location if book else None,
        book_status=book.status if book else None,
        book_qty=book.qty if book else None,
        expected=expected,
        counted=qty,
        variance=qty - expected,
        counted_at=line.counted_at if line else None,
        missing=line is None and counted_with is None,
        unexpected=book is not None and number not in here,
        unknown=book is None,
        changed_after_count=changed,
        counted_with=counted_with,
        adjustment=adjustment,
        reason=reason,
    )


def totals(lines: list[VarianceLine]) -> list[VarianceTotal]:
    """Expected, counted, variance and adjustment per product (unknown LPs have no product)."""
    units: dict[str, str] = {}
    sums: dict[str, list[Decimal]] = {}
    for line in lines:
        if line.product is None or line.uom is None:  # both come from the books, or neither
            continue
        units.setdefault(line.product, line.uom)
        total = sums.setdefault(line.product, [Decimal(0)] * 4)
        total[0] += line.expected
        total[1] += line.counted
        total[2] += line.variance
        total[3] += line.adjustment or Decimal(0)
    return [
        VarianceTotal(
            product=code,
            uom=units[code],
            expected=sums[code][0],
            counted=sums[code][1],
            variance=sums[code][2],
            adjustment=sums[code][3],
        )
        for code in sorted(sums)
    ]
