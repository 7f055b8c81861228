"""lp.consume and wo.output: into a work order, and out of it."""

from edge.flows import Refusal, Setup
from edge.flows.production import Consume, Output
from tests.edge.flows.helpers import DONE, actions, scan, walk


def test_consume_a_work_order_then_lps_whole_or_in_part() -> None:
    flow = Consume()
    answers, data = walk(
        flow,
        scan("work_order", "WO-1"),
        scan("lp", "LP1"),
        scan("qty", "2.5"),
        scan("lp", "LP2"),
        scan("lp", "LP3"),
    )
    assert actions(answers) == [
        ("lp.consume", {"lp": "LP1", "work_order": "WO-1"}),
        ("lp.consume", {"lp": "LP2", "work_order": "WO-1", "qty": "2.5"}),
        ("lp.consume", {"lp": "LP3", "work_order": "WO-1"}),  # the quantity was for LP2 only
    ]
    assert answers[3].action.message == "consume 2.5 of LP2 into WO-1"
    assert data == {"work_order": "WO-1"}


def test_consume_needs_the_work_order_first() -> None:
    [refused], _ = walk(Consume(), scan("lp", "LP1"))
    assert refused == Refusal(
        "NEED_WORK_ORDER", "LP LP1 does not fit here: scan the work order (WO:)"
    )


def test_consume_switches_work_order_and_done_goes_back_to_the_station_one() -> None:
    flow = Consume(Setup(work_order="WO-9"))
    answers, data = walk(flow, scan("work_order", "WO-2"), scan("lp", "LP1"), DONE)
    assert actions(answers) == [("lp.consume", {"lp": "LP1", "work_order": "WO-2"})]
    assert data == {"work_order": "WO-9"}


def test_output_work_order_quantity_location_then_label_or_done() -> None:
    flow = Output()
    answers, data = walk(
        flow,
        scan("work_order", "WO-1"),
        scan("qty", "24"),
        scan("location", "FG-1"),
        scan("lp", "LP-OUT-1"),
        scan("qty", "12"),  # the location is kept: straight to the label
        DONE,
    )
    assert actions(answers) == [
        ("wo.output", {"work_order": "WO-1", "qty": "24", "location": "FG-1", "lp": "LP-OUT-1"}),
        ("wo.output", {"work_order": "WO-1", "qty": "12", "location": "FG-1"}),
    ]
    assert answers[-1].action.message == "output 12 on WO-1 to FG-1 (LP numbered by central)"
    assert flow.step(data).name == "qty" and data == {"work_order": "WO-1", "location": "FG-1"}


def test_output_refuses_a_label_before_the_quantity() -> None:
    flow = Output(Setup(work_order="WO-1", location="FG-1"))
    [refused], _ = walk(flow, scan("lp", "LP9"))
    assert isinstance(refused, Refusal) and refused.code == "NEED_QTY"
    assert refused.message == "LP LP9 does not fit here: scan or type the quantity made on WO-1"


def test_output_takes_a_new_location_at_any_step() -> None:
    flow = Output(Setup(work_order="WO-1"))
    answers, _ = walk(flow, scan("location", "FG-2"), scan("qty", "5"), scan("lp", "LP5"))
    assert actions(answers)[0][1]["location"] == "FG-2"


def test_done_before_the_label_step_finishes_nothing_new() -> None:
    flow = Output()
    [answer], data = walk(flow, DONE)
    assert answer.message == "nothing to finish; scan the work order (WO:)" and data == {}
