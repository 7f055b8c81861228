"""The decoded scan every station flow works from, whatever the scanner or label standard."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# What a barcode can be. A rule in edge.toml names one of these kinds.
#   lp        an LP: SSCC (AI 00, check digit verified) or the plant's internal LP format
#   receipt   a supplier label with a GTIN and possibly lot, dates, count, net weight
#   product   a product code or GTIN scanned on its own (receive step by step)
#   lot       a lot/batch number scanned on its own
#   qty       a quantity (value: a canonical decimal string such as "1000.5")
#   location  a location label
#   work_order a work-order label
#   task      a pick task (central numbers them PT-000001)
#   shipment  a shipment (central numbers them SH-000001)
#   badge     an operator badge (value: the operator id); scanning it signs in, again signs out
#   session   a count session label
#   reason    a quality reason code label
#   flow      switches the station to another flow (value: the flow name, e.g. "lp.consume")
#   command   a command label (value: "done", "cancel" or "sign-out")
ScanKind = Literal[
    "lp",
    "receipt",
    "product",
    "lot",
    "qty",
    "location",
    "work_order",
    "task",
    "shipment",
    "badge",
    "session",
    "reason",
    "flow",
    "command",
]
SCAN_KINDS: tuple[str, ...] = ScanKind.__args__  # type: ignore[attr-defined]

COMMANDS = ("done", "cancel", "sign-out")


@dataclass(frozen=True)
class Scan:
    """One decoded barcode.

    ``value`` is the main value of its kind (the LP number, the location code, the operator
    id, the canonical quantity, the GTIN of a receipt label). ``fields`` holds everything else
    a label carried, by name: for GS1 labels ``gtin``, ``sscc``, ``lot``, ``production_date``,
    ``best_before``, ``expiry`` (ISO dates), ``qty`` and ``uom`` (count -> the product's unit,
    so ``uom`` is absent; net weight 310n -> "kg", 320n -> "lb"), ``serial``; and ``ais``, the
    element strings as "(01)...(10)..." text for display. ``rule`` names the edge.toml rule
    that matched, ``text`` is the scan as read (AIM identifier removed, separators shown as
    GS), ``symbology`` the AIM identifier when the scanner sent one.
    """

    kind: ScanKind
    value: str
    text: str
    rule: str
    symbology: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
