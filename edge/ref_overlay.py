"""An LP as the floor sees it: central's last summary with this edge's unacked actions on top.

An operator who moved a pallet while central was away expects the station to show it where
it now is. The queue still holds that move (queued or sent, not yet acked), so a lookup
replays such actions, in ``seq`` order, on the cached summary. Only what the action itself
says is applied (a new location, a lower quantity, a parent, a hold); what only central can
decide (a count's adjustment, which needs a manager's approval; the product of a work order
output) is left as central last said it. Pure code: the caller reads the queue and the cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass
class Overlaid:
    """The LP with pending actions applied, and the ids of the actions that changed it."""

    data: dict[str, Any] | None
    actions: list[str] = field(default_factory=list)


def _qty(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _less(data: dict[str, Any], taken: Any) -> None:
    """Take ``taken`` off the LP's quantity (all of it when None), never below zero."""
    have, take = _qty(data.get("qty")), _qty(taken)
    if have is None:
        return
    left = Decimal(0) if take is None else max(Decimal(0), have - take)
    data["qty"] = str(left)


def _new_lp(number: str, source: dict[str, Any] | None, **values: Any) -> dict[str, Any]:
    """A summary for an LP this edge made (a receipt, an output, a split part)."""
    base = dict(source or {})
    base.update(number=number, parent=None, status="available")
    base.update({k: v for k, v in values.items() if v is not None})
    return base


@dataclass(frozen=True)
class Source:
    """Another LP an action takes from (a split's or merge's source): its cached summary and
    the unacked actions that name it, so it is seen as it was when the action was taken."""

    cached: dict[str, Any] | None
    pending: list[dict[str, Any]]

    def before(self, seq: Any) -> dict[str, Any] | None:
        """The source with its actions older than ``seq`` applied."""
        earlier = [e for e in self.pending if _older(e.get("seq"), seq)]
        number = str((self.cached or {}).get("number", ""))
        return overlay_lp(number, self.cached, earlier, {}).data if self.cached else None


def _older(seq: Any, than: Any) -> bool:
    return isinstance(seq, int) and isinstance(than, int) and seq < than


def overlay_lp(
    number: str,
    cached: dict[str, Any] | None,
    pending: list[dict[str, Any]],
    sources: dict[str, Source],
) -> Overlaid:
    """``cached`` (None: not in the cache) with each ``pending`` envelope that names the LP
    applied in order; ``sources`` holds the LPs those actions take from."""
    out = Overlaid(dict(cached) if cached is not None else None)
    for envelope in pending:
        body: dict[str, Any] = envelope.get("body") or {}
        kind = envelope.get("type")
        source = sources.get(str(body.get("lp")))
        others = {} if source is None else {str(body.get("lp")): source.before(envelope.get("seq"))}
        before = None if out.data is None else dict(out.data)
        out.data = _apply(number, kind, body, out.data, others)
        if out.data != before:
            out.actions.append(str(envelope.get("id")))
    return out


def _apply(
    number: str,
    kind: Any,
    body: dict[str, Any],
    data: dict[str, Any] | None,
    others: dict[str, dict[str, Any] | None],
) -> dict[str, Any] | None:
    lp = body.get("lp")
    if data is None:
        # Only an action that makes the LP can give it a summary.
        if kind == "lp.receive" and lp == number:
            return _new_lp(
                number,
                None,
                product=body.get("item") or body.get("gtin"),
                lot=body.get("lot"),
                expiry=body.get("expiry"),
                qty=body.get("qty"),
                uom=body.get("uom"),
                location=body.get("location"),
            )
        if kind == "wo.output" and lp == number:
            return _new_lp(
                number,
                None,
                lot=body.get("lot"),
                qty=body.get("qty"),
                location=body.get("location"),
                work_order=body.get("work_order"),
            )
        if kind in ("lp.split", "pick.confirm") and body.get("new_lp") == number:
            return _new_lp(number, others.get(str(lp)), qty=body.get("qty"))
        return None
    data = dict(data)
    if kind == "lp.move" and lp == number:
        data["location"] = body.get("to_location")
    elif kind == "lp.consume" and lp == number:
        _less(data, body.get("qty"))
        if _qty(data.get("qty")) == 0:
            data["status"] = "consumed"
    elif kind in ("lp.split", "pick.confirm") and lp == number:
        _less(data, body.get("qty"))
        if kind == "pick.confirm":
            data["task"] = body.get("task")
    elif kind == "lp.merge" and lp == number:
        data["qty"] = "0"
        data["merged_into"] = body.get("into")
    elif kind == "lp.merge" and body.get("into") == number:
        have, added = _qty(data.get("qty")), _qty((others.get(str(lp)) or {}).get("qty"))
        if have is not None and added is not None:
            data["qty"] = str(have + added)
    elif kind == "lp.pack" and lp == number:
        data["parent"] = body.get("parent")
    elif kind == "lp.unpack" and lp == number:
        data["parent"] = None
    elif kind in ("qc.hold", "qc.release") and _targets(number, body, data):
        data["status"] = "on_hold" if kind == "qc.hold" else "available"
    elif kind == "ship.load" and lp == number:
        data["shipment"] = body.get("shipment")
    return data


def _targets(number: str, body: dict[str, Any], data: dict[str, Any]) -> bool:
    """A hold or release of this LP, or of its lot (of its product, when one is named)."""
    if body.get("lp"):
        return bool(body["lp"] == number)
    lot = body.get("lot")
    if not lot or lot != data.get("lot"):
        return False
    return not body.get("item") or body["item"] == data.get("product")


def needles(number: str, cached: dict[str, Any] | None) -> list[str]:
    """What a pending action touching this LP mentions: its number, or its lot (a lot hold)."""
    found = [number]
    if cached and cached.get("lot"):
        found.append(str(cached["lot"]))
    return found
