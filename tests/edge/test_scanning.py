"""Barcode normalisation and interpretation, driven by recorded scanner output."""

import json
from pathlib import Path

import pytest

from edge.errors import ScanError
from edge.scanning import (
    ActionRequest,
    ContextChange,
    Refusal,
    Scan,
    StationState,
    check_sscc,
    interpret,
    normalize,
)

RECORDED = json.loads((Path(__file__).parent / "fixtures" / "scans.json").read_text())


@pytest.mark.parametrize("case", RECORDED["valid"], ids=lambda c: repr(c["raw"]))
def test_recorded_scans_decode(case: dict) -> None:
    scan = normalize(case["raw"])
    assert (scan.kind, scan.value, scan.symbology) == (
        case["kind"],
        case["value"],
        case["symbology"],
    )


@pytest.mark.parametrize("case", RECORDED["invalid"], ids=lambda c: repr(c["raw"]))
def test_recorded_bad_scans_are_refused_clearly(case: dict) -> None:
    with pytest.raises(ScanError) as caught:
        normalize(case["raw"])
    assert case["error"] in str(caught.value)


def test_check_sscc() -> None:
    assert check_sscc("106141411234567897") == "106141411234567897"
    with pytest.raises(ScanError, match="expected 7"):
        check_sscc("106141411234567891")


MOVE = StationState(name="pack-2", operator="op-1", action="lp.move")


def test_context_commands_change_the_state() -> None:
    state = MOVE
    for raw, field, value in (
        ("LOC:A-02", "location", "A-02"),
        ("WO:WO-1", "work_order", "WO-1"),
        ("OP:op-9", "operator", "op-9"),
        ("ACT:wo.output", "action", "wo.output"),
        ("QTY:12", "qty", "12"),
    ):
        meaning = interpret(state, normalize(raw))
        assert isinstance(meaning, ContextChange)
        assert getattr(meaning.state, field) == value and value in meaning.message
        state = meaning.state
    assert (state.location, state.work_order, state.operator) == ("A-02", "WO-1", "op-9")


def test_move_needs_a_location_first() -> None:
    refusal = interpret(MOVE, normalize("LP1\r\n"))
    assert refusal == Refusal("NEED_LOCATION", "scan a location first (LOC:<code>)")
    located = interpret(MOVE, normalize("LOC:A-02")).state
    action = interpret(located, normalize("]C100106141411234567897\r\n"))
    assert action == ActionRequest(
        "lp.move",
        {"lp": "106141411234567897", "to_location": "A-02"},
        "op-1",
        "move 106141411234567897 to A-02",
    )


def test_consume_needs_a_work_order() -> None:
    state = StationState(name="line-1", operator="op-2", action="lp.consume")
    assert interpret(state, Scan("lp", "LP1", "LP1")).code == "NEED_WORK_ORDER"
    state = interpret(state, normalize("WO:WO-1001")).state
    action = interpret(state, normalize("LP1"))
    assert isinstance(action, ActionRequest)
    assert (action.type, action.body) == ("lp.consume", {"lp": "LP1", "work_order": "WO-1001"})


def test_output_needs_work_order_location_and_qty() -> None:
    state = StationState(name="line-1", operator="op-2", action="wo.output")
    codes = []
    for raw in ("WO:WO-1", "LOC:FG-1", "QTY:24"):
        codes.append(interpret(state, normalize("LP9")).code)
        state = interpret(state, normalize(raw)).state
    assert codes == ["NEED_WORK_ORDER", "NEED_LOCATION", "NEED_QTY"]
    action = interpret(state, normalize("LP9"))
    assert isinstance(action, ActionRequest)
    assert action.body == {"work_order": "WO-1", "qty": "24", "location": "FG-1", "lp": "LP9"}


def test_receive_by_scan_waits_for_gs1_labels() -> None:
    state = StationState(name="dock", operator="op-1", action="lp.receive", location="RECV")
    refusal = interpret(state, normalize("LP1"))
    assert isinstance(refusal, Refusal) and refusal.code == "NEED_LABEL_DATA"
