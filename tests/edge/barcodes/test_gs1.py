"""GS1 data through biip: the forms recognised, the fields read, each refusal and its reason."""

import pytest

from edge.barcodes.gs1 import gs1_form, read_gs1
from edge.errors import ScanError
from tests.edge.barcodes.labels import GS, GTIN, GTIN13, SSCC, with_check, wrong_check


@pytest.mark.parametrize(
    ("text", "symbology", "form"),
    [
        (f"01{GTIN}10LOT1", "]C1", "element string"),
        ("anything at all", "]d2", "element string"),
        (f"{GS}01{GTIN}", None, "element string"),
        (f"|01{GTIN}", None, None),  # no substitute configured: "|" is just text
        (f"00{SSCC}", None, "element string"),
        (SSCC, None, "element string"),
        (f"01{GTIN}17261231", None, "element string"),
        (f"01{wrong_check(GTIN)}", None, "element string"),  # refused later, not an LP
        (f"(01){GTIN}(10)LOT1", None, "HRI"),
        (f"(01) {GTIN} (10) LOT1", None, "HRI"),
        (f"https://id.example.com/01/{GTIN}/10/LOT1?17=261231", None, "Digital Link"),
        ("https://example.com/about", None, None),
        (GTIN13, None, "GTIN"),
        (GTIN, None, "GTIN"),
        (wrong_check(GTIN13), None, None),  # a number someone typed, not a scanned EAN
        (GTIN13, "]E0", "GTIN"),
        ("LP-0001", None, None),
        ("1720", None, None),
        ("12.5", None, None),
        ("999999999999", None, None),  # the largest quantity: 12 digits, never GS1
        ("0100000012", None, None),
    ],
)
def test_what_counts_as_gs1(text: str, symbology: str | None, form: str | None) -> None:
    assert gs1_form(text, symbology) == form


def test_a_configured_substitute_opens_gs1_data_like_gs() -> None:
    assert gs1_form(f"|01{GTIN}", None, "|") == "element string"


def test_a_full_receipt_label() -> None:
    data = read_gs1(
        f"01{GTIN}10ABC123{GS}1126011515261231172612313024{GS}3102012550", "element string"
    )
    assert data.values["01"] == GTIN and data.has("01|02") and not data.has("00")
    assert dict(data.fields) == {
        "gtin": GTIN,
        "lot": "ABC123",
        "production_date": "2026-01-15",
        "best_before": "2026-12-31",
        "expiry": "2026-12-31",
        "qty": "125.5",
        "uom": "kg",
        "count": "24",
        "net_weight": "125.5",
        "ais": f"(01){GTIN}(10)ABC123(11)260115(15)261231(17)261231(30)24(3102)012550",
    }


def test_count_and_weight_both_kept_weight_is_the_qty() -> None:
    data = read_gs1(f"01{GTIN}3712{GS}3203001500", "element string")
    assert data.fields["qty"] == "1.5" and data.fields["uom"] == "lb"
    assert data.fields["count"] == "12" and data.fields["net_weight"] == "1.5"


def test_a_count_alone_has_no_uom() -> None:
    data = read_gs1(f"01{GTIN}10L7{GS}3000000024", "element string")
    assert data.fields["qty"] == "24" and "uom" not in data.fields and "count" not in data.fields


def test_sscc_pallet_label_with_contents() -> None:
    data = read_gs1(f"00{SSCC}02{GTIN}37120{GS}10LOT-9", "element string")
    assert data.fields["sscc"] == SSCC and data.fields["gtin"] == GTIN
    assert data.fields["qty"] == "120" and data.fields["lot"] == "LOT-9"


def test_the_substitute_separates_fields() -> None:
    data = read_gs1(f"01{GTIN}10ABC123|17261231", "element string", "|")
    assert data.fields["lot"] == "ABC123" and data.fields["expiry"] == "2026-12-31"


def test_hri_and_digital_link_read_like_the_element_string() -> None:
    element = read_gs1(f"01{GTIN}10LOT1{GS}17261231", "element string").fields
    hri = read_gs1(f"(01) {GTIN} (10) LOT1 (17) 261231", "HRI").fields
    link = read_gs1(f"https://id.example.com/01/{GTIN}/10/LOT1?17=261231", "Digital Link")
    assert element == hri == link.fields


def test_a_gtin_alone_becomes_a_gtin_14() -> None:
    assert read_gs1(GTIN13, "GTIN").values == {"01": GTIN}
    assert read_gs1(with_check("9638507"), "GTIN").values == {"01": "00000096385074"}


def refusal(text: str, form: str = "element string", substitute: str | None = None) -> str:
    with pytest.raises(ScanError) as err:
        read_gs1(text, form, substitute)  # type: ignore[arg-type]
    assert err.value.code == "GS1_INVALID"
    return str(err.value)


def test_bad_gtin_check_digit() -> None:
    bad = wrong_check(GTIN)
    message = refusal(f"01{bad}17261231")
    assert f"GTIN {bad} has a bad check digit ({bad[-1]}, expected {GTIN[-1]})" in message


def test_bad_sscc_check_digit_in_every_form() -> None:
    bad = wrong_check(SSCC)
    for text, form in [
        (f"00{bad}", "element string"),
        (bad, "element string"),
        (f"(00){bad}", "HRI"),
        (f"https://id.example.com/00/{bad}", "Digital Link"),
    ]:
        assert f"SSCC {bad} has a bad check digit" in refusal(text, form)


def test_bad_check_digit_of_a_gtin_alone() -> None:
    assert "bad check digit" in refusal(wrong_check(GTIN13), "GTIN")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (f"01{GTIN}17261331", "(17) expiry 261331: month 13 does not exist"),
        (f"01{GTIN}15261232", "(15) best before 261232: day 32 does not exist in month 12"),
        (f"01{GTIN}11260230", "(11) production date 260230: day 30 does not exist in month 2"),
        (f"(01){GTIN}(17)261331", "month 13 does not exist"),
        (f"https://id.example.com/01/{GTIN}?17=261331", "month 13 does not exist"),
    ],
)
def test_impossible_dates(text: str, says: str) -> None:
    form = "HRI" if text.startswith("(") else "Digital Link" if "://" in text else "element string"
    assert says in refusal(text, form)


def test_a_lot_without_its_separator_swallowing_the_expiry() -> None:
    message = refusal(f"01{GTIN}10ABC12317261231")
    assert message == (
        "lot seems to run into (17) expiry 2026-12-31: the scanner sent no group separator "
        "after the lot; configure it to send GS"
    )
    assert "configure it to send GS (or the substitute '|')" in refusal(
        f"01{GTIN}10ABC12317261231", substitute="|"
    )


def test_a_serial_swallowing_a_gtin() -> None:
    assert "serial seems to run into (01) GTIN" in refusal(f"21SN0042 01{GTIN}".replace(" ", ""))


def test_a_long_lot_cut_at_twenty_characters_still_names_the_run_in() -> None:
    message = refusal(f"01{GTIN}10ABCDEFGHIJKLMNOPQR17261231")
    assert message.startswith("lot seems to run into (17) expiry 2026-12-31")


def test_a_lot_that_merely_ends_in_digits_is_fine() -> None:
    # "2024" would parse as (20)24, a variant; not strong evidence of a missing separator.
    assert read_gs1(f"01{GTIN}10L2024", "element string").fields["lot"] == "L2024"


def test_an_over_long_field() -> None:
    assert "is 25 characters long; at most 20 fit" in refusal(f"01{GTIN}10{'A' * 25}")
    assert "is 25 characters long; at most 20 fit" in refusal(f"(01){GTIN}(10){'A' * 25}", "HRI")


def test_a_cut_short_field() -> None:
    assert "(01) GTIN needs 14 characters, the label has 6" in refusal("01095212")


def test_unknown_ais() -> None:
    assert "no GS1 application identifier starts at '2312'" in refusal(f"01{GTIN}2312")
    assert "(23) is not a GS1 application identifier" in refusal(f"(01){GTIN}(23)12", "HRI")


def test_a_label_that_contradicts_itself() -> None:
    assert "carries (10) lot twice" in refusal(f"01{GTIN}10A{GS}10B")


def test_zero_count_and_zero_weight() -> None:
    assert "count is 0" in refusal(f"01{GTIN}370")
    assert "net weight is 0" in refusal(f"01{GTIN}3103000000")


def test_a_digital_link_without_usable_data() -> None:
    assert "not a usable GS1 Digital Link" in refusal(
        f"https://id.example.com/01/{GTIN}/99/x", "Digital Link"
    )
