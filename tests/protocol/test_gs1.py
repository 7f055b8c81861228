"""The GS1 check digit edge and central share, against the GS1 specification's examples."""

from protocol.gs1 import gs1_check_digit, sscc_check_misfit, sscc_digits


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
