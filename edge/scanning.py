"""Barcode normalisation and station interpretation: pure code, no I/O.

``normalize`` turns the raw text a scanner sent into a typed ``Scan``; ``interpret`` decides,
from a station's current context, whether that scan changes the context or becomes an action.
"""

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal, get_args

from pydantic import TypeAdapter, ValidationError

from edge.errors import ScanError
from protocol.gs1 import gs1_check_digit
from protocol.types import NAME_PATTERN, Quantity, format_qty

ScanKind = Literal["lp", "sscc", "work_order", "location", "operator", "action", "qty"]

MAX_LP_LENGTH = 40
MAX_CODE_LENGTH = 64
GS = "\x1d"  # ASCII group separator: how scanners transmit FNC1 inside GS1 data
# AIM symbology identifiers (ISO/IEC 15424) that announce GS1 element strings:
# GS1-128, GS1 DataBar, GS1 DataMatrix, GS1 QR Code, GS1 DotCode.
GS1_SYMBOLOGIES = frozenset({"]C1", "]e0", "]d2", "]Q3", "]J1"})
# The floor actions a station can be set to: scanned LPs become this action.
StationAction = Literal["lp.move", "lp.consume", "lp.receive", "wo.output"]
SCAN_STEPS: tuple[str, ...] = get_args(StationAction)

_AIM = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_COMMAND = re.compile(r"^(WO|LOC|OP|ACT|QTY):(.*)$", re.IGNORECASE | re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAME = re.compile(NAME_PATTERN)
_HRI_SSCC = re.compile(r"^\(00\)(\d{18})$")
_QTY: TypeAdapter[Decimal] = TypeAdapter(Quantity)


@dataclass(frozen=True)
class Scan:
    """A decoded scan: what it is, its value, and how it arrived."""

    kind: ScanKind
    value: str
    text: str
    symbology: str | None = None


def check_sscc(sscc: str) -> str:
    """Return the 18-digit SSCC when its check digit is right, else raise ScanError."""
    if len(sscc) != 18 or not sscc.isdigit():
        raise ScanError(f"an SSCC has 18 digits, not {sscc!r}")
    expected = gs1_check_digit(sscc[:17])
    if int(sscc[17]) != expected:
        raise ScanError(
            f"SSCC {sscc} has a bad check digit ({sscc[17]}, expected {expected}): "
            "misread or damaged label, scan it again"
        )
    return sscc


def decode_gs1(data: str) -> dict[str, str]:
    """Element strings of GS1 data, by AI. Only AI 00 (SSCC) for now.

    This is the seam where the biip library plugs in: it will return every AI (GTIN, lot,
    expiry, quantity) and let receiving and output take item and quantity from the label.
    """
    data = data.lstrip(GS)
    if data.startswith("00") and len(data) >= 20 and data[2:20].isdigit():
        return {"00": data[2:20]}
    raise ScanError(
        "this GS1 barcode carries no SSCC (AI 00); other GS1 labels cannot be "
        "read by this version yet"
    )


def normalize(raw: str) -> Scan:
    """Clean a raw scan (terminators, AIM prefix, GS) and say what it is."""
    text = raw.strip(" \t\r\n")
    symbology = None
    match = _AIM.match(text)
    if match:
        symbology = match.group(0)
        text = text[match.end() :]
    gs1 = symbology in GS1_SYMBOLOGIES or text.startswith(GS)
    text = text.strip(GS)  # a leading GS is FNC1; a trailing one terminates nothing
    if not text:
        raise ScanError("empty scan: nothing was read")
    if gs1:
        return Scan("sscc", check_sscc(decode_gs1(text)["00"]), text, symbology)
    hri = _HRI_SSCC.match(text)
    if hri:
        return Scan("sscc", check_sscc(hri.group(1)), text, symbology)
    if text.isdigit() and len(text) == 20 and text.startswith("00"):
        return Scan("sscc", check_sscc(text[2:]), text, symbology)
    if text.isdigit() and len(text) == 18:
        return Scan("sscc", check_sscc(text), text, symbology)
    command = _COMMAND.match(text)
    if command:
        return _command(command.group(1).upper(), command.group(2), text, symbology)
    if _CONTROL.search(text):
        raise ScanError(
            f"scan {text!r} contains control characters; check the scanner's configuration"
        )
    if len(text) > MAX_LP_LENGTH:
        raise ScanError(
            f"an LP number has at most {MAX_LP_LENGTH} characters; this scan has {len(text)}"
        )
    return Scan("lp", text, text, symbology)


def _command(prefix: str, value: str, text: str, symbology: str | None) -> Scan:
    """A command barcode (WO:, LOC:, OP:, ACT:, QTY:) with its value checked."""
    value = value.strip()
    if not value:
        raise ScanError(f"{prefix}: needs a value after the colon, e.g. {_EXAMPLES[prefix]}")
    if _CONTROL.search(value) or len(value) > MAX_CODE_LENGTH:
        raise ScanError(f"{prefix}: value must be 1..{MAX_CODE_LENGTH} printable characters")
    if prefix == "WO":
        return Scan("work_order", value, text, symbology)
    if prefix == "LOC":
        return Scan("location", value, text, symbology)
    if prefix == "OP":
        if not _NAME.match(value):
            raise ScanError(f"operator id {value!r} may use letters, digits, '_', '.' and '-'")
        return Scan("operator", value, text, symbology)
    if prefix == "ACT":
        if value not in SCAN_STEPS:
            raise ScanError(f"unknown step {value!r}; a station can do {', '.join(SCAN_STEPS)}")
        return Scan("action", value, text, symbology)
    try:
        qty = _QTY.validate_python(value)
    except ValidationError as err:
        raise ScanError(f"QTY: {value!r} is not a quantity such as 12 or 12.5") from err
    if qty <= 0:
        raise ScanError("QTY: must be more than zero")
    return Scan("qty", format_qty(qty), text, symbology)


_EXAMPLES = {
    "WO": "WO:WO-1001",
    "LOC": "LOC:A-01",
    "OP": "OP:op-113",
    "ACT": "ACT:lp.consume",
    "QTY": "QTY:12",
}


# -- interpretation -------------------------------------------------------------------------


@dataclass(frozen=True)
class StationState:
    """A station's current context: who scans, which step, where, for which work order.

    ``operator`` is None at a station that requires sign-in until someone scans OP:<id>.
    """

    name: str
    operator: str | None
    action: str
    location: str | None = None
    work_order: str | None = None
    qty: str | None = None
    require_sign_in: bool = False


@dataclass(frozen=True)
class ContextChange:
    """The scan changed the station's context; nothing is queued."""

    state: StationState
    message: str


@dataclass(frozen=True)
class ActionRequest:
    """The scan is an action to enqueue for the station's operator."""

    type: str
    body: dict[str, Any]
    operator: str
    message: str


@dataclass(frozen=True)
class Refusal:
    """The scan was read but cannot be used yet; ``message`` tells the operator what to do."""

    code: str
    message: str


Interpretation = ContextChange | ActionRequest | Refusal


def interpret(state: StationState, scan: Scan) -> Interpretation:
    """What a scan means at a station in ``state``."""
    if scan.kind == "location":
        return ContextChange(replace(state, location=scan.value), f"location {scan.value}")
    if scan.kind == "work_order":
        return ContextChange(replace(state, work_order=scan.value), f"work order {scan.value}")
    if scan.kind == "operator":
        return ContextChange(replace(state, operator=scan.value), f"operator {scan.value}")
    if scan.kind == "action":
        return ContextChange(replace(state, action=scan.value), f"step {scan.value}")
    if scan.kind == "qty":
        return ContextChange(replace(state, qty=scan.value), f"quantity {scan.value}")
    return _lp_action(state, scan.value)


def _lp_action(state: StationState, lp: str) -> Interpretation:
    """An LP (or SSCC) scanned in the station's current step."""
    if state.operator is None:
        return Refusal("NEED_SIGN_IN", "sign in first: scan your operator badge (OP:<id>)")
    if state.action == "lp.move":
        if not state.location:
            return Refusal("NEED_LOCATION", "scan a location first (LOC:<code>)")
        return ActionRequest(
            "lp.move",
            {"lp": lp, "to_location": state.location},
            state.operator,
            f"move {lp} to {state.location}",
        )
    if state.action == "lp.consume":
        if not state.work_order:
            return Refusal("NEED_WORK_ORDER", "scan a work order first (WO:<number>)")
        return ActionRequest(
            "lp.consume",
            {"lp": lp, "work_order": state.work_order},
            state.operator,
            f"consume {lp} into {state.work_order}",
        )
    if state.action == "wo.output":
        for missing, code, hint in (
            (state.work_order, "NEED_WORK_ORDER", "a work order (WO:)"),
            (state.location, "NEED_LOCATION", "a location (LOC:)"),
            (state.qty, "NEED_QTY", "a quantity (QTY:)"),
        ):
            if not missing:
                return Refusal(code, f"scan {hint} first")
        body = {
            "work_order": state.work_order,
            "qty": state.qty,
            "location": state.location,
            "lp": lp,
        }
        return ActionRequest(
            "wo.output", body, state.operator, f"output {state.qty} on {state.work_order} as {lp}"
        )
    if state.action == "lp.receive":
        return Refusal(
            "NEED_LABEL_DATA",
            "receiving needs the item and quantity from a GS1 label, which this "
            "version cannot read yet; receive through the kiosk or the local API",
        )
    return Refusal("UNKNOWN_STEP", f"this station's step {state.action!r} takes no LP scans")
