"""Quantities as operators write them (1.000,50 / 1,000.50 / 1'000.50) -> canonical decimals.

The last of two different separators is the decimal one; a lone ``.`` or ``,`` followed by
exactly three digits (``1.720``) is grouping in some languages and a decimal mark in others,
so the station's locale decides it, and without a locale it is refused rather than guessed:
a factor of 1000 on a quantity is worse than asking again.
"""

import re
from decimal import Decimal

from edge.errors import ScanError
from protocol.types import QTY_DECIMALS, format_qty

# Separators that only ever group thousands: space, no-break space, narrow no-break space,
# apostrophe and right single quote (Swiss 1'000.50 / 1’000.50).
GROUPING_ONLY = frozenset(" \u00a0\u202f'\u2019")
MARKS = frozenset(".,")
_ALLOWED = re.compile(r"^[0-9., \u00a0\u202f'\u2019]+$")
_MAX = Decimal(10) ** 12  # protocol.types: quantities stay below 10^12

# Languages that write the decimal comma (CLDR), and the exceptions by region.
COMMA_LANGUAGES = frozenset(
    "af az be bg bs ca cs da de el es et eu fi fo fr gl hr hu hy id is it ka kk ky lt lv mk mn "
    "nb nl nn no pl pt ro ru sk sl sq sr sv tr uz vi".split()
)
POINT_LANGUAGES = frozenset("en ja zh ko he th hi ms fil ga cy mt ta te bn ur ar fa".split())
POINT_REGIONS = frozenset(
    "de-ch de-li it-ch es-mx es-us es-pr es-do es-gt es-hn es-ni es-pa es-sv".split()
)
COMMA_REGIONS = frozenset("en-za".split())
# Not language codes, but what people write: "us" can only mean the United States.
ALIASES = {"us": "en-us"}
_LOCALE = re.compile(r"^([a-z]{2,3})(?:[-_]([a-z]{2}|[0-9]{3}))?$")


def decimal_mark(locale: str) -> str:
    """The decimal mark ("." or ",") of ``locale`` ("de", "en-GB", "de_CH"...), or ValueError."""
    key = ALIASES.get(locale.strip().lower(), locale.strip().lower()).replace("_", "-")
    if key == "uk":
        raise ValueError(
            "locale 'uk' is ambiguous (Ukrainian writes 1,5; the United Kingdom writes 1.5): "
            "write 'en-GB' or 'uk-UA'"
        )
    match = _LOCALE.match(key)
    if match is None:
        raise ValueError(f"locale {locale!r} is not a language code such as 'de', 'en-GB', 'tr'")
    language = match.group(1)
    if key in POINT_REGIONS:
        return "."
    if key in COMMA_REGIONS or language in COMMA_LANGUAGES or key == "uk-ua":
        return ","
    if language in POINT_LANGUAGES:
        return "."
    raise ValueError(
        f"locale {locale!r} is not known to this edge; use one whose decimal mark is the same, "
        "e.g. 'de' (1.000,5) or 'en' (1,000.5)"
    )


def parse_quantity(text: str, locale: str | None = None) -> str:
    """A quantity (zero or more) as read or typed, as a canonical decimal string; ScanError
    (QTY_...) if not."""
    raw = text
    text = text.strip()
    if text.startswith("-"):
        raise ScanError(f"a quantity cannot be negative, not {raw!r}", code="QTY_INVALID")
    if not text or not _ALLOWED.match(text) or not text[0].isdigit() or not text[-1].isdigit():
        raise _invalid(raw)
    separators = [(i, c) for i, c in enumerate(text) if not c.isdigit()]
    if any(b - a == 1 for (a, _), (b, _) in zip(separators, separators[1:], strict=False)):
        raise _invalid(raw)  # "1,,5", "1. 000"
    decimal_at = _decimal_position(text, separators, locale, raw)
    whole, fraction = (
        (text, "") if decimal_at is None else (text[:decimal_at], text[decimal_at + 1 :])
    )
    digits = _ungrouped(whole, raw)
    if len(fraction) > QTY_DECIMALS:
        raise ScanError(
            f"{raw!r} has more than {QTY_DECIMALS} decimal places; round it", code="QTY_INVALID"
        )
    qty = Decimal(f"{digits}.{fraction}" if fraction else digits)
    # Zero is a quantity (a count that found an LP empty); the station's flow refuses it
    # wherever an action needs more than zero.
    if qty >= _MAX:
        raise ScanError(f"{raw!r} is too large to be a quantity", code="QTY_INVALID")
    return format_qty(qty)


def _decimal_position(
    text: str, separators: list[tuple[int, str]], locale: str | None, raw: str
) -> int | None:
    """Where the decimal mark is (None: a whole number), by the rules in the module docstring."""
    marks = [(i, c) for i, c in separators if c in MARKS]
    if not marks:
        return None
    last_at, last = separators[-1]
    kinds = {c for _, c in marks}
    if len(kinds) == 2:
        # 1.000,50 / 1,000.50: the last one is the decimal mark and appears once, at the end.
        if last not in MARKS or sum(1 for _, c in marks if c == last) != 1:
            raise _invalid(raw)
        return last_at
    if len(marks) > 1 or last not in MARKS:
        return None  # 1.000.000 / 1,000,000 / 1.000 000: grouping only (checked later)
    whole, fraction = text[:last_at], text[last_at + 1 :]
    grouped = any(c in GROUPING_ONLY for _, c in separators)
    if grouped or len(fraction) != 3 or whole == "0" or len(whole) > 3:
        return last_at  # 1 000,5 / 12,5 / 0,720 / 1234.567: only a decimal mark fits
    # "1.720" or "1,720": grouping in one language, a decimal mark in another.
    if locale is None:
        small = format_qty(Decimal(f"{whole}.{fraction}"))
        raise ScanError(
            f"{raw!r} is ambiguous: {whole}{fraction} or {small}? Write it without grouping "
            f"({whole}{fraction}) or as {small}, or set the station's locale in edge.toml "
            '(e.g. locale = "de" or "en")',
            code="QTY_AMBIGUOUS",
        )
    try:
        mark = decimal_mark(locale)
    except ValueError as err:
        raise ScanError(f"{raw!r} is ambiguous and {err}", code="QTY_AMBIGUOUS") from err
    return last_at if last == mark else None


def _ungrouped(whole: str, raw: str) -> str:
    """The digits of the whole part, its grouping checked: 1-3 digits, then groups of 3."""
    groups = re.split(r"[^0-9]", whole)
    separators = set(re.sub(r"[0-9]", "", whole))
    if len(separators) > 1:
        raise _invalid(raw)  # one grouping separator per number
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        raise ScanError(
            f"{raw!r} is not grouped in thousands (1.000.000 or 1,000,000): write the digits "
            "without grouping, e.g. 1250 or 12.5",
            code="QTY_INVALID",
        )
    return "".join(groups)


def _invalid(raw: str) -> ScanError:
    return ScanError(
        f"{raw!r} is not a quantity: write digits with at most one decimal mark, e.g. 1250, "
        "12.5 or 12,5",
        code="QTY_INVALID",
    )
