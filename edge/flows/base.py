"""What a station flow is: ordered steps, what it expects next, how a scan advances it.

A flow is pure code. It holds no state of its own: what the operator has scanned so far is a
small mapping of named values (``data``) that the station keeps, and every method takes it
and answers a new one. That keeps flows trivially testable and lets a station drop, show or
restore a half-done sequence without asking the flow.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, ClassVar

from edge.barcodes.scan import Scan, ScanKind

Data = Mapping[str, str]

# How collected values are named to an operator (everything else by its own key).
LABELS = {
    "lp": "LP",
    "work_order": "work order",
    "qty": "quantity",
    "new_lp": "new LP",
    "gtin": "GTIN",
    "uom": "unit",
    "production_date": "production date",
    "best_before": "best before",
}
SHORT_NAMES = {
    "lp": "LP",
    "receipt": "receipt label",
    "work_order": "work order",
    "qty": "quantity",
    "session": "count session",
    "task": "pick task",
}


@dataclass(frozen=True)
class Step:
    """One step of a flow: its name, the kinds of scan it takes, and the operator's prompt.

    ``done`` says CMD:done means something here (skip, finish, let central allocate).
    ``typed`` narrows the kinds handed to the decoder as ``expected``: those are the kinds
    bare text (no LOC:, QTY:... prefix) may be read as. Where an LP is taken along with a
    quantity or a lot label, a bare "4711" or "L-9" must stay an LP.
    """

    name: str
    kinds: tuple[ScanKind, ...]
    prompt: str
    done: bool = False
    typed: tuple[ScanKind, ...] | None = None
    zero: bool = False  # a quantity of zero is an answer here (a count found the LP empty)

    @property
    def expected(self) -> tuple[ScanKind, ...]:
        """The kinds the decoder is told this step expects."""
        return self.kinds if self.typed is None else self.typed


@dataclass(frozen=True)
class Setup:
    """What a flow knows of its station from edge.toml: defaults and the reason codes."""

    location: str | None = None
    work_order: str | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionRequest:
    """An action the scan completed, to enqueue for the station's operator."""

    type: str
    body: dict[str, Any]
    message: str


@dataclass(frozen=True)
class Progress:
    """The scan was taken: the values now collected, what to tell the operator, any action."""

    data: Data
    message: str
    action: ActionRequest | None = None


@dataclass(frozen=True)
class Refusal:
    """The scan was read but does not fit here; ``message`` says what the station expects."""

    code: str
    message: str


Answer = Progress | Refusal


def describe(data: Data, start: Data | None = None) -> str:
    """The values in ``data`` (those not in ``start``) as operator text: "LP LP1, location A".

    Keys starting with "_" are a flow's own markers, not something the operator scanned.
    """
    start = start or {}
    parts = [
        f"{LABELS.get(key, key.replace('_', ' '))} {value}"
        for key, value in data.items()
        if value and not key.startswith("_") and start.get(key) != value
    ]
    return ", ".join(parts)


def scanned(scan: Scan) -> str:
    """A scan as operator text: "location A-02", "LP 00614141...", "quantity 12"."""
    return f"{SHORT_NAMES.get(scan.kind, scan.kind)} {scan.value}"


@dataclass(frozen=True)
class Flow:
    """Base of every flow: its name (the action type it makes), title and steps.

    Subclasses write ``step`` (which step ``data`` is at) and ``take`` (what a scan of one of
    that step's kinds does). ``done`` handles CMD:done; by default it finishes a multi-LP
    sequence by going back to the start.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    steps: ClassVar[tuple[Step, ...]]
    setup: Setup = field(default_factory=Setup)

    def start(self) -> dict[str, str]:
        """What a fresh sequence holds: the station's defaults this flow uses."""
        return {}

    def step(self, data: Data) -> Step:
        """The step ``data`` is at: what the flow expects next."""
        raise NotImplementedError

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """What a scan of one of ``step``'s kinds does."""
        raise NotImplementedError

    def scan(self, data: Data, scan: Scan) -> Answer:
        """Advance on one scan, or refuse it saying what is expected instead."""
        step = self.step(data)
        if scan.kind not in step.kinds:
            return self.unexpected(step, scan)
        if scan.kind == "qty" and not step.zero and Decimal(scan.value) == 0:
            return Refusal("QTY_ZERO", f"a quantity of zero does nothing here: {step.prompt}")
        return self.take(data, scan, step)

    def done(self, data: Data) -> Answer:
        """CMD:done: finish the sequence and go back to the start."""
        start = self.start()
        if dict(data) == start:
            return Progress(start, f"nothing to finish; {self.step(start).prompt}")
        return Progress(start, f"{self.title} finished ({describe(data, start)})")

    def unexpected(self, step: Step, scan: Scan) -> Refusal:
        """The refusal for a scan of the wrong kind: what was read, and what is expected."""
        return Refusal(
            f"NEED_{step.name.upper()}", f"{scanned(scan)} does not fit here: {step.prompt}"
        )

    def step_by_name(self, name: str) -> Step:
        """One of this flow's steps, by name (for the prompts subclasses personalise)."""
        return next(s for s in self.steps if s.name == name)


def prompt(step: Step, text: str) -> Step:
    """``step`` with a prompt that names what is collected already."""
    return replace(step, prompt=text)
