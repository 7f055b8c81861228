"""lp.split, lp.pack and lp.unpack."""

from edge.flows import Refusal
from edge.flows.lps import Pack, Split, Unpack
from tests.edge.flows.helpers import DONE, actions, scan, walk


def test_split_with_a_new_label_or_an_allocated_one() -> None:
    flow = Split()
    answers, data = walk(
        flow,
        scan("lp", "LP1"),
        scan("qty", "4"),
        scan("lp", "LP1-A"),
        scan("lp", "LP2"),
        scan("qty", "1"),
        DONE,
    )
    assert actions(answers) == [
        ("lp.split", {"lp": "LP1", "qty": "4", "new_lp": "LP1-A"}),
        ("lp.split", {"lp": "LP2", "qty": "1"}),
    ]
    assert data == {}


def test_split_refuses_a_skipped_quantity_and_the_same_lp_as_new_label() -> None:
    flow = Split()
    [_, skipped], data = walk(flow, scan("lp", "LP1"), scan("lp", "LP2"))
    assert skipped == Refusal(
        "NEED_QTY", "LP LP2 does not fit here: scan or type the quantity to take off LP1"
    )
    [_, same], _ = walk(flow, scan("qty", "4"), scan("lp", "LP1"), data=data)
    assert isinstance(same, Refusal) and same.code == "SAME_LP"


def test_pack_a_parent_then_children_until_done() -> None:
    flow = Pack()
    answers, data = walk(
        flow, scan("lp", "PAL-1"), scan("lp", "C1"), scan("lp", "C2"), scan("lp", "PAL-1"), DONE
    )
    assert actions(answers) == [
        ("lp.pack", {"lp": "C1", "parent": "PAL-1"}),
        ("lp.pack", {"lp": "C2", "parent": "PAL-1"}),
    ]
    assert isinstance(answers[3], Refusal) and answers[3].code == "SAME_LP"
    assert answers[4].message == "pack finished (parent PAL-1)" and data == {}


def test_unpack_children_from_the_first_lp() -> None:
    flow = Unpack()
    answers, data = walk(flow, scan("lp", "PAL-1"), scan("lp", "C1"), scan("lp", "C2"), DONE)
    assert actions(answers) == [
        ("lp.unpack", {"lp": "C1", "parent": "PAL-1"}),
        ("lp.unpack", {"lp": "C2", "parent": "PAL-1"}),
    ]
    assert data == {}


def test_unpack_one_lp_then_done_takes_it_out_of_its_parent() -> None:
    flow = Unpack()
    [_, done], data = walk(flow, scan("lp", "C1"), DONE)
    assert actions([done]) == [("lp.unpack", {"lp": "C1"})]
    assert done.action.message == "take C1 out of its parent" and data == {}
