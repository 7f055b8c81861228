"""PO numbers as shipments are matched by them: one spelling for every way people and
carriers write the same number (docs/central-orders.md#po-numbers).

A shipment's paperwork says ``po 000164/1`` where the order system says ``PO-164``; both
normalize to ``PO164``, and ``purchase_orders.normalized_number`` keeps that form so a match is
one indexed lookup.
"""

import re
import unicodedata

# A delivery suffix: a separator and one or two digits after a number ("164-1", "164/12").
_SUFFIX = re.compile(r"^(?P<base>.*\d)[-_/](?P<suffix>\d{1,2})$")
# The numeric part: the digits that end the number, and what stands before them.
_NUMERIC = re.compile(r"^(?P<prefix>.*?)(?P<digits>\d+)$")
_SEPARATORS = "-_/."


def normalize(number: str) -> str:
    """The matching form of a PO number: trimmed, upper case, no whitespace, no delivery
    suffix, no separator between a letter prefix and the digits, no leading zeros in the
    numeric part."""
    text = unicodedata.normalize("NFKC", number).strip().upper()
    text = "".join(text.split())
    suffixed = _SUFFIX.match(text)
    if suffixed:
        text = suffixed["base"]
    numeric = _NUMERIC.match(text)
    if not numeric:
        return text
    prefix, digits = numeric["prefix"], numeric["digits"].lstrip("0") or "0"
    stripped = prefix.rstrip(_SEPARATORS)
    if stripped != prefix and (not stripped or stripped[-1].isalpha()):
        prefix = stripped  # "PO-164" is "PO164"; "PO2-164" keeps its dash
    return prefix + digits
