"""ship.load: one shipment, then every LP or pallet onto it until done or another shipment."""

from edge.flows import Progress, Refusal
from edge.flows.load import Load
from tests.edge.flows.helpers import DONE, actions, scan, walk


def test_a_shipment_then_lps_each_make_a_load_and_the_shipment_stays() -> None:
    flow = Load()
    answers, data = walk(
        flow,
        scan("shipment", "SH-000001"),
        scan("lp", "PAL-1"),
        scan("lp", "CTN-7"),
        scan("shipment", "SH-000002"),
        scan("lp", "PAL-2"),
    )
    assert actions(answers) == [
        ("ship.load", {"shipment": "SH-000001", "lp": "PAL-1"}),
        ("ship.load", {"shipment": "SH-000001", "lp": "CTN-7"}),
        ("ship.load", {"shipment": "SH-000002", "lp": "PAL-2"}),
    ]
    assert answers[0] == Progress({"shipment": "SH-000001"}, "loading SH-000001")
    assert answers[1].action.message == "load PAL-1 onto SH-000001"  # type: ignore[union-attr]
    assert data == {"shipment": "SH-000002"}
    assert flow.step(data).prompt == (
        "scan an LP or pallet to load onto SH-000002 (CMD:done when the shipment is loaded)"
    )
    [done], data = walk(flow, DONE, data=data)
    assert done == Progress({}, "load finished (shipment SH-000002)") and data == {}


def test_wrong_scans_say_what_the_step_expects() -> None:
    flow = Load()
    [lp_first], _ = walk(flow, scan("lp", "PAL-1"))
    assert lp_first == Refusal(
        "NEED_SHIPMENT", "LP PAL-1 does not fit here: scan the shipment (SH-...)"
    )
    [qty], data = walk(flow, scan("qty", "3"), data={"shipment": "SH-000001"})
    assert qty == Refusal(
        "NEED_LP",
        "quantity 3 does not fit here: scan an LP or pallet to load onto SH-000001 "
        "(CMD:done when the shipment is loaded)",
    )
    assert data == {"shipment": "SH-000001"}
    [task], _ = walk(flow, scan("task", "PT-000001"), data=data)
    assert isinstance(task, Refusal) and task.code == "NEED_LP"
