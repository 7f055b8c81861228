"""The decoder end to end: AIM identifiers, separators, forms, rule order, quantities, explain."""

import pytest

from edge.barcodes.decode import BarcodeDecoder
from edge.barcodes.scan import Scan
from edge.errors import ScanError
from tests.edge.barcodes.labels import CASE_GTIN, GS, GTIN, GTIN13, SSCC, wrong_check

decode = BarcodeDecoder()
with_pipe = BarcodeDecoder(gs_substitute="|")

RECEIPT = f"01{GTIN}10ABC123{GS}17261231{GS}3712"


@pytest.mark.parametrize("aim", ["]C1", "]d2", "]Q3", "]e0", "]J1"])
def test_gs1_symbologies_read_the_same_label(aim: str) -> None:
    scan = decode(aim + RECEIPT)
    assert (scan.kind, scan.value, scan.rule, scan.symbology) == (
        "receipt",
        GTIN,
        "gs1-receipt",
        aim,
    )
    assert scan.fields["lot"] == "ABC123" and scan.fields["expiry"] == "2026-12-31"
    assert scan.fields["qty"] == "12" and "uom" not in scan.fields
    assert scan.text == RECEIPT


def test_without_aim_with_a_leading_gs_or_nothing_at_all() -> None:
    assert decode(GS + RECEIPT + GS + "\r\n").value == GTIN
    assert decode(RECEIPT).fields["lot"] == "ABC123"


def test_the_substitute_stands_for_gs_and_text_shows_gs() -> None:
    piped = RECEIPT.replace(GS, "|")
    scan = with_pipe("]C1" + piped)
    assert scan.fields["lot"] == "ABC123" and scan.text == RECEIPT
    assert with_pipe("|" + piped).value == GTIN  # a leading substitute is FNC1, like GS
    assert with_pipe(RECEIPT).fields["lot"] == "ABC123"  # GS still works
    # Without the substitute configured the lot swallows the rest: refused, not misread.
    with pytest.raises(ScanError) as err:
        decode("]C1" + piped)
    assert err.value.code == "GS1_INVALID"


def test_sscc_is_an_lp_in_every_spelling() -> None:
    for text in (
        f"]C100{SSCC}",
        f"00{SSCC}",
        SSCC,
        f"(00){SSCC}",
        f"{GS}00{SSCC}",
        f"https://id.example.com/00/{SSCC}",
    ):
        scan = decode(text)
        assert (scan.kind, scan.value, scan.rule) == ("lp", SSCC, "gs1-sscc"), text


def test_a_pallet_label_is_an_lp_that_also_names_its_contents() -> None:
    scan = decode(f"]C100{SSCC}02{CASE_GTIN}3740{GS}10LOT-9")
    assert (scan.kind, scan.value) == ("lp", SSCC)
    assert scan.fields["gtin"] == CASE_GTIN and scan.fields["qty"] == "40"


def test_hri_and_digital_link_are_receipts() -> None:
    hri = decode(f"(01){GTIN}(10)ABC123(17)261231(3103)001250")
    link = decode(f"]Q1https://id.example.com/01/{GTIN}/10/ABC123?17=261231&3103=001250")
    for scan in (hri, link):
        assert (scan.kind, scan.value) == ("receipt", GTIN)
        assert scan.fields["qty"] == "1.25" and scan.fields["uom"] == "kg"
        assert scan.fields["ais"] == f"(01){GTIN}(10)ABC123(17)261231(3103)001250"


def test_a_bare_gtin_is_a_product() -> None:
    for text in (GTIN13, GTIN, f"]E0{GTIN13}"):
        scan = decode(text)
        assert (scan.kind, scan.value, scan.rule) == ("product", GTIN, "gs1-product"), text


def test_inconsistent_labels_are_refused_with_the_reason() -> None:
    cases = {
        f"]C100{wrong_check(SSCC)}": "SSCC",
        f"]C101{wrong_check(GTIN)}10A": "GTIN",
        f"]C101{GTIN}17261331": "month 13",
        f"]C101{GTIN}10ABC12317261231": "lot seems to run into (17) expiry 2026-12-31",
        f"]C101{GTIN}10{'X' * 21}": "at most 20 fit",
        f"]C101{GTIN}2312": "unknown AI",
        f"(01){GTIN}(17)261232": "day 32",
        f"https://id.example.com/01/{wrong_check(GTIN)}": "bad check digit",
    }
    for text, reason in cases.items():
        with pytest.raises(ScanError) as err:
            decode(text)
        assert err.value.code == "GS1_INVALID" and reason in str(err.value), text


def test_gs1_data_is_never_taken_by_a_pattern_rule() -> None:
    # ]C1 announces GS1: even text the internal-LP rule would take is refused as GS1.
    with pytest.raises(ScanError) as err:
        decode("]C1LP-0001")
    assert err.value.code == "GS1_INVALID"


@pytest.mark.parametrize("text", ["LP-0001", "PAL.77", "A12345"])
def test_internal_lps_are_not_gs1(text: str) -> None:
    assert decode(text) == Scan("lp", text, text, "internal-lp")


@pytest.mark.parametrize(
    ("text", "locale", "qty"),
    [
        ("1720", None, "1720"),
        ("1.720", "de", "1720"),
        ("1.720", "tr", "1720"),
        ("1.720", "en", "1.72"),
        ("1,720", "fr", "1.72"),
        ("1.000,5", None, "1000.5"),
        ("999999999999", None, "999999999999"),  # 12 digits: never GS1
        ("96385074", None, "96385074"),  # 8 digits with a valid GTIN-8 check digit
    ],
)
def test_typed_quantities_when_one_is_expected(text: str, locale: str | None, qty: str) -> None:
    scan = decode(text, expected=["qty"], locale=locale)
    assert (scan.kind, scan.value, scan.rule) == ("qty", qty, "typed-quantity")


def test_a_number_is_an_lp_when_no_quantity_is_expected() -> None:
    assert decode("1720").kind == "lp"


def test_an_ambiguous_typed_quantity_without_locale_is_refused() -> None:
    with pytest.raises(ScanError) as err:
        decode("1.720", expected=["qty"])
    assert err.value.code == "QTY_AMBIGUOUS"
    with pytest.raises(ScanError) as err:
        decode("QTY:1,720")
    assert err.value.code == "QTY_AMBIGUOUS"
    assert decode("QTY:1,720", locale="de").value == "1.72"


def test_a_box_ean_while_a_quantity_is_expected_stays_a_product() -> None:
    # 13 digits are beyond any quantity (< 10^12), so the GTIN reading is the only one.
    assert decode(GTIN13, expected=["qty"]).kind == "product"


def test_nothing_matched_names_what_was_read() -> None:
    with pytest.raises(ScanError) as err:
        decode("https://example.com/hello world")
    assert err.value.code == "NO_RULE_MATCHED" and "example.com" in str(err.value)


@pytest.mark.parametrize("raw", ["", "\r\n", "]C1", f"]C1{GS}{GS}"])
def test_empty_scans(raw: str) -> None:
    with pytest.raises(ScanError, match="empty scan"):
        decode(raw)


def test_a_bad_substitute_is_refused_by_the_constructor() -> None:
    with pytest.raises(ValueError, match="can appear inside GS1 data"):
        BarcodeDecoder(gs_substitute="0")


def test_explain_a_receipt() -> None:
    report = with_pipe.explain("]C1" + RECEIPT.replace(GS, "|"))
    assert report["text"] == RECEIPT.replace(GS, "<GS>")
    assert report["symbology"] == "]C1" and "GS1-128" in (report["symbology_meaning"] or "")
    assert report["gs1_form"] == "element string"
    assert [(s["rule"], s["outcome"]) for s in report["rules"]] == [
        ("gs1-sscc", "no match"),
        ("gs1-receipt", "matched"),
    ]
    assert report["rules"][0]["why"] == "the label carries no (00)"
    assert report["scan"] is not None and report["scan"]["value"] == GTIN
    assert report["scan"]["fields"]["lot"] == "ABC123" and report["error"] is None


def test_explain_a_refusal_names_the_rule_and_the_reason() -> None:
    report = decode.explain(f"]C101{GTIN}10ABC12317261231")
    assert report["scan"] is None and report["error"] is not None
    assert report["error"]["code"] == "GS1_INVALID"
    assert report["rules"] == [
        {
            "rule": "gs1-sscc",
            "kind": "lp",
            "outcome": "refused",
            "why": report["error"]["message"],
        }
    ]


def test_explain_a_typed_quantity_shows_why_each_rule_passed() -> None:
    report = decode.explain("12,5", expected=["qty"], locale="de")
    outcomes = {s["rule"]: (s["outcome"], s["why"]) for s in report["rules"]}
    assert outcomes["gs1-sscc"] == ("no match", "not GS1 data")
    assert outcomes["location"][0] == "no match"
    assert outcomes["typed-quantity"] == ("matched", "qty 12.5")
    assert report["symbology"] is None and report["gs1_form"] is None
    later = decode.explain("12,5")
    assert ("typed-quantity", "skipped") in [(s["rule"], s["outcome"]) for s in later["rules"]]


def test_explain_an_empty_scan() -> None:
    report = decode.explain("   ")
    assert report["text"] is None and report["rules"] == []
    assert report["error"] == {"code": "SCAN_INVALID", "message": "empty scan: nothing was read"}


def test_explain_a_gtin_alone_and_an_unknown_symbology() -> None:
    report = decode.explain(f"]E0{GTIN13}")
    assert report["symbology_meaning"] == "EAN-13, UPC-A or UPC-E" and report["gs1_form"] == "GTIN"
    assert report["rules"][1] == {
        "rule": "gs1-receipt",
        "kind": "receipt",
        "outcome": "no match",
        "why": "a GTIN alone is read by product rules only",
    }
    assert decode.explain("]X0abc")["symbology_meaning"] == "a symbology this edge has no name for"


def test_a_frame_of_control_characters_is_refused_as_a_scanner_setting() -> None:
    # A scanner that wraps each scan in STX ... ETX, with edge.toml not told to strip them.
    with pytest.raises(ScanError) as err:
        BarcodeDecoder()("\x02LP-1\x03")
    assert err.value.code == "SCAN_INVALID"
    assert "control characters" in str(err.value) and "prefix" in str(err.value)


def test_unreadable_characters_name_both_likely_settings() -> None:
    with pytest.raises(ScanError) as err:
        BarcodeDecoder()("LP-\ufffd1")
    assert err.value.code == "SCAN_UNREADABLE"
    assert "baud rate" in str(err.value) and "layout" in str(err.value)
