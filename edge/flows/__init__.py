"""Station flows: one small state machine per floor action, named by the action it makes."""

from typing import Literal, get_args

from edge.flows.base import ActionRequest, Answer, Flow, Progress, Refusal, Setup, Step
from edge.flows.count import Count
from edge.flows.load import Load
from edge.flows.lps import Pack, Split, Unpack
from edge.flows.move import Move
from edge.flows.pick import Pick
from edge.flows.production import Consume, Output
from edge.flows.quality import DEFAULT_QUALITY_REASONS, Hold, Release
from edge.flows.receive import Receive

# The flows a station can run; printed ACT:<name> labels switch between them.
FlowName = Literal[
    "lp.receive",
    "lp.move",
    "lp.consume",
    "wo.output",
    "lp.split",
    "lp.pack",
    "lp.unpack",
    "count.record",
    "qc.hold",
    "qc.release",
    "pick.confirm",
    "ship.load",
]
FLOW_NAMES: tuple[str, ...] = get_args(FlowName)
FLOWS: dict[str, type[Flow]] = {
    flow.name: flow
    for flow in (
        Receive,
        Move,
        Consume,
        Output,
        Split,
        Pack,
        Unpack,
        Count,
        Hold,
        Release,
        Pick,
        Load,
    )
}
assert tuple(FLOWS) == FLOW_NAMES, "FlowName and FLOWS must list the same flows"


def make_flow(name: str, setup: Setup) -> Flow:
    """The flow called ``name`` for a station with ``setup``."""
    return FLOWS[name](setup)


__all__ = [
    "DEFAULT_QUALITY_REASONS",
    "FLOWS",
    "FLOW_NAMES",
    "ActionRequest",
    "Answer",
    "Flow",
    "FlowName",
    "Progress",
    "Refusal",
    "Setup",
    "Step",
    "make_flow",
]
