"""Bodies of the plant actions: what each type accepts, and the refusals a device gets back."""

import pytest

from protocol import ProtocolError, RejectCode
from protocol.envelope import normalize_body


@pytest.mark.parametrize(
    ("type", "body", "wire"),
    [
        ("lp.split", {"lp": "LP-1", "qty": "2.5"}, {"lp": "LP-1", "qty": "2.5"}),
        ("lp.merge", {"lp": "LP-1", "into": "LP-2"}, {"lp": "LP-1", "into": "LP-2"}),
        ("lp.pack", {"lp": "C-1", "parent": "PAL-1"}, {"lp": "C-1", "parent": "PAL-1"}),
        ("lp.unpack", {"lp": "C-1"}, {"lp": "C-1"}),
        ("wo.start", {"work_order": "WO-1"}, {"work_order": "WO-1"}),
        ("wo.complete", {"work_order": "WO-1"}, {"work_order": "WO-1"}),
        (
            "qc.hold",
            {"lot": "L-7", "item": "FLOUR", "reason": "mould"},
            {"lot": "L-7", "item": "FLOUR", "reason": "mould"},
        ),
        (
            "qc.release",
            {"lp": "LP-1", "reason": "lab cleared"},
            {"lp": "LP-1", "reason": "lab cleared"},
        ),
        (
            "count.record",
            {
                "session": "CNT-1",
                "location": "A-01",
                "lps": [{"lp": "LP-1", "qty": "0"}, {"lp": "LP-2", "qty": "4.250"}],
            },
            {
                "session": "CNT-1",
                "location": "A-01",
                "lps": [{"lp": "LP-1", "qty": "0"}, {"lp": "LP-2", "qty": "4.25"}],
            },
        ),
    ],
)
def test_plant_bodies_travel_in_canonical_form(type: str, body: dict, wire: dict) -> None:
    assert normalize_body(type, body) == wire


@pytest.mark.parametrize(
    ("type", "body", "words"),
    [
        ("lp.split", {"lp": "LP-1", "qty": "0"}, "qty: Input should be greater than"),
        ("lp.merge", {"lp": "LP-1"}, "into"),
        ("qc.hold", {"lp": "LP-1", "lot": "L-7", "reason": "x"}, "exactly one of lp or lot"),
        ("qc.hold", {"reason": "x"}, "exactly one of lp or lot"),
        ("qc.hold", {"lp": "LP-1", "item": "FLOUR", "reason": "x"}, "item narrows a lot hold"),
        ("qc.hold", {"lp": "LP-1", "reason": ""}, "reason"),
        ("count.record", {"session": "CNT-1", "location": "A-01", "lps": []}, "lps"),
        (
            "count.record",
            {"session": "CNT-1", "location": "A-01", "lps": [{"lp": "LP-1", "qty": "-1"}]},
            "lps.0.qty: Input should be greater",
        ),
        ("wo.start", {"work_order": "WO-1", "qty": "1"}, "qty"),
    ],
)
def test_bad_plant_bodies_are_refused_with_a_reason(type: str, body: dict, words: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        normalize_body(type, body)
    assert caught.value.code == RejectCode.BODY_INVALID
    assert words in caught.value.message


RECEIPT = {"qty": "10", "location": "RECV"}


@pytest.mark.parametrize(
    ("body", "wire"),
    [
        # The product by code, as always; uom may be left to the product.
        ({**RECEIPT, "item": "FLOUR"}, {**RECEIPT, "item": "FLOUR"}),
        ({**RECEIPT, "item": "FLOUR", "uom": "kg"}, {**RECEIPT, "item": "FLOUR", "uom": "kg"}),
        # By the label's GTIN, in any of its lengths, sent as the 14 digits of AI 01.
        ({**RECEIPT, "gtin": "4006381333931"}, {**RECEIPT, "gtin": "04006381333931"}),
        ({**RECEIPT, "gtin": "036000291452"}, {**RECEIPT, "gtin": "00036000291452"}),
        ({**RECEIPT, "gtin": "96385074"}, {**RECEIPT, "gtin": "00000096385074"}),
        ({**RECEIPT, "gtin": "14006381333938"}, {**RECEIPT, "gtin": "14006381333938"}),
        # Both, and the label's dates as ISO dates.
        (
            {
                **RECEIPT,
                "item": "FLOUR",
                "gtin": "04006381333931",
                "lot": "L-7",
                "production_date": "2026-11-01",
                "best_before": "2027-03-01",
                "expiry": "2027-05-01",
            },
            {
                **RECEIPT,
                "item": "FLOUR",
                "gtin": "04006381333931",
                "lot": "L-7",
                "production_date": "2026-11-01",
                "best_before": "2027-03-01",
                "expiry": "2027-05-01",
            },
        ),
    ],
)
def test_a_receipt_names_its_product_by_item_or_gtin(body: dict, wire: dict) -> None:
    assert normalize_body("lp.receive", body) == wire


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (RECEIPT, "name the product received: item (its product code), gtin"),
        ({**RECEIPT, "gtin": "4006381333932"}, "GTIN 4006381333932 has a wrong check digit"),
        ({**RECEIPT, "gtin": "40063813339"}, "a GTIN has 8, 12, 13 or 14 digits, not '4006"),
        ({**RECEIPT, "gtin": "4006381333931 "}, "a GTIN has 8, 12, 13 or 14 digits"),
        ({**RECEIPT, "gtin": "400638133393\u0661"}, "a GTIN has 8, 12, 13 or 14 digits"),
        ({**RECEIPT, "gtin": 4006381333931}, "gtin: Input should be a valid string"),
        ({**RECEIPT, "item": "FLOUR", "best_before": "2027-02-30"}, "best_before"),
        ({**RECEIPT, "item": "FLOUR", "production_date": "yesterday"}, "production_date"),
        ({**RECEIPT, "item": "FLOUR", "uom": ""}, "uom"),
    ],
)
def test_a_receipt_that_names_no_product_rightly_is_refused(body: dict, words: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        normalize_body("lp.receive", body)
    assert caught.value.code == RejectCode.BODY_INVALID
    assert words in caught.value.message
