"""count.record: one action per counted LP, so nothing counted is lost."""

from edge.flows import Refusal
from edge.flows.count import Count
from tests.edge.flows.helpers import DONE, actions, scan, walk


def test_session_location_then_lp_and_quantity_pairs() -> None:
    flow = Count()
    answers, data = walk(
        flow,
        scan("session", "C-7"),
        scan("location", "A-01"),
        scan("lp", "LP1"),
        scan("qty", "12"),
        scan("lp", "LP2"),
        scan("qty", "3.5"),
        scan("location", "A-02"),
        scan("lp", "LP3"),
        scan("qty", "1"),
    )
    assert actions(answers) == [
        (
            "count.record",
            {"session": "C-7", "location": "A-01", "lps": [{"lp": "LP1", "qty": "12"}]},
        ),
        (
            "count.record",
            {"session": "C-7", "location": "A-01", "lps": [{"lp": "LP2", "qty": "3.5"}]},
        ),
        (
            "count.record",
            {"session": "C-7", "location": "A-02", "lps": [{"lp": "LP3", "qty": "1"}]},
        ),
    ]
    assert data == {"session": "C-7", "location": "A-02"}
    [done], data = walk(flow, DONE, data=data)
    assert done.message == "A-02 counted" and data == {"session": "C-7"}


def test_count_refusals_say_what_comes_first() -> None:
    flow = Count()
    [no_session], _ = walk(flow, scan("location", "A-01"))
    assert no_session == Refusal(
        "NEED_SESSION", "location A-01 does not fit here: scan the count session (CNT:)"
    )
    data = {"session": "C-7", "location": "A-01"}
    [qty_first], _ = walk(flow, scan("qty", "4"), data=data)
    assert isinstance(qty_first, Refusal) and qty_first.code == "NEED_LP"
    [_, two_lps], _ = walk(flow, scan("lp", "LP1"), scan("lp", "LP2"), data=data)
    assert two_lps == Refusal(
        "NEED_QTY", "LP LP2 does not fit here: scan or type the quantity found on LP1"
    )


def test_done_does_not_drop_an_lp_waiting_for_its_quantity() -> None:
    [_, done], data = walk(
        Count(), scan("lp", "LP1"), DONE, data={"session": "C-7", "location": "A-01"}
    )
    assert isinstance(done, Refusal) and done.code == "NEED_QTY"
    assert data == {"session": "C-7", "location": "A-01", "lp": "LP1"}


def test_an_empty_lp_counts_as_zero_but_zero_is_refused_where_it_does_nothing() -> None:
    from edge.flows.production import Output

    answers, _ = walk(
        Count(), scan("lp", "LP1"), scan("qty", "0"), data={"session": "C-7", "location": "A-01"}
    )
    assert actions(answers) == [
        ("count.record", {"session": "C-7", "location": "A-01", "lps": [{"lp": "LP1", "qty": "0"}]})
    ]
    [zero], data = walk(Output(), scan("qty", "0"), data={"work_order": "WO-1"})
    assert isinstance(zero, Refusal) and zero.code == "QTY_ZERO"
    assert "zero does nothing here" in zero.message and data == {"work_order": "WO-1"}
