"""lp.consume and wo.output: material into a work order, and output out of it."""

from dataclasses import dataclass

from edge.barcodes.scan import Scan
from edge.flows.base import ActionRequest, Answer, Data, Flow, Progress, Step, prompt

WORK_ORDER = Step("work_order", ("work_order",), "scan the work order (WO:)")
CONSUME_LP = Step(
    "lp",
    ("lp", "qty", "work_order"),
    "scan an LP to consume (a QTY: first takes only that much of it); CMD:done when finished",
    done=True,
    typed=("lp",),
)
QTY = Step("qty", ("qty", "location", "work_order"), "scan or type the quantity made")
LOCATION = Step("location", ("location", "work_order"), "scan the location the output goes to")
LABEL = Step(
    "label",
    ("lp", "qty", "location", "work_order"),
    "scan the new LP's label, or CMD:done to have central number it",
    done=True,
    typed=("lp",),
)


@dataclass(frozen=True)
class Consume(Flow):
    """A work order, then LPs: each an lp.consume of the whole LP, or of a QTY scanned first."""

    name = "lp.consume"
    title = "consume"
    steps = (WORK_ORDER, CONSUME_LP)

    def start(self) -> dict[str, str]:
        """The station's work order, when edge.toml gives one."""
        return {"work_order": self.setup.work_order} if self.setup.work_order else {}

    def step(self, data: Data) -> Step:
        """The work order first, then LPs (each optionally after its quantity)."""
        if "work_order" not in data:
            return WORK_ORDER
        wo = data["work_order"]
        if "qty" in data:
            return prompt(CONSUME_LP, f"scan the LP to take {data['qty']} from into {wo}")
        return prompt(
            CONSUME_LP,
            f"scan an LP to consume into {wo} (a QTY: first takes only that much of it); "
            "CMD:done when finished",
        )

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """A work order (re)starts; a quantity waits for its LP; an LP is consumed."""
        if scan.kind == "work_order":
            return Progress({"work_order": scan.value}, f"consuming into {scan.value}")
        if scan.kind == "qty":
            return Progress({**data, "qty": scan.value}, f"quantity {scan.value}")
        body = {"lp": scan.value, "work_order": data["work_order"]}
        what = scan.value
        if "qty" in data:
            body["qty"] = data["qty"]
            what = f"{data['qty']} of {scan.value}"
        action = ActionRequest("lp.consume", body, f"consume {what} into {data['work_order']}")
        return Progress({"work_order": data["work_order"]}, "", action)


@dataclass(frozen=True)
class Output(Flow):
    """Work order, quantity, location (kept for the next output), then the new LP's label.

    A location or work order scanned at any later step replaces it, so an operator can
    correct one without starting over; a quantity at the label step replaces the quantity.
    """

    name = "wo.output"
    title = "output"
    steps = (WORK_ORDER, QTY, LOCATION, LABEL)

    def start(self) -> dict[str, str]:
        """The station's work order and location, when edge.toml gives them."""
        setup = {"work_order": self.setup.work_order, "location": self.setup.location}
        return {key: value for key, value in setup.items() if value}

    def step(self, data: Data) -> Step:
        """The first of work order, quantity, location that is missing; then the label."""
        if "work_order" not in data:
            return WORK_ORDER
        wo = data["work_order"]
        if "qty" not in data:
            return prompt(QTY, f"scan or type the quantity made on {wo}")
        if "location" not in data:
            return prompt(LOCATION, f"scan the location {data['qty']} of {wo} goes to")
        return prompt(
            LABEL,
            f"scan the new LP's label for {data['qty']} of {wo} at {data['location']}, "
            "or CMD:done to have central number it",
        )

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """Collect; the label completes the wo.output."""
        if scan.kind == "work_order":
            kept = {k: v for k, v in data.items() if k == "location"}
            return Progress({**kept, "work_order": scan.value}, f"output on {scan.value}")
        if scan.kind in ("qty", "location"):
            return Progress({**data, scan.kind: scan.value}, f"{_LABEL[scan.kind]} {scan.value}")
        return self._output(data, scan.value)

    def done(self, data: Data) -> Answer:
        """At the label step: output without a label (central allocates the LP number)."""
        if self.step(data).name == "label":
            return self._output(data, None)
        return super().done(data)

    def _output(self, data: Data, lp: str | None) -> Progress:
        body = {k: data[k] for k in ("work_order", "qty", "location")}
        if lp is not None:
            body["lp"] = lp
        as_lp = f" as {lp}" if lp else " (LP numbered by central)"
        message = f"output {data['qty']} on {data['work_order']} to {data['location']}{as_lp}"
        kept = {k: data[k] for k in ("work_order", "location")}
        return Progress(kept, "", ActionRequest("wo.output", body, message))


_LABEL = {"qty": "quantity", "location": "location"}
