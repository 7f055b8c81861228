"""GS1 label data through biip: which texts are GS1, what they carry, and why a label is refused.

Forms read: element strings (with or without an AIM identifier, FNC1 sent as GS or as the
edge's substitute character), the printed "(01)...(10)..." line, GS1 Digital Link URIs, and a
GTIN scanned on its own. biip does the parsing; this module turns its findings into the
fields a station uses and its failures into refusals an operator can act on (GS1_INVALID).
"""

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from biip import ParseConfig, ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin

from edge.errors import ScanError
from protocol.gs1 import gs1_check_digit
from protocol.types import format_qty

GS = "\x1d"  # ASCII group separator: how scanners transmit FNC1 inside GS1 data
# AIM symbology identifiers (ISO/IEC 15424) that announce GS1 element strings: GS1-128,
# GS1 DataBar, GS1 DataMatrix, GS1 QR Code, GS1 DotCode.
GS1_SYMBOLOGIES = frozenset({"]C1", "]e0", "]d2", "]Q3", "]J1"})
# ... and those that carry a GTIN alone: EAN-13/UPC-A/UPC-E, EAN-8, ITF-14.
GTIN_SYMBOLOGIES = frozenset({"]E0", "]E4", "]I1"})
# Characters GS1 data itself may hold (AI 82 set, ISO 646): never usable as a GS substitute.
GS1_CHARACTERS = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)

Form = Literal["element string", "HRI", "Digital Link", "GTIN"]

_NAMES = {
    "00": "SSCC",
    "01": "GTIN",
    "02": "content GTIN",
    "10": "lot",
    "11": "production date",
    "13": "packaging date",
    "15": "best before",
    "16": "sell by",
    "17": "expiry",
    "21": "serial",
    "30": "count",
    "37": "count",
}
_DATE_FIELDS = {"11": "production_date", "15": "best_before", "17": "expiry"}
_DATE_AIS = frozenset({"11", "12", "13", "15", "16", "17"})
_HEAD = re.compile(r"^(?:00\d{18}|0[12]\d{14})")
_HRI = re.compile(r"^(?:\(\d{2,4}\)[^()]+)+$")
# Primary keys a Digital Link path names (GS1 Digital Link 1.x): 01 gtin, 00 sscc, 414 gln...
_DL_KEYS = frozenset("00 01 253 255 401 402 414 415 417 8003 8004 8006 8010 8013 8017 8018".split())


@dataclass(frozen=True)
class GS1Data:
    """What a GS1 label carries: its element strings by AI and the fields a Scan gets."""

    form: Form
    values: Mapping[str, str]
    fields: Mapping[str, str] = field(default_factory=dict)

    def has(self, requirement: str) -> bool:
        """True when the data carries the AI, or one of "01|02"-style alternatives."""
        return any(ai in self.values for ai in requirement.split("|"))

    def first(self, requirement: str) -> str | None:
        """The value of the first of the alternatives the data carries."""
        return next((self.values[ai] for ai in requirement.split("|") if ai in self.values), None)


def known_ai(ai: str) -> bool:
    """True when ``ai`` is a GS1 application identifier biip knows (exactly, not a prefix)."""
    try:
        return GS1ApplicationIdentifier.extract(ai).ai == ai
    except ParseError:
        return False


def ai_name(ai: str) -> str:
    """The short name an operator reads: "lot", "expiry", "net weight"..."""
    if ai in _NAMES:
        return _NAMES[ai]
    if ai[:3] in ("310", "320"):
        return "net weight"
    try:
        return GS1ApplicationIdentifier.extract(ai).data_title.lower()
    except ParseError:
        return f"AI {ai}"


def gs1_form(text: str, symbology: str | None, substitute: str | None = None) -> Form | None:
    """Which GS1 form ``text`` is in, or None when it is not GS1 data.

    Without an AIM identifier only shapes no quantity or internal LP has count: a leading GS
    (or substitute), "(AI)", a Digital Link URL, an SSCC (18 digits, or 00 + 18), an element
    string opening with 00 + 18 or 01/02 + 14 digits, a 13/14-digit GTIN whose check digit is
    right. Quantities have at most 12 integer digits, so none of these is ever a quantity.
    """
    if text.lower().startswith(("http://", "https://")):
        return "Digital Link" if _dl_shaped(text) else None
    if symbology in GS1_SYMBOLOGIES or text.startswith(tuple(_separators(substitute))):
        return "element string"
    if symbology in GTIN_SYMBOLOGIES:
        return "GTIN"
    if _HRI.match(text):
        return "HRI"
    if _HEAD.match(text) or (len(text) == 18 and text.isdigit()):
        return "element string"
    if len(text) in (13, 14) and text.isdigit() and gs1_check_digit(text[:-1]) == int(text[-1]):
        return "GTIN"
    return None


def read_gs1(text: str, form: Form, substitute: str | None = None) -> GS1Data:
    """The label's data, or ScanError GS1_INVALID saying what is wrong with it."""
    config = ParseConfig(separator_chars=_separators(substitute))
    if form == "GTIN":
        return _gtin_alone(text)
    if form == "Digital Link":
        elements = _digital_link(text, config)
    elif form == "HRI":
        elements = _hri(text, config)
    else:
        elements = _element_string(text, config, substitute)
    return _data(form, elements)


def _separators(substitute: str | None) -> tuple[str, ...]:
    return (GS,) if substitute is None else (GS, substitute)


def _dl_shaped(url: str) -> bool:
    segments = urlsplit(url).path.split("/")
    return any(s in _DL_KEYS and i + 1 < len(segments) for i, s in enumerate(segments))


def _refuse(message: str) -> ScanError:
    return ScanError(message, code="GS1_INVALID")


# -- the four forms -----------------------------------------------------------------------


def _gtin_alone(text: str) -> GS1Data:
    if not text.isdigit() or len(text) not in (8, 12, 13, 14):
        raise _refuse(f"{text!r} is not a GTIN: 8, 12, 13 or 14 digits")
    try:
        gtin = Gtin.parse(text).as_gtin_14()
    except ParseError:
        raise _refuse(_bad_check("GTIN", text)) from None
    return GS1Data("GTIN", {"01": gtin}, {"gtin": gtin, "ais": f"(01){gtin}"})


def _element_string(
    text: str, config: ParseConfig, substitute: str | None
) -> list[GS1ElementString]:
    body = text.strip("".join(config.separator_chars))
    if len(body) == 18 and body.isdigit():
        body = "00" + body  # an SSCC read without its AI
    try:
        elements = list(GS1Message.parse(body, config=config).element_strings)
    except ParseError:
        raise _refuse(_diagnose(body, config, substitute)) from None
    for element in elements:
        if element.ai.separator_required:
            run_in = _run_in(element.value, config)
            if run_in:
                raise _refuse(_run_in_message(element, run_in, substitute))
    return elements


def _hri(text: str, config: ParseConfig) -> list[GS1ElementString]:
    elements = []
    printed = "".join(text.split())  # the printed line spaces its element strings apart
    for ai, data in re.findall(r"\((\d+)\)([^()]+)", printed):
        if not known_ai(ai):
            raise _refuse(f"({ai}) is not a GS1 application identifier: check the label text")
        try:
            elements.append(GS1ElementString.parse(ai + data, config=config))
        except ParseError:
            raise _refuse(_element_problem(ai, data)) from None
    return elements


def _digital_link(url: str, config: ParseConfig) -> list[GS1ElementString]:
    try:
        return list(GS1DigitalLinkURI.parse(url, config=config).element_strings)
    except ParseError as err:
        parts = urlsplit(url)
        segments = parts.path.split("/")
        pairs = list(zip(segments, segments[1:], strict=False))
        pairs += parse_qsl(parts.query)
        for ai, data in pairs:
            if known_ai(ai):
                try:
                    GS1ElementString.parse(ai + data, config=config)
                except ParseError:
                    raise _refuse(_element_problem(ai, data)) from err
        raise _refuse(f"not a usable GS1 Digital Link: {err}") from err


# -- checks -------------------------------------------------------------------------------


def _data(form: Form, elements: list[GS1ElementString]) -> GS1Data:
    """Check digits, repeated AIs and quantities checked; the Scan fields filled in."""
    values: dict[str, str] = {}
    for element in elements:
        ai = element.ai.ai
        if element.gtin_error or element.sscc_error or element.gln_error:
            raise _refuse(_bad_check(ai_name(ai), element.value))
        if values.get(ai, element.value) != element.value:
            raise _refuse(
                f"the label carries ({ai}) {ai_name(ai)} twice, {values[ai]} and "
                f"{element.value}: it contradicts itself, do not use it"
            )
        values[ai] = element.value
    fields: dict[str, str] = {"ais": "".join(e.as_hri() for e in elements)}
    by_ai = {e.ai.ai: e for e in elements}
    for ai, name in (("00", "sscc"), ("10", "lot"), ("21", "serial")):
        if ai in values:
            fields[name] = values[ai]
    if "01" in values or "02" in values:
        fields["gtin"] = values.get("01") or values["02"]
    for ai, name in _DATE_FIELDS.items():
        date = by_ai[ai].date if ai in by_ai else None
        if date is not None:
            fields[name] = date.isoformat()
    count = _count(values)
    weight = next((e for e in elements if e.ai.ai[:3] in ("310", "320")), None)
    if weight is not None and weight.decimal is not None:
        if weight.decimal <= 0:
            raise _refuse(f"({weight.ai.ai}) net weight is 0: the label is wrong, weigh the goods")
        fields["qty"] = format_qty(weight.decimal)
        fields["uom"] = "kg" if weight.ai.ai.startswith("310") else "lb"
        if count is not None:
            fields["count"], fields["net_weight"] = count, fields["qty"]
    elif count is not None:
        fields["qty"] = count
    return GS1Data(form, values, fields)


def _count(values: Mapping[str, str]) -> str | None:
    ai = "30" if "30" in values else "37" if "37" in values else None
    if ai is None:
        return None
    if not values[ai] or int(values[ai]) == 0:
        raise _refuse(f"({ai}) count is 0: the label is wrong, count the goods")
    return str(int(values[ai]))


def _bad_check(name: str, digits: str) -> str:
    expected = gs1_check_digit(digits[:-1])
    return (
        f"{name} {digits} has a bad check digit ({digits[-1]}, expected {expected}): "
        "misread or damaged label, scan it again"
    )


def _max_length(ai: GS1ApplicationIdentifier) -> int:
    """How many characters the AI's data holds at most, from its format ("N2+X..20" -> 20)."""
    return sum(int(n) for n in re.findall(r"[NXYZ](?:\.\.)?(\d+)", ai.format.split("+", 1)[1]))


def _element_problem(ai: str, data: str) -> str:
    """Why ``data`` is not a valid value for ``ai``, in an operator's words."""
    name = ai_name(ai)
    identifier = GS1ApplicationIdentifier.extract(ai)
    limit = _max_length(identifier)
    if ai in _DATE_AIS and len(data) == 6 and data.isdigit():
        year, month, day = 2000 + int(data[:2]), int(data[2:4]), int(data[4:])
        if not 1 <= month <= 12:
            return f"({ai}) {name} {data}: month {month} does not exist; the label is wrong"
        if day > calendar.monthrange(year, month)[1]:
            return f"({ai}) {name} {data}: day {day} does not exist in month {month}"
    if not identifier.separator_required and len(data) < limit:
        return (
            f"({ai}) {name} needs {limit} characters, the label has {len(data)} ({data!r}): "
            "the data is cut short or misread, scan it again"
        )
    if len(data) > limit:
        return (
            f"({ai}) {name} {data[:24]!r}... is {len(data)} characters long; at most {limit} "
            "fit: the label is wrong or a group separator is missing"
        )
    return f"({ai}) {name} {data!r} does not fit its format {identifier.format}"


def _diagnose(body: str, config: ParseConfig, substitute: str | None) -> str:
    """Walk the element strings as biip does and say where and why they stop making sense."""
    separators = tuple(config.separator_chars)
    rest, previous = body, None
    while rest:
        # A variable-length field that ran out of room without a separator: the trouble
        # usually starts there, not where the parse stopped.
        if previous is not None and previous.ai.separator_required:
            run_in = _run_in(previous.value + rest, config)
            if run_in:
                return _run_in_message(previous, run_in, substitute)
        problem = _next_problem(rest, config)
        if problem is not None:
            if previous is not None and previous.ai.separator_required:
                overflow = re.split("|".join(map(re.escape, separators)), rest)[0]
                return _element_problem(previous.ai.ai, previous.value + overflow)
            return problem
        previous = GS1ElementString.extract(rest, config=config)
        rest = rest[len(previous) :]
        if rest.startswith(separators):
            previous = None  # terminated: the next field starts cleanly
        while rest.startswith(separators):
            rest = rest[1:]
    return f"{body!r} is not a valid GS1 element string"


def _next_problem(rest: str, config: ParseConfig) -> str | None:
    """Why the element string at the start of ``rest`` cannot be read, or None if it can."""
    try:
        identifier = GS1ApplicationIdentifier.extract(rest)
    except ParseError:
        return f"no GS1 application identifier starts at {rest[:20]!r}: unknown AI"
    data = rest[len(identifier.ai) :]
    for separator in config.separator_chars:
        data = data.split(separator, 1)[0]
    if not identifier.separator_required:
        data = data[: _max_length(identifier)]
    try:
        GS1ElementString.extract(rest, config=config)
    except ParseError:
        return _element_problem(identifier.ai, data)
    return None


# A field is taken to swallow the next one only when what follows is strong evidence: a date,
# an identifier with a right check digit, or a net weight, parsing cleanly to the end.
_RUN_IN_STARTS = ("11", "13", "15", "16", "17", "00", "01", "02", "310", "320")


def _run_in(value: str, config: ParseConfig) -> GS1ElementString | None:
    """The element a variable-length field's value seems to have swallowed, if any."""
    for start in range(1, len(value) - 3):
        tail = value[start:]
        if not tail.startswith(_RUN_IN_STARTS):
            continue
        try:
            elements = GS1Message.parse(tail, config=config).element_strings
        except ParseError:
            continue
        if not any(e.gtin_error or e.sscc_error for e in elements):
            return elements[0]
    return None


def _run_in_message(
    element: GS1ElementString, swallowed: GS1ElementString, substitute: str | None
) -> str:
    name = ai_name(element.ai.ai)
    shown = swallowed.date.isoformat() if swallowed.date else swallowed.value
    send = "GS" if substitute is None else f"GS (or the substitute {substitute!r})"
    return (
        f"{name} seems to run into ({swallowed.ai.ai}) {ai_name(swallowed.ai.ai)} {shown}: "
        f"the scanner sent no group separator after the {name}; configure it to send {send}"
    )
