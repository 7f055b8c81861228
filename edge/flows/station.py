"""One station's machine around its flows: sign-in, flow switches, cancel, done, idle timeout.

Pure code like the flows: ``react`` takes the station's state and one decoded scan and
answers the next state, what to tell the operator, and the action to queue, if any. The
runner (edge/stations.py) does the I/O around it.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from edge.barcodes.scan import Scan
from edge.flows import FLOWS, ActionRequest, Answer, Flow, Refusal, Setup, Step, make_flow
from edge.flows.base import describe

SIGN_IN = Step("sign_in", ("badge",), "sign in: scan your operator badge (OP:<id>)")


@dataclass(frozen=True)
class StationSetup:
    """A station as edge.toml sets it up: who, which flows, defaults, idle timeout, locale."""

    name: str
    flow: str
    flows: tuple[str, ...] = tuple(FLOWS)
    operator: str | None = None  # the standing operator; None: someone must sign in
    require_sign_in: bool = False
    setup: Setup = field(default_factory=Setup)
    idle_timeout: float = 120.0  # seconds; 0 never drops a sequence
    locale: str | None = None


@dataclass(frozen=True)
class StationState:
    """Where a station is: its flow, what that flow collected, who is signed in.

    ``badge`` is True when the operator signed in by badge (a standing operator did not);
    ``touched`` is the clock reading of the last scan, for the idle timeout.
    """

    flow: str
    data: Mapping[str, str]
    operator: str | None
    badge: bool = False
    touched: float | None = None


@dataclass(frozen=True)
class Reaction:
    """What one scan did: the next state, a message, a refusal code, the action to queue."""

    result: Literal["context", "action", "refused"]
    state: StationState
    message: str
    code: str | None = None
    action: ActionRequest | None = None


class Station:
    """The rules of one station; holds no state (the runner keeps ``StationState``)."""

    def __init__(self, setup: StationSetup) -> None:
        self.setup = setup
        self.flows = {name: make_flow(name, setup.setup) for name in FLOWS}

    def initial(self) -> StationState:
        """The state the station starts in (and comes back to on a restart)."""
        return StationState(
            flow=self.setup.flow,
            data=self.flows[self.setup.flow].start(),
            operator=self.setup.operator,
        )

    def flow(self, state: StationState) -> Flow:
        """The flow the station is in."""
        return self.flows[state.flow]

    def step(self, state: StationState) -> Step:
        """What the station expects next: a badge while nobody is signed in, else its flow's."""
        if state.operator is None:
            return SIGN_IN
        return self.flow(state).step(state.data)

    def reset(self, state: StationState) -> tuple[StationState, str]:
        """Drop the half-done sequence; the text says what was dropped ("" when nothing)."""
        flow = self.flow(state)
        start = flow.start()
        dropped = describe(state.data, start)
        what = f"dropped the unfinished {flow.title} ({dropped})" if dropped else ""
        return replace(state, data=start), what

    def expire(self, state: StationState, now: float) -> tuple[StationState, str] | None:
        """The state with its sequence dropped when it sat idle too long, else None."""
        timeout = self.setup.idle_timeout
        if not timeout or state.touched is None or now - state.touched < timeout:
            return None
        if dict(state.data) == self.flow(state).start():
            return None
        reset, dropped = self.reset(state)
        return reset, f"{dropped}: no scan for {timeout:g} s"

    def react(self, state: StationState, scan: Scan, now: float) -> Reaction:
        """What ``scan`` does at a station in ``state`` (already past any idle expiry)."""
        state = replace(state, touched=now)
        if scan.kind == "badge":
            return self._badge(state, scan.value)
        if scan.kind == "command" and scan.value == "sign-out":
            if not state.badge:
                return Reaction("refused", state, "nobody is signed in by badge", "NOT_SIGNED_IN")
            return self._sign_out(state)
        if state.operator is None:
            return Reaction("refused", state, SIGN_IN.prompt, "NEED_SIGN_IN")
        if scan.kind == "flow":
            return self._switch(state, scan.value)
        if scan.kind == "command" and scan.value == "cancel":
            reset, dropped = self.reset(state)
            return Reaction("context", reset, dropped or "nothing to cancel")
        flow = self.flow(state)
        if scan.kind == "command":  # done
            answer: Answer = flow.done(state.data)
        else:
            answer = flow.scan(state.data, scan)
        if isinstance(answer, Refusal):
            return Reaction("refused", state, answer.message, answer.code)
        next_state = replace(state, data=answer.data)
        if answer.action is not None:
            return Reaction("action", next_state, answer.message, action=answer.action)
        return Reaction("context", next_state, answer.message)

    def _badge(self, state: StationState, operator: str) -> Reaction:
        """Sign in; the same badge again signs out; another badge takes over."""
        if state.badge and operator == state.operator:
            return self._sign_out(state)
        if operator == state.operator:  # the standing operator badging in: nothing to drop
            return Reaction("context", replace(state, badge=True), f"signed in: {operator}")
        reset, dropped = self.reset(state)
        message = f"signed in: {operator}"
        if state.operator is not None:
            message = f"{operator} takes over from {state.operator}"
        message += f"; {dropped}" if dropped else ""
        return Reaction("context", replace(reset, operator=operator, badge=True), message)

    def _sign_out(self, state: StationState) -> Reaction:
        """Back to the standing operator, or to nobody at a sign-in station."""
        reset, dropped = self.reset(state)
        standing = self.setup.operator
        message = f"signed out: {state.operator}"
        if standing is not None:
            message += f"; {standing} again"
        message += f"; {dropped}" if dropped else ""
        return Reaction("context", replace(reset, operator=standing, badge=False), message)

    def _switch(self, state: StationState, name: str) -> Reaction:
        """ACT:<flow>: another flow (one this station allows), starting afresh."""
        name = name.lower()
        if name not in FLOWS:
            return Reaction(
                "refused", state, f"no flow {name!r}; flows: {', '.join(FLOWS)}", "UNKNOWN_FLOW"
            )
        if name not in self.setup.flows:
            return Reaction(
                "refused",
                state,
                f"this station does not do {name}; it does: {', '.join(self.setup.flows)}",
                "FLOW_NOT_ALLOWED",
            )
        _, dropped = self.reset(state)
        flow = self.flows[name]
        message = f"{flow.title} ({name})" + (f"; {dropped}" if dropped else "")
        return Reaction("context", replace(state, flow=name, data=flow.start()), message)
