"""GS1 arithmetic every part of IOE shares: the mod-10 check digit of GTINs and SSCCs, and the
ways an SSCC is written."""

import re

# An SSCC as printed under a label or typed: its 18 digits, or with its application identifier
# "00" in front (the 20-digit element string), or "(00)" and the 18 digits (the human-readable
# line).
_SSCC_FORMS = re.compile(r"^(?:\(00\)|00)?(\d{18})$")


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
