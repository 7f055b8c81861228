"""pick.confirm: task, location, LP, quantity; a new label for the picked part; restarts."""

from edge.flows import Progress, Refusal
from edge.flows.pick import Pick
from tests.edge.flows.helpers import DONE, actions, scan, walk

AT_QTY = {"task": "PT-000001", "location": "A-01", "lp": "LP1"}


def test_task_location_lp_quantity_make_one_pick_then_the_next_task() -> None:
    flow = Pick()
    answers, data = walk(
        flow,
        scan("task", "PT-000001"),
        scan("location", "A-01"),
        scan("lp", "LP1"),
        scan("qty", "4"),
    )
    assert [flow.step(a.data).name for a in answers if isinstance(a, Progress)] == [
        "location",
        "lp",
        "qty",
        "task",
    ]
    assert [a.message for a in answers[:3]] == ["pick task PT-000001", "at A-01", "LP LP1"]
    assert actions(answers) == [
        ("pick.confirm", {"task": "PT-000001", "lp": "LP1", "location": "A-01", "qty": "4"})
    ]
    last = answers[-1]
    assert isinstance(last, Progress) and last.action is not None
    assert last.action.message == "pick 4 of LP1 at A-01 for PT-000001"
    assert data == {} and flow.step(data).prompt == "scan the pick task (PT-...)"


def test_prompts_name_what_is_collected() -> None:
    flow = Pick()
    assert flow.step({"task": "PT-1"}).prompt == "scan the location you pick PT-1 from (LOC:)"
    assert flow.step({"task": "PT-1", "location": "A-01"}).prompt == (
        "scan the LP you pick PT-1 from at A-01"
    )
    assert flow.step(AT_QTY).prompt == (
        "scan or type the quantity picked from LP1 (a new LP label first labels the picked part)"
    )


def test_a_new_label_before_the_quantity_names_the_picked_part() -> None:
    answers, data = walk(Pick(), scan("lp", "LP-NEW"), scan("qty", "2.5"), data=AT_QTY)
    assert answers[0] == Progress(
        {**AT_QTY, "new_lp": "LP-NEW"}, "new LP LP-NEW for the picked part"
    )
    assert actions(answers) == [
        (
            "pick.confirm",
            {
                "task": "PT-000001",
                "lp": "LP1",
                "location": "A-01",
                "qty": "2.5",
                "new_lp": "LP-NEW",
            },
        )
    ]
    assert data == {}


def test_the_source_lp_again_or_a_second_new_label_is_refused() -> None:
    flow = Pick()
    [same], data = walk(flow, scan("lp", "LP1"), data=AT_QTY)
    assert isinstance(same, Refusal) and same.code == "SAME_LP"
    assert same.message.startswith("LP1 is the LP you pick from: scan or type the quantity")
    [_, second], data = walk(flow, scan("lp", "N1"), scan("lp", "N2"), data=AT_QTY)
    assert isinstance(second, Refusal) and second.code == "NEED_QTY"
    assert second.message.startswith("N1 already labels the picked part: scan or type")
    assert data == {**AT_QTY, "new_lp": "N1"}


def test_the_lps_label_quantity_is_offered_and_taken_by_done() -> None:
    flow = Pick()
    at_lp = {"task": "PT-000001", "location": "A-01"}
    [lp, done], data = walk(flow, scan("lp", "LP1", qty="24"), DONE, data=at_lp)
    assert isinstance(lp, Progress) and lp.message == "LP LP1 (its label shows 24)"
    assert flow.step(lp.data).prompt.endswith(", or CMD:done for the 24 its label shows")
    assert actions([done]) == [
        ("pick.confirm", {"task": "PT-000001", "lp": "LP1", "location": "A-01", "qty": "24"})
    ]
    # A typed quantity still wins over the label's.
    answers, _ = walk(flow, scan("lp", "LP1", qty="24"), scan("qty", "5"), data=at_lp)
    assert actions(answers)[0][1]["qty"] == "5"


def test_done_without_a_label_quantity_keeps_the_unfinished_pick() -> None:
    flow = Pick()
    [done], data = walk(flow, DONE, data=AT_QTY)
    assert done == Refusal(
        "NEED_QTY",
        "the pick of PT-000001 is not finished: scan or type the quantity picked from LP1 "
        "(a new LP label first labels the picked part), or CMD:cancel to drop it",
    )
    [early], _ = walk(flow, DONE, data={"task": "PT-000001"})
    assert isinstance(early, Refusal) and early.code == "NEED_LOCATION"
    [nothing], _ = walk(flow, DONE)
    assert nothing == Progress({}, "nothing to finish; scan the pick task (PT-...)")


def test_wrong_scans_say_what_the_step_expects() -> None:
    flow = Pick()
    [lp_first], _ = walk(flow, scan("lp", "LP1"))
    assert lp_first == Refusal("NEED_TASK", "LP LP1 does not fit here: scan the pick task (PT-...)")
    [no_location], _ = walk(flow, scan("lp", "LP1"), data={"task": "PT-1"})
    assert no_location == Refusal(
        "NEED_LOCATION", "LP LP1 does not fit here: scan the location you pick PT-1 from (LOC:)"
    )
    [qty_early], _ = walk(flow, scan("qty", "3"), data={"task": "PT-1", "location": "A-01"})
    assert isinstance(qty_early, Refusal) and qty_early.code == "NEED_LP"
    [location_late], _ = walk(flow, scan("location", "B-01"), data=AT_QTY)
    assert isinstance(location_late, Refusal) and location_late.code == "NEED_QTY"
    [zero], data = walk(flow, scan("qty", "0"), data=AT_QTY)
    assert isinstance(zero, Refusal) and zero.code == "QTY_ZERO" and data == AT_QTY


def test_a_task_at_any_step_starts_over_on_it() -> None:
    flow = Pick()
    [again], data = walk(flow, scan("task", "PT-000002"), data={**AT_QTY, "new_lp": "N1"})
    assert again == Progress(
        {"task": "PT-000002"},
        "pick task PT-000002; dropped the unfinished pick "
        "(task PT-000001, location A-01, LP LP1, new LP N1)",
    )
    [bare], _ = walk(flow, scan("task", "PT-000003"), data={"task": "PT-000002"})
    assert bare == Progress({"task": "PT-000003"}, "pick task PT-000003")


def test_a_location_at_the_lp_step_replaces_the_one_scanned() -> None:
    [moved], data = walk(
        Pick(), scan("location", "A-02"), data={"task": "PT-1", "location": "A-01"}
    )
    assert moved == Progress({"task": "PT-1", "location": "A-02"}, "at A-02")
