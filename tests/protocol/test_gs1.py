"""The GS1 check digit edge and central share, against the GS1 specification's examples."""

import pytest

from protocol.gs1 import gs1_check_digit, gtin_14, gtin_spellings, sscc_check_misfit, sscc_digits


def test_gs1_worked_examples() -> None:
    # GS1 General Specifications: SSCC (00) 1 0614141 234567890 8, GTIN-13 095060001343 2,
    # and the SSCC 10614141123456789 7 of the GS1-128 label examples.
    assert gs1_check_digit("10614141234567890") == 8
    assert gs1_check_digit("0950600013435") == 2
    assert gs1_check_digit("10614141123456789") == 7


def test_any_single_mistyped_digit_changes_the_check_digit() -> None:
    # Weights 3 and 1 are prime to 10, so every one-digit typo shows (weight 2 would miss some).
    body = "10614141234567890"
    for position, digit in enumerate(body):
        for typo in "0123456789".replace(digit, ""):
            mistyped = body[:position] + typo + body[position + 1 :]
            assert gs1_check_digit(mistyped) != gs1_check_digit(body), mistyped


def test_an_sscc_is_read_in_each_of_its_spellings() -> None:
    sscc = "106141412345678908"
    for text in (sscc, f"00{sscc}", f"(00){sscc}"):
        assert sscc_digits(text) == sscc, text
    for text in (
        "106141412345678907",  # wrong check digit
        "00106141412345678907",
        "(00)106141412345678907",
        "01106141412345678908",  # another AI
        "(01)106141412345678908",
        "10614141234567890",  # 17 digits
        "0106141412345678908",  # 19 digits
        f"{sscc} ",
        "LP-1",
        "",
    ):
        assert sscc_digits(text) is None, text


def test_a_mistyped_sscc_is_told_its_check_digit() -> None:
    sscc = "006141410000000012"
    assert sscc_check_misfit(sscc) is None  # right as it is
    assert sscc_check_misfit("(00)006141410000000013") == 2
    assert sscc_check_misfit("00006141410000000019") == 2
    assert sscc_check_misfit("PAL-1") is None and sscc_check_misfit("12345") is None


def test_a_gtin_of_any_length_is_the_same_number_in_14_digits() -> None:
    assert gtin_14("96385074") == "00000096385074"  # GTIN-8
    assert gtin_14("036000291452") == "00036000291452"  # GTIN-12 (UPC-A)
    assert gtin_14("4006381333931") == "04006381333931"  # GTIN-13 (EAN-13)
    assert gtin_14("14006381333938") == "14006381333938"  # GTIN-14
    for wrong in ("4006381333932", "40063813339", "", "4006381333931x", "٤٠٠٦٣٨١٣٣٣٩٣١"):
        with pytest.raises(ValueError):
            gtin_14(wrong)


def test_a_gtin_is_found_in_every_length_a_catalog_may_write_it() -> None:
    assert gtin_spellings("00000096385074") == [
        "00000096385074",
        "0000096385074",
        "000096385074",
        "96385074",
    ]
    assert gtin_spellings("04006381333931") == ["04006381333931", "4006381333931"]
    assert gtin_spellings("14006381333938") == ["14006381333938"]
    # Only leading zeros drop: no GTIN-8 spells a number with a digit in its sixth place.
    assert gtin_spellings("00000123456784") == [
        "00000123456784",
        "0000123456784",
        "000123456784",
    ]
