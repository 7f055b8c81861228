"""The flat side of a recall: what a quality manager acts on once a trace has walked.

A trace's tree says how material went; the summary says what to do about it: each product
and lot reached (how many LPs, how much they hold now), and which of the LPs are on hold,
used up (consumed) or gone (shipped). It is built from the LPs the trace reached, each once,
so it costs one pass over them and no query.
"""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TypedDict


class TraceLp(TypedDict):
    """An LP as a genealogy trace shows it."""

    number: str
    site: str
    product: str
    lot: str | None
    expiry: date | None
    qty: Decimal
    uom: str
    status: str
    location: str
    parent: str | None


class ReachedLot(TypedDict):
    """One product and lot a trace reached, at one site: how many LPs, and what they hold."""

    product: str
    lot: str | None
    site: str
    uom: str
    lps: int
    qty: Decimal


class RecallSummary(TypedDict):
    """What a recall acts on: the products and lots reached, and the LPs on hold, consumed
    and shipped (numbers, sorted)."""

    lots: list[ReachedLot]
    on_hold: list[str]
    consumed: list[str]
    shipped: list[str]


def summarize(lps: Iterable["TraceLp"]) -> RecallSummary:
    """The summary of the LPs a trace reached (the LPs it started from included)."""
    totals: dict[tuple[str, str | None, str, str], list[int | Decimal]] = {}
    by_status: dict[str, list[str]] = {"on_hold": [], "consumed": [], "shipped": []}
    for lp in lps:
        key = (lp["product"], lp["lot"], lp["site"], lp["uom"])
        total = totals.get(key)
        if total is None:
            totals[key] = [1, lp["qty"]]
        else:
            total[0] += 1
            total[1] += lp["qty"]
        numbers = by_status.get(lp["status"])
        if numbers is not None:
            numbers.append(lp["number"])
    lots: list[ReachedLot] = [
        {
            "product": product,
            "lot": lot,
            "site": site,
            "uom": uom,
            "lps": int(count),
            "qty": Decimal(qty),
        }
        for (product, lot, site, uom), (count, qty) in sorted(
            totals.items(), key=lambda item: (item[0][0], item[0][1] or "", item[0][2:])
        )
    ]
    return {
        "lots": lots,
        "on_hold": sorted(by_status["on_hold"]),
        "consumed": sorted(by_status["consumed"]),
        "shipped": sorted(by_status["shipped"]),
    }
