"""GS1 arithmetic every part of IOE shares: the mod-10 check digit of GTINs and SSCCs, and the
ways a GTIN and an SSCC are written."""

import re

# An SSCC as printed under a label or typed: its 18 digits, or with its application identifier
# "00" in front (the 20-digit element string), or "(00)" and the 18 digits (the human-readable
# line).
_SSCC_FORMS = re.compile(r"^(?:\(00\)|00)?(\d{18})$")

# A GTIN-8, -12, -13 or -14: the shorter ones are the same number with leading zeros dropped
# (GS1 General Specifications 2.1.2: any GTIN is written as 14 digits in a GTIN field, AI 01).
GTIN_LENGTHS = (8, 12, 13, 14)


def gs1_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit of ``digits``: weights 3, 1, 3, ... from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def sscc_check_misfit(text: str) -> int | None:
    """The check digit an SSCC spelling should end with, when ``text`` is shaped like one
    (18 digits, ``00`` + 18, ``(00)`` + 18) but ends with another: a mistyped label. None
    when it is not SSCC-shaped or its check digit is right."""
    match = _SSCC_FORMS.match(text)
    if match is None:
        return None
    sscc = match.group(1)
    expected = gs1_check_digit(sscc[:17])
    return None if expected == int(sscc[17]) else expected


def sscc_digits(text: str) -> str | None:
    """The 18-digit SSCC that ``text`` spells (18 digits, ``00`` + 18 digits, or ``(00)`` +
    18 digits) when its check digit is right; None for anything else."""
    match = _SSCC_FORMS.match(text)
    if match is None:
        return None
    sscc = match.group(1)
    return sscc if gs1_check_digit(sscc[:17]) == int(sscc[17]) else None


def gtin_14(gtin: str) -> str:
    """A GTIN-8/12/13/14 with a right check digit as the 14 digits of AI 01; ValueError
    (saying what is wrong) for anything else."""
    if not (gtin.isascii() and gtin.isdigit()) or len(gtin) not in GTIN_LENGTHS:
        raise ValueError(f"a GTIN has 8, 12, 13 or 14 digits, not {gtin!r}")
    expected = gs1_check_digit(gtin[:-1])
    if int(gtin[-1]) != expected:
        raise ValueError(f"GTIN {gtin} has a wrong check digit (expected {expected})")
    return gtin.zfill(14)


def gtin_spellings(gtin: str) -> list[str]:
    """Every way a catalog may have written the GTIN whose 14-digit form is ``gtin``: itself,
    and each shorter length (13, 12, 8) its leading zeros allow."""
    return [gtin[14 - n :] for n in reversed(GTIN_LENGTHS) if gtin[: 14 - n].strip("0") == ""]
