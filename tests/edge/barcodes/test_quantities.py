"""Quantities as operators write them: both decimal marks, grouping, locales, refusals."""

import pytest

from edge.barcodes.quantities import decimal_mark, parse_quantity
from edge.errors import ScanError


@pytest.mark.parametrize(
    ("text", "qty"),
    [
        ("12", "12"),
        ("12.5", "12.5"),
        ("12,5", "12.5"),
        ("1.000,50", "1000.5"),
        ("1,000.50", "1000.5"),
        ("1.000.000,25", "1000000.25"),
        ("1,000,000.25", "1000000.25"),
        ("1 000,5", "1000.5"),
        ("1\u00a0000,5", "1000.5"),
        ("1\u202f000,5", "1000.5"),
        ("1'000.50", "1000.5"),
        ("1\u2019000.50", "1000.5"),
        ("1 000", "1000"),
        ("1.000.000", "1000000"),
        ("0,720", "0.72"),  # a leading 0 is never a thousands group
        ("1234.567", "1234.567"),  # four digits before: no grouping fits
        ("1,0000", "1"),
        ("  7 ", "7"),
    ],
)
def test_unambiguous_quantities_need_no_locale(text: str, qty: str) -> None:
    assert parse_quantity(text) == qty


@pytest.mark.parametrize(
    ("text", "locale", "qty"),
    [
        ("1.720", "de", "1720"),
        ("1,720", "de", "1.72"),
        ("1.720", "tr", "1720"),
        ("1,720", "tr", "1.72"),
        ("1.720", "fr", "1720"),
        ("1,720", "fr", "1.72"),
        ("1.720", "en", "1.72"),
        ("1,720", "en", "1720"),
        ("1,720", "us", "1720"),
        ("1.720", "en-GB", "1.72"),
        ("1.720", "de_CH", "1.72"),  # Swiss German writes 1'720.5
        ("12,5", "en", "12.5"),  # no locale overrides what only one reading fits
        ("12.5", "de", "12.5"),
    ],
)
def test_the_station_locale_decides_a_lone_separator_before_three_digits(
    text: str, locale: str, qty: str
) -> None:
    assert parse_quantity(text, locale) == qty


@pytest.mark.parametrize("text", ["1.720", "1,720", "12.500"])
def test_ambiguity_without_a_locale_is_refused_with_both_readings(text: str) -> None:
    with pytest.raises(ScanError) as err:
        parse_quantity(text)
    assert err.value.code == "QTY_AMBIGUOUS"
    message = str(err.value)
    whole, fraction = text.replace(",", ".").split(".")
    assert f"{whole}{fraction}" in message and "locale" in message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1.2.3", "thousands"),
        ("1,,5", "at most one decimal mark"),
        ("12,34,567", "thousands"),
        ("1.000,000.5", "at most one decimal mark"),
        ("1.000 000", "at most one decimal mark"),
        ("12a", "at most one decimal mark"),
        (".5", "at most one decimal mark"),
        ("5.", "at most one decimal mark"),
        ("", "at most one decimal mark"),
        ("1.1234567", "decimal places"),
        ("1000000000000", "too large"),
    ],
)
def test_malformed_quantities_are_refused_with_how_to_write_them(text: str, says: str) -> None:
    with pytest.raises(ScanError) as err:
        parse_quantity(text)
    assert err.value.code == "QTY_INVALID"
    assert says in str(err.value)


@pytest.mark.parametrize("text", ["-5", "-1,5", "-0"])
def test_negative_is_refused(text: str) -> None:
    with pytest.raises(ScanError, match="cannot be negative") as err:
        parse_quantity(text, "de")
    assert err.value.code == "QTY_INVALID"


@pytest.mark.parametrize("text", ["0", "0,0", "000"])
def test_zero_is_a_quantity_the_flow_decides_on(text: str) -> None:
    assert parse_quantity(text, "de") == "0"


def test_an_unknown_station_locale_does_not_guess() -> None:
    with pytest.raises(ScanError) as err:
        parse_quantity("1.720", "xx")
    assert err.value.code == "QTY_AMBIGUOUS" and "'xx'" in str(err.value)


@pytest.mark.parametrize(
    ("locale", "mark"),
    [("de", ","), ("DE-at", ","), ("tr", ","), ("fr", ","), ("fr-CH", ","), ("en", ".")],
)
def test_decimal_marks_by_locale(locale: str, mark: str) -> None:
    assert decimal_mark(locale) == mark


def test_uk_is_refused_as_ambiguous() -> None:
    with pytest.raises(ValueError, match="en-GB"):
        decimal_mark("uk")
    assert decimal_mark("uk-UA") == ","
