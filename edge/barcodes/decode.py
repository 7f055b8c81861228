"""Raw scan text -> a typed ``Scan``, by the ordered rules: the one decoder every path uses.

Scanner drivers, ``POST /api/v1/stations/{station}/scans`` and the kiosk all hand text here.
What matches no rule is refused with a message naming what was read; it never becomes an
action.
"""

import re
from collections.abc import Collection, Sequence
from decimal import Decimal, InvalidOperation

from edge.barcodes.rules import DEFAULT_RULES, BarcodeRule
from edge.barcodes.scan import COMMANDS, Scan, ScanKind
from edge.errors import ScanError
from protocol.gs1 import gs1_check_digit
from protocol.types import NAME_PATTERN, format_qty

GS = "\x1d"  # ASCII group separator: how scanners transmit FNC1 inside GS1 data
# AIM symbology identifiers (ISO/IEC 15424) that announce GS1 data: GS1-128, GS1 DataBar,
# GS1 DataMatrix, GS1 QR Code, GS1 DotCode.
GS1_SYMBOLOGIES = frozenset({"]C1", "]e0", "]d2", "]Q3", "]J1"})
MAX_SCAN_LENGTH = 4096

_AIM = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_NAME = re.compile(NAME_PATTERN)
# What drivers put where they could not read a key or byte: such a scan is never guessed at.
UNREADABLE = "\ufffd"
_CONTROL = re.compile(r"[\x00-\x1c\x1e\x1f\x7f]")


class BarcodeDecoder:
    """Decodes scans with one ordered rule list (edge.toml's, or the defaults)."""

    def __init__(self, rules: Sequence[BarcodeRule] = DEFAULT_RULES) -> None:
        self.rules = tuple(rules)

    def __call__(
        self, raw: str, *, expected: Collection[ScanKind] = (), locale: str | None = None
    ) -> Scan:
        """The scan ``raw`` is, or ScanError (with a code) saying why it cannot be used."""
        text, symbology = _strip(raw)
        gs1 = symbology in GS1_SYMBOLOGIES or text.startswith(GS) or _looks_gs1(text)
        for rule in self.rules:
            if rule.only_when_expected and rule.kind not in expected:
                continue
            if rule.gs1 is not None:
                if gs1:
                    scan = _gs1_rule(rule, text, symbology)
                    if scan is not None:
                        return scan
                continue
            if gs1 and symbology in GS1_SYMBOLOGIES:
                continue  # GS1 data is read by GS1 rules only
            match = rule.regex().match(text)
            if match:
                value = match.groupdict().get("value") or match.group(0)
                return _checked(rule, value.strip(), text, symbology, locale)
        shown = text.replace(GS, "<GS>")
        raise ScanError(
            f"{shown[:80]!r} matches no barcode rule of this edge; nothing was done",
            code="NO_RULE_MATCHED",
        )


def _strip(raw: str) -> tuple[str, str | None]:
    """Terminators and the AIM symbology identifier off; empty, oversize, unreadable refused."""
    if len(raw) > MAX_SCAN_LENGTH:
        raise ScanError(f"a scan has at most {MAX_SCAN_LENGTH} characters; this one {len(raw)}")
    if UNREADABLE in raw:
        raise ScanError(
            f"{raw[:80]!r} has characters or keys this edge could not read (shown as "
            f"{UNREADABLE}): set the scanner's keyboard layout (or character set) in edge.toml "
            "to the one the scanner uses",
            code="SCAN_UNREADABLE",
        )
    text = raw.strip(" \t\r\n")
    symbology = None
    match = _AIM.match(text)
    if match:
        symbology = match.group(0)
        text = text[match.end() :]
    if symbology in GS1_SYMBOLOGIES or text.startswith(GS):
        text = text.strip(GS)  # a leading GS is FNC1; a trailing one terminates nothing
    if not text:
        raise ScanError("empty scan: nothing was read")
    return text, symbology


def _looks_gs1(text: str) -> bool:
    """Digits-only SSCC spellings and the printed (00)... form, read without an AIM prefix."""
    if text.startswith("(00)"):
        return True
    return text.isdigit() and (len(text) == 18 or (len(text) == 20 and text.startswith("00")))


def _gs1_rule(rule: BarcodeRule, text: str, symbology: str | None) -> Scan | None:
    """SSCC only, until the GS1 element-string decoder lands: AI 00 with its check digit."""
    assert rule.gs1 is not None
    digits = text.removeprefix("(00)")
    if len(digits) == 20 and digits.startswith("00"):
        digits = digits[2:]
    if "00" not in rule.gs1 or len(digits) != 18 or not digits.isdigit():
        return None
    expected = gs1_check_digit(digits[:17])
    if int(digits[17]) != expected:
        raise ScanError(
            f"SSCC {digits} has a bad check digit ({digits[17]}, expected {expected}): "
            "misread or damaged label, scan it again",
            code="GS1_INVALID",
        )
    return Scan(rule.kind, digits, text, rule.name, symbology, {"sscc": digits})


def _checked(
    rule: BarcodeRule, value: str, text: str, symbology: str | None, locale: str | None
) -> Scan:
    """A pattern rule's value checked for its kind (printable, quantity, known command)."""
    if not value:
        raise ScanError(f"{text!r} ({rule.name}) has no value", code="SCAN_INVALID")
    if _CONTROL.search(value):
        raise ScanError(
            f"scan {text!r} contains control characters; check the scanner's configuration"
        )
    if rule.kind == "qty":
        value = parse_quantity(value, locale)
    elif rule.kind == "badge" and not _NAME.match(value):
        raise ScanError(f"operator id {value!r} may use letters, digits, '_', '.' and '-'")
    elif rule.kind == "command":
        value = value.lower()
        if value not in COMMANDS:
            raise ScanError(f"unknown command {value!r}; commands: {', '.join(COMMANDS)}")
    return Scan(rule.kind, value, text, rule.name, symbology)


def parse_quantity(text: str, locale: str | None = None) -> str:
    """A quantity as read by hand, as a canonical decimal string (dot decimal only for now)."""
    try:
        qty = Decimal(text.strip())
    except InvalidOperation:
        raise ScanError(f"{text!r} is not a quantity such as 12 or 12.5") from None
    if not qty.is_finite() or qty <= 0:
        raise ScanError(f"a quantity must be more than zero, not {text!r}")
    return format_qty(qty)
