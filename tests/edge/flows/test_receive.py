"""lp.receive: from a GS1 receipt label, or product, quantity and lot one by one."""

from edge.barcodes.decode import BarcodeDecoder
from edge.flows import Refusal, Setup
from edge.flows.receive import Receive, as_gtin
from protocol.envelope import normalize_body
from protocol.gs1 import gs1_check_digit
from tests.edge.flows.helpers import DONE, actions, scan, walk

GTIN = "0952123456789" + str(gs1_check_digit("0952123456789"))
SSCC = "00614141123456789" + str(gs1_check_digit("00614141123456789"))
EAN13 = "400638133393" + str(gs1_check_digit("400638133393"))


def label(**fields: str) -> object:
    """A receipt scan as the decoder makes it from a GS1 label."""
    return scan("receipt", GTIN, gtin=GTIN, **fields)


def test_a_full_label_at_a_dock_with_a_location_is_received_at_once() -> None:
    flow = Receive(Setup(location="DOCK-1"))
    answers, data = walk(
        flow,
        label(
            qty="120",
            lot="L-2611",
            expiry="2027-03-31",
            production_date="2026-11-01",
            best_before="2027-02-28",
            sscc=SSCC,
        ),
    )
    [(type, body)] = actions(answers)
    assert body == {
        "gtin": GTIN,
        "qty": "120",
        "lot": "L-2611",
        "expiry": "2027-03-31",
        "production_date": "2026-11-01",
        "best_before": "2027-02-28",
        "location": "DOCK-1",
        "lp": SSCC,
    }
    assert normalize_body(type, body) == body  # exactly what lp.receive takes
    assert data == {"location": "DOCK-1"}


def test_a_label_with_an_sscc_and_a_gtin_is_the_supplier_label_as_the_decoder_reads_it() -> None:
    # The default rules read any label with (00) as an LP (gs1-sscc comes first): its GTIN,
    # count, lot and dates must still fill the receipt, and its SSCC number the new LP.
    flow = Receive(Setup(location="DOCK-1"))
    raw = f"]C100{SSCC}01{GTIN}17271231102611\x1d3102001250"
    read = BarcodeDecoder()(raw, expected=flow.step(flow.start()).kinds)
    assert read.kind == "lp"
    answers, _ = walk(flow, read)
    assert actions(answers) == [
        (
            "lp.receive",
            {
                "gtin": GTIN,
                "qty": "12.5",
                "uom": "kg",
                "lot": "2611",
                "expiry": "2027-12-31",
                "location": "DOCK-1",
                "lp": SSCC,
            },
        )
    ]


def test_an_lp_label_before_the_supplier_label_then_the_location() -> None:
    flow = Receive()
    answers, data = walk(
        flow,
        scan("lp", "LP-IN-9"),
        label(qty="25.5", uom="kg"),
        scan("location", "RECV-2"),
    )
    assert answers[1].message.startswith("GTIN")
    assert flow.step(answers[1].data).prompt == f"scan the location 25.5 of {GTIN} goes to"
    assert actions(answers) == [
        (
            "lp.receive",
            {"gtin": GTIN, "qty": "25.5", "uom": "kg", "location": "RECV-2", "lp": "LP-IN-9"},
        )
    ]
    assert data == {}


def test_a_label_without_a_count_asks_for_the_quantity_not_the_lot() -> None:
    flow = Receive(Setup(location="DOCK-1"))
    [first], data = walk(flow, label())
    assert flow.step(data).name == "qty"
    answers, _ = walk(flow, scan("qty", "40"), data=data)
    assert actions(answers) == [("lp.receive", {"gtin": GTIN, "qty": "40", "location": "DOCK-1"})]


def test_step_by_step_product_quantity_lot_location() -> None:
    flow = Receive()
    steps = []
    data = flow.start()
    answers = []
    for item in (
        scan("product", "FLOUR-T55"),
        scan("qty", "1000"),
        scan("lot", "L-1"),
        scan("location", "A-01"),
    ):
        steps.append(flow.step(data).name)
        [answer], data = walk(flow, item, data=data)
        answers.append(answer)
    assert steps == ["product", "qty", "lot", "location"]
    assert actions(answers) == [
        ("lp.receive", {"item": "FLOUR-T55", "qty": "1000", "lot": "L-1", "location": "A-01"})
    ]


def test_done_at_the_lot_step_receives_without_a_lot() -> None:
    flow = Receive(Setup(location="DOCK-1"))
    answers, _ = walk(flow, scan("product", EAN13), scan("qty", "6"), DONE)
    assert actions(answers) == [
        ("lp.receive", {"gtin": "0" + EAN13, "qty": "6", "location": "DOCK-1"})
    ]


def test_a_bare_gtin_read_as_an_lp_is_taken_as_the_product() -> None:
    [answer], data = walk(Receive(), scan("lp", EAN13))
    assert data == {"gtin": "0" + EAN13}
    assert as_gtin("LP-0001") is None and as_gtin("4006381333932") is None  # bad check digit


def test_refusals_say_what_is_expected() -> None:
    flow = Receive()
    [qty_first], _ = walk(flow, scan("qty", "5"))
    assert qty_first == Refusal(
        "NEED_PRODUCT",
        "quantity 5 does not fit here: scan the supplier's GS1 label, or the product (ITEM:)",
    )
    [_, second_lp], _ = walk(flow, scan("lp", "LP1"), scan("lp", "LP2"))
    assert isinstance(second_lp, Refusal) and "LP LP1 is waiting for its product" in (
        second_lp.message
    )
    [_, lot_early], _ = walk(flow, scan("product", "X"), scan("lot", "L-1"))
    assert isinstance(lot_early, Refusal) and lot_early.code == "NEED_QTY"
