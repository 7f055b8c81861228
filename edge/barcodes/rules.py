"""The ordered barcode rules of edge.toml: which text is which kind of barcode.

The first rule that matches decides. A rule is a regular expression over the scan's text
(its ``value`` group, or the whole match, is the scan's value) or a GS1 rule (``gs1``: the
application identifiers the label must carry, each entry one AI or alternatives such as
"01|02"; the scan's value is the first entry's value, or the label's quantity for a ``qty``
rule). ``only_when_expected`` rules (a bare number as a quantity, a bare lot) are tried only
when the station's flow expects that kind next. An edge.toml ``barcode_rules`` list replaces
these defaults entirely.
"""

import re
from collections.abc import Sequence
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.barcodes.gs1 import GS, GS1_CHARACTERS, known_ai
from edge.barcodes.scan import SCAN_KINDS, ScanKind
from protocol.types import NAME_PATTERN


class BarcodeRule(BaseModel):
    """One rule: a name (shown by scan-test and in refusals), the kind it yields, how to match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    kind: ScanKind
    pattern: str | None = None
    gs1: list[str] | None = None
    only_when_expected: bool = False

    @field_validator("kind", mode="before")
    @classmethod
    def _known_kind(cls, kind: object) -> object:
        if isinstance(kind, str) and kind not in SCAN_KINDS:
            raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(SCAN_KINDS)}")
        return kind

    @field_validator("gs1")
    @classmethod
    def _known_ais(cls, gs1: list[str] | None) -> list[str] | None:
        if gs1 is not None and not gs1:
            raise ValueError('gs1 names at least one application identifier, e.g. ["01"]')
        for entry in gs1 or ():
            unknown = [ai for ai in entry.split("|") if not known_ai(ai)]
            if unknown:
                raise ValueError(
                    f"gs1 entry {entry!r}: {', '.join(map(repr, unknown))} is not a GS1 "
                    'application identifier (write "00", "01", "01|02", "3103"...)'
                )
        return gs1

    @model_validator(mode="after")
    def _one_matcher(self) -> Self:
        if (self.pattern is None) == (self.gs1 is None):
            raise ValueError(f"rule {self.name!r} needs exactly one of pattern or gs1")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as err:
                raise ValueError(f"rule {self.name!r}: pattern is not a regex: {err}") from err
        return self

    def regex(self) -> re.Pattern[str]:
        """The compiled pattern (pattern rules only)."""
        assert self.pattern is not None
        return _compiled(self.pattern)


_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern not in _CACHE:
        _CACHE[pattern] = re.compile(pattern, re.DOTALL)
    return _CACHE[pattern]


def check_rule_names(rules: Sequence[BarcodeRule]) -> None:
    """ValueError when two rules share a name (refusals and scan-test name the rule)."""
    names = [rule.name for rule in rules]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"barcode rule names must be unique; repeated: {', '.join(repeated)}")
    if not rules:
        raise ValueError("barcode_rules is empty: remove it to use the default rules")


def check_gs_substitute(char: str) -> str:
    """The substitute for GS a scanner sends, or ValueError: one character GS1 data never holds."""
    if len(char) != 1:
        raise ValueError(f'gs_substitute is one character, e.g. "|"; not {char!r}')
    if char in GS1_CHARACTERS or not char.isprintable() or char.isspace() or char == GS:
        raise ValueError(
            f"gs_substitute {char!r} can appear inside GS1 data (or is GS itself, or invisible);"
            ' choose a character GS1 labels never hold, e.g. "|", "#" or "~"'
        )
    return char


# What an edge reads when edge.toml names no rules: GS1 labels (an SSCC makes the label an LP
# even when it also names its contents; a GTIN label is a receipt; a GTIN alone a product),
# the command labels
# (WO:, LOC:, OP:, ACT:, QTY:, CNT:, RSN:, CMD:, ITEM:, LOT:, TASK:, SHIP:), and any other
# short printable text as an internal LP number. Central's own pick task and shipment numbers
# (PT-000001, SH-000001) read as such only where a station expects one: everywhere else they
# stay what they always were, internal LP numbers.
DEFAULT_RULES: tuple[BarcodeRule, ...] = (
    BarcodeRule(name="gs1-sscc", kind="lp", gs1=["00"]),
    BarcodeRule(name="gs1-receipt", kind="receipt", gs1=["01|02"]),
    BarcodeRule(name="gs1-product", kind="product", gs1=["01"]),
    BarcodeRule(name="work-order", kind="work_order", pattern=r"(?i)^WO:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(name="location", kind="location", pattern=r"(?i)^LOC:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(name="badge", kind="badge", pattern=r"(?i)^OP:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(name="flow", kind="flow", pattern=r"(?i)^ACT:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(name="quantity", kind="qty", pattern=r"(?i)^QTY:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(name="count-session", kind="session", pattern=r"(?i)^CNT:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(name="reason", kind="reason", pattern=r"(?i)^RSN:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(name="command", kind="command", pattern=r"(?i)^CMD:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(name="product", kind="product", pattern=r"(?i)^ITEM:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(name="lot", kind="lot", pattern=r"(?i)^LOT:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(name="pick-task", kind="task", pattern=r"(?i)^TASK:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(name="shipment", kind="shipment", pattern=r"(?i)^SHIP:\s*(?P<value>.+?)\s*$"),
    BarcodeRule(
        name="task-number",
        kind="task",
        pattern=r"^(?P<value>PT-[0-9]{6,})$",
        only_when_expected=True,
    ),
    BarcodeRule(
        name="shipment-number",
        kind="shipment",
        pattern=r"^(?P<value>SH-[0-9]{6,})$",
        only_when_expected=True,
    ),
    BarcodeRule(
        name="typed-quantity",
        kind="qty",
        pattern=r"^(?P<value>[0-9][0-9.,' \u00a0\u202f]*)$",
        only_when_expected=True,
    ),
    BarcodeRule(
        name="typed-lot",
        kind="lot",
        pattern=r"^(?P<value>[A-Za-z0-9][A-Za-z0-9._/-]{0,39})$",
        only_when_expected=True,
    ),
    BarcodeRule(
        name="internal-lp", kind="lp", pattern=r"^(?P<value>[A-Za-z0-9][A-Za-z0-9._/-]{0,39})$"
    ),
)
