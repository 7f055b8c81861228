"""PO numbers normalized for matching: every example of docs/central-orders.md#po-numbers."""

import pytest

from central.purchasing.po_numbers import normalize

EXAMPLES = [
    (" po-164 ", "PO164"),  # trimmed, upper case, separator after the letters dropped
    ("PO 164", "PO164"),  # inner spaces
    ("Po  000 164", "PO164"),
    ("PO-000164", "PO164"),  # leading zeros of the numeric part
    ("po164", "PO164"),
    ("PO_164", "PO164"),
    ("PO-164-1", "PO164"),  # delivery suffixes
    ("PO-164_1", "PO164"),
    ("PO-164/1", "PO164"),
    ("PO-164/12", "PO164"),
    ("000164", "164"),
    ("164-1", "164"),
    ("164_1", "164"),
    ("164/1", "164"),
    ("0000", "0"),
    ("PO-1", "PO1"),  # a dash after letters is no suffix
    ("PO2-00164", "PO2-164"),  # a separator after a digit stays
    ("ACME", "ACME"),  # no digits: only trimmed and upper case
    ("2024-16", "2024"),  # the documented caveat: read as number 2024, delivery 16
    ("164-123", "164-123"),  # three digits after a dash: not a suffix
]


@pytest.mark.parametrize(("given", "normalized"), EXAMPLES)
def test_each_documented_example(given: str, normalized: str) -> None:
    assert normalize(given) == normalized


def test_normalizing_twice_changes_nothing() -> None:
    for given, normalized in EXAMPLES:
        assert normalize(normalized) == normalized, given
