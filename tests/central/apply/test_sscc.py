"""SSCC-18 numbers: the GS1 check digit and the layout under a company prefix."""

import pytest

from central.apply.sscc import make_sscc


def test_gs1_worked_example() -> None:
    # GS1 General Specifications, SSCC example: (00) 1 0614141 234567890 8
    assert (
        make_sscc(extension="1", company_prefix="0614141", serial=234567890) == "106141412345678908"
    )


def test_longer_prefix_leaves_fewer_serial_digits() -> None:
    sscc = make_sscc(extension="0", company_prefix="0614141999", serial=42)
    assert len(sscc) == 18 and sscc.startswith("00614141999000042")


def test_exhausted_serials_are_refused() -> None:
    with pytest.raises(ValueError):
        make_sscc(extension="0", company_prefix="0614141", serial=10**9)
