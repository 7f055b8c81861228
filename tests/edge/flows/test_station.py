"""The station around its flows: badge sign-in, flow switches, cancel, done, idle timeout."""

from dataclasses import replace

from edge.flows import Setup
from edge.flows.station import Station, StationSetup, StationState
from tests.edge.flows.helpers import DONE, scan

CANCEL = scan("command", "cancel")
SIGN_OUT = scan("command", "sign-out")


def station(**changes: object) -> Station:
    setup = StationSetup(name="dock-1", flow="lp.move", operator="op-1")
    return Station(replace(setup, **changes))  # type: ignore[arg-type]


def react(machine: Station, state: StationState, *scans: object, now: float = 0.0):
    """Every reaction, and the state after the last (as the runner keeps it)."""
    reactions = []
    for item in scans:
        reaction = machine.react(state, item, now)  # type: ignore[arg-type]
        reactions.append(reaction)
        state = reaction.state
    return reactions, state


def test_a_sign_in_station_refuses_everything_but_a_badge() -> None:
    machine = station(operator=None, require_sign_in=True)
    state = machine.initial()
    assert machine.step(state).name == "sign_in"
    [refused, flow_switch], state = react(
        machine, state, scan("lp", "LP1"), scan("flow", "lp.consume")
    )
    assert (refused.result, refused.code) == ("refused", "NEED_SIGN_IN")
    assert refused.message == "sign in: scan your operator badge (OP:<id>)"
    assert flow_switch.code == "NEED_SIGN_IN"
    [signed_in, lp], state = react(machine, state, scan("badge", "op-7"), scan("lp", "LP1"))
    assert signed_in.message == "signed in: op-7" and state.operator == "op-7"
    assert lp.result == "context" and state.data == {"lp": "LP1"}


def test_the_same_badge_signs_out_and_drops_the_half_done_sequence() -> None:
    machine = station(operator=None, require_sign_in=True)
    reactions, state = react(
        machine, machine.initial(), scan("badge", "op-7"), scan("lp", "LP1"), scan("badge", "op-7")
    )
    assert reactions[-1].message == "signed out: op-7; dropped the unfinished move (LP LP1)"
    assert (state.operator, state.data) == (None, {})


def test_another_badge_takes_over() -> None:
    machine = station(operator=None, require_sign_in=True)
    reactions, state = react(
        machine, machine.initial(), scan("badge", "op-7"), scan("badge", "op-8")
    )
    assert reactions[-1].message == "op-8 takes over from op-7" and state.operator == "op-8"


def test_a_standing_operator_comes_back_on_sign_out() -> None:
    machine = station()
    reactions, state = react(machine, machine.initial(), scan("badge", "op-9"), SIGN_OUT, SIGN_OUT)
    assert reactions[0].message == "op-9 takes over from op-1"
    assert reactions[1].message == "signed out: op-9; op-1 again"
    assert (reactions[2].result, reactions[2].code) == ("refused", "NOT_SIGNED_IN")
    assert (state.operator, state.badge) == ("op-1", False)


def test_switch_flows_only_to_allowed_ones_dropping_the_sequence() -> None:
    machine = station(flows=("lp.move", "lp.consume"))
    reactions, state = react(
        machine,
        machine.initial(),
        scan("lp", "LP1"),
        scan("flow", "lp.consume"),
        scan("flow", "qc.hold"),
        scan("flow", "lp.teleport"),
    )
    assert reactions[1].message == "consume (lp.consume); dropped the unfinished move (LP LP1)"
    assert (reactions[2].code, reactions[2].message) == (
        "FLOW_NOT_ALLOWED",
        "this station does not do qc.hold; it does: lp.move, lp.consume",
    )
    assert reactions[3].code == "UNKNOWN_FLOW"
    assert (state.flow, state.data) == ("lp.consume", {})


def test_cancel_says_what_it_dropped_and_keeps_station_defaults() -> None:
    machine = station(flow="wo.output", setup=Setup(work_order="WO-1"))
    reactions, state = react(
        machine, machine.initial(), scan("qty", "5"), scan("location", "FG-1"), CANCEL, CANCEL
    )
    assert reactions[2].message == "dropped the unfinished output (quantity 5, location FG-1)"
    assert reactions[3].message == "nothing to cancel"
    assert state.data == {"work_order": "WO-1"}


def test_done_finishes_a_multi_lp_sequence() -> None:
    machine = station()
    reactions, state = react(
        machine, machine.initial(), scan("location", "A-01"), scan("lp", "LP1"), DONE
    )
    assert [r.result for r in reactions] == ["context", "action", "context"]
    assert reactions[2].message == "move finished (location A-01)" and state.data == {}


def test_an_idle_half_done_sequence_expires_after_the_timeout() -> None:
    machine = station(idle_timeout=120.0)
    [_], state = react(machine, machine.initial(), scan("lp", "LP1"), now=1000.0)
    assert machine.expire(state, 1119.9) is None
    expired = machine.expire(state, 1120.0)
    assert expired is not None
    reset, message = expired
    assert message == "dropped the unfinished move (LP LP1): no scan for 120 s"
    assert reset.data == {} and machine.expire(reset, 5000.0) is None  # nothing left to drop


def test_a_zero_timeout_never_expires() -> None:
    machine = station(idle_timeout=0.0)
    [_], state = react(machine, machine.initial(), scan("lp", "LP1"))
    assert machine.expire(state, 1e9) is None
