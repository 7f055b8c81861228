"""Field types shared by envelopes and bodies: names, decimal-string quantities, LP numbers."""

from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, StringConstraints

# An action id: a UUID in lowercase canonical form.
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

# Topic-safe identifiers: no '/', '+', '#' or spaces, so they can sit in an MQTT topic level.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]

# Business codes (items, locations, work orders, LP numbers): printable, no control chars.
Code = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]

QTY_DECIMALS = 6


def _decimal_string(value: object) -> Decimal:
    """Accept only a plain decimal string such as "12.5"; floats and ints are refused."""
    if isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError('quantities travel as decimal strings, e.g. "12.5"')
    if not text or text.strip() != text or "e" in text.lower():
        raise ValueError(f"not a plain decimal string: {text!r}")
    try:
        qty = Decimal(text)
    except InvalidOperation as err:
        raise ValueError(f"not a decimal number: {text!r}") from err
    if not qty.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    exponent = qty.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > QTY_DECIMALS:
        raise ValueError(f"at most {QTY_DECIMALS} decimal places: {text!r}")
    if abs(qty) >= Decimal(10) ** 12:
        raise ValueError(f"quantity out of range: {text!r}")
    return qty


def limit_of(qty: Decimal, tolerance: Decimal) -> Decimal:
    """How much a tolerance allows: qty x (1 + tolerance), rounded up at the last decimal a
    quantity may have (over-consumption, over-production and over-receipt limits alike)."""
    return (qty * (1 + tolerance)).quantize(Decimal(1).scaleb(-QTY_DECIMALS), ROUND_CEILING)


def format_qty(qty: Decimal) -> str:
    """Canonical decimal text: no exponent, no trailing zeros ("12.50" -> "12.5")."""
    text = format(qty.normalize(), "f")
    return "0" if text in ("-0", "") else text


Quantity = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    PlainSerializer(format_qty, return_type=str),
]
