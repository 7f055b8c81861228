"""qc.hold and qc.release: an LP or lot, then a reason from the station's list."""

import pytest

from edge.flows import DEFAULT_QUALITY_REASONS, Refusal, Setup
from edge.flows.quality import Hold, Release
from tests.edge.flows.helpers import actions, scan, walk

SETUP = Setup(reasons=DEFAULT_QUALITY_REASONS)


def test_hold_an_lp_with_a_reason_label() -> None:
    flow = Hold(SETUP)
    answers, data = walk(flow, scan("lp", "LP1"), scan("reason", "DAMAGED"))
    assert actions(answers) == [("qc.hold", {"lp": "LP1", "reason": "DAMAGED"})]
    assert answers[1].action.message == "hold LP LP1 (DAMAGED)" and data == {}


@pytest.mark.parametrize("kind", ["lp", "lot", "product"])
def test_a_typed_reason_is_matched_whatever_the_decoder_took_it_for(kind: str) -> None:
    answers, _ = walk(Release(SETUP), scan("lot", "L-77"), scan(kind, "released-ok"))
    assert actions(answers) == [("qc.release", {"lot": "L-77", "reason": "RELEASED-OK"})]


def test_a_reason_not_in_the_list_is_refused_with_the_list() -> None:
    flow = Hold(Setup(reasons=("DAMAGED", "WET")))
    [_, refused], data = walk(flow, scan("lp", "LP1"), scan("reason", "BROKEN"))
    assert refused == Refusal(
        "UNKNOWN_REASON", "'BROKEN' is not a reason code of this station; use one of: DAMAGED, WET"
    )
    assert data == {"lp": "LP1"}
    assert flow.step(data).prompt == "scan a reason (RSN:) to hold LP LP1: DAMAGED, WET"


def test_a_reason_before_the_target_is_refused() -> None:
    [refused], _ = walk(Hold(SETUP), scan("reason", "DAMAGED"))
    assert refused == Refusal(
        "NEED_TARGET", "reason DAMAGED does not fit here: scan the LP, or the lot (LOT:), to hold"
    )
