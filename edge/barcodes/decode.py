"""Raw scan text -> a typed ``Scan``, by the ordered rules: the one decoder every path uses.

Scanner drivers, ``POST /api/v1/stations/{station}/scans`` and the kiosk all hand text here.
What matches no rule is refused with a message naming what was read; it never becomes an
action. ``explain`` tells the same story rule by rule, for ``ioe edge scan-test``.
"""

import re
from collections.abc import Collection, Sequence
from typing import Any, TypedDict

from edge.barcodes.gs1 import GS, GS1_SYMBOLOGIES, Form, GS1Data, gs1_form, read_gs1
from edge.barcodes.quantities import parse_quantity
from edge.barcodes.rules import DEFAULT_RULES, BarcodeRule, check_gs_substitute
from edge.barcodes.scan import COMMANDS, Scan, ScanKind
from edge.errors import ScanError
from protocol.types import NAME_PATTERN

__all__ = ["GS", "GS1_SYMBOLOGIES", "BarcodeDecoder", "Explanation", "parse_quantity"]

MAX_SCAN_LENGTH = 4096

_AIM = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_NAME = re.compile(NAME_PATTERN)
# What drivers put where they could not read a key or byte: such a scan is never guessed at.
UNREADABLE = "\ufffd"
_CONTROL = re.compile(r"[\x00-\x1c\x1e\x1f\x7f]")
# What the AIM identifiers a scanner may prefix mean (ISO/IEC 15424, GS1 General Specs 5.1).
SYMBOLOGIES = {
    "]A0": "Code 39",
    "]C0": "Code 128",
    "]C1": "GS1-128 (FNC1 first: GS1 element strings)",
    "]E0": "EAN-13, UPC-A or UPC-E",
    "]E3": "EAN-13 or UPC with add-on",
    "]E4": "EAN-8",
    "]I0": "Interleaved 2 of 5",
    "]I1": "ITF-14 (check digit verified)",
    "]e0": "GS1 DataBar (GS1 element strings)",
    "]d1": "Data Matrix",
    "]d2": "GS1 DataMatrix (GS1 element strings)",
    "]Q1": "QR Code",
    "]Q3": "GS1 QR Code (GS1 element strings)",
    "]J1": "GS1 DotCode (GS1 element strings)",
    "]z0": "Aztec Code",
    "]L0": "PDF417",
}


class RuleStep(TypedDict):
    """One rule as ``explain`` saw it: matched, or why not."""

    rule: str
    kind: str
    outcome: str  # "matched", "skipped", "no match", "refused"
    why: str


class Explanation(TypedDict):
    """What a scan is, step by step (``ioe edge scan-test`` prints it)."""

    raw: str
    text: str | None
    symbology: str | None
    symbology_meaning: str | None
    gs1_form: str | None
    rules: list[RuleStep]
    scan: dict[str, Any] | None
    error: dict[str, str] | None


class BarcodeDecoder:
    """Decodes scans with one ordered rule list (edge.toml's, or the defaults)."""

    def __init__(
        self, rules: Sequence[BarcodeRule] = DEFAULT_RULES, *, gs_substitute: str | None = None
    ) -> None:
        self.rules = tuple(rules)
        self.gs_substitute = None if gs_substitute is None else check_gs_substitute(gs_substitute)

    def __call__(
        self, raw: str, *, expected: Collection[ScanKind] = (), locale: str | None = None
    ) -> Scan:
        """The scan ``raw`` is, or ScanError (with a code) saying why it cannot be used."""
        return _Run(self, raw, expected, locale, None).decode()  # no verdicts kept: scan path

    def explain(
        self, raw: str, expected: Collection[ScanKind] = (), locale: str | None = None
    ) -> Explanation:
        """How ``raw`` is read: text (GS as <GS>), AIM symbology, each rule's verdict, result."""
        steps: list[RuleStep] = []
        run = _Run(self, raw, expected, locale, steps)
        scan, error = None, None
        try:
            decoded = run.decode()
            scan = {
                "kind": decoded.kind,
                "value": decoded.value,
                "rule": decoded.rule,
                "fields": dict(decoded.fields),
            }
        except ScanError as err:
            error = {"code": err.code, "message": str(err)}
        return Explanation(
            raw=raw.replace(GS, "<GS>"),
            text=None if run.text is None else run.text.replace(GS, "<GS>"),
            symbology=run.symbology,
            symbology_meaning=_meaning(run.symbology),
            gs1_form=run.form,
            rules=steps,
            scan=scan,
            error=error,
        )


class _Run:
    """One decoding: the rules tried in order, each verdict noted for ``explain``."""

    def __init__(
        self,
        decoder: BarcodeDecoder,
        raw: str,
        expected: Collection[ScanKind],
        locale: str | None,
        steps: list[RuleStep] | None,
    ) -> None:
        self.decoder, self.raw, self.expected, self.locale = decoder, raw, expected, locale
        self.steps = steps
        self.text: str | None = None
        self.symbology: str | None = None
        self.form: Form | None = None
        self.data: GS1Data | None = None

    def note(self, rule: BarcodeRule, outcome: str, why: str) -> None:
        if self.steps is None:
            return
        self.steps.append(RuleStep(rule=rule.name, kind=rule.kind, outcome=outcome, why=why))

    def decode(self) -> Scan:
        text, self.symbology = _strip(self.raw)
        substitute = self.decoder.gs_substitute
        self.form = gs1_form(text, self.symbology, substitute)
        if self.form == "element string":
            # Separators shown as GS whatever the scanner sent; a leading one is FNC1.
            text = (text if substitute is None else text.replace(substitute, GS)).strip(GS)
            if not text:
                raise ScanError("empty scan: nothing was read")
        self.text = text
        for rule in self.decoder.rules:
            scan = self.try_rule(rule, text)
            if scan is not None:
                self.note(rule, "matched", f"{scan.kind} {scan.value}")
                return scan
        shown = text.replace(GS, "<GS>")
        if _CONTROL.search(text):  # e.g. an STX/ETX frame the scanner adds and edge.toml keeps
            raise ScanError(
                f"scan {shown[:80]!r} contains control characters and matches no barcode rule; "
                "check the scanner's configuration (its prefix and suffix: strip them with "
                "the scanner's `prefix`/`suffix` in edge.toml)"
            )
        raise ScanError(
            f"{shown[:80]!r} matches no barcode rule of this edge; nothing was done",
            code="NO_RULE_MATCHED",
        )

    def try_rule(self, rule: BarcodeRule, text: str) -> Scan | None:
        if rule.only_when_expected and rule.kind not in self.expected:
            self.note(rule, "skipped", f"only when the station expects {rule.kind}")
            return None
        if rule.gs1 is not None:
            return self.try_gs1(rule, text)
        if (self.data is not None and self.data.form != "GTIN") or (
            self.symbology in GS1_SYMBOLOGIES
        ):
            self.note(rule, "skipped", "GS1 data is read by GS1 rules only")
            return None
        match = rule.regex().match(text)
        if not match:
            self.note(rule, "no match", f"pattern {rule.pattern}")
            return None
        value = match.groupdict().get("value") or match.group(0)
        try:
            return _checked(rule, value.strip(), text, self.symbology, self.locale)
        except ScanError as err:
            self.note(rule, "refused", str(err))
            raise

    def try_gs1(self, rule: BarcodeRule, text: str) -> Scan | None:
        assert rule.gs1 is not None
        if self.form is None:
            self.note(rule, "no match", "not GS1 data")
            return None
        if self.form == "GTIN" and rule.kind != "product":
            self.note(rule, "no match", "a GTIN alone is read by product rules only")
            return None
        if self.data is None:
            try:
                self.data = read_gs1(text, self.form, self.decoder.gs_substitute)
            except ScanError as err:
                self.note(rule, "refused", str(err))
                raise
        missing = [entry for entry in rule.gs1 if not self.data.has(entry)]
        if missing:
            self.note(rule, "no match", f"the label carries no ({'), ('.join(missing)})")
            return None
        fields = self.data.fields
        value = fields.get("qty") if rule.kind == "qty" else self.data.first(rule.gs1[0])
        if not value:
            self.note(rule, "no match", "the label carries no quantity")
            return None
        return Scan(rule.kind, value, text, rule.name, self.symbology, dict(fields))


def _meaning(symbology: str | None) -> str | None:
    if symbology is None:
        return None
    return SYMBOLOGIES.get(symbology, "a symbology this edge has no name for")


def _strip(raw: str) -> tuple[str, str | None]:
    """Terminators and the AIM symbology identifier off; empty, oversize, unreadable refused."""
    if len(raw) > MAX_SCAN_LENGTH:
        raise ScanError(f"a scan has at most {MAX_SCAN_LENGTH} characters; this one {len(raw)}")
    if UNREADABLE in raw:
        raise ScanError(
            f"{raw[:80]!r} has characters or keys this edge could not read (shown as "
            f"{UNREADABLE}): a serial scanner's baud rate, parity or data bits differ from "
            "edge.toml's, or a keyboard-wedge scanner's layout differs from its `layout`; "
            "`ioe edge scan-test` shows the bytes",
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
