"""pick.confirm: a pick task, the location checked, the LP picked from, the quantity taken.

The edge holds no task list (it works offline), so it checks nothing against the task
itself: the body carries the location the operator scanned, and central compares it with
the task's. Central numbers the part taken off a partly picked LP unless the operator scans
a new label for it before the quantity.
"""

from dataclasses import dataclass

from edge.barcodes.scan import Scan
from edge.flows.base import (
    ActionRequest,
    Answer,
    Data,
    Flow,
    Progress,
    Refusal,
    Step,
    describe,
    prompt,
)

TASK = Step("task", ("task",), "scan the pick task (PT-...)")
LOCATION = Step("location", ("location", "task"), "scan the location you pick from (LOC:)")
LP = Step("lp", ("lp", "location", "task"), "scan the LP you pick from")
QTY = Step(
    "qty",
    ("qty", "lp", "task"),
    "scan or type the quantity picked (a new LP label first labels the picked part; "
    "CMD:done takes the quantity the LP's label shows)",
    done=True,
)
LABEL_QTY = "_label_qty"  # the quantity the source LP's GS1 label carries, offered by CMD:done


@dataclass(frozen=True)
class Pick(Flow):
    """Task, location, LP, quantity -> one pick.confirm; then the next task.

    A task scanned at any step starts over on it; a location at the LP step replaces the
    one scanned. At the quantity step an LP label other than the source names the picked
    part (``new_lp``); CMD:done there takes the quantity the source LP's label showed.
    """

    name = "pick.confirm"
    title = "pick"
    steps = (TASK, LOCATION, LP, QTY)

    def step(self, data: Data) -> Step:
        """Task, location, LP, quantity: the first one missing."""
        if "task" not in data:
            return TASK
        task = data["task"]
        if "location" not in data:
            return prompt(LOCATION, f"scan the location you pick {task} from (LOC:)")
        if "lp" not in data:
            return prompt(LP, f"scan the LP you pick {task} from at {data['location']}")
        return prompt(QTY, _qty_prompt(data))

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """Collect; the quantity completes the pick."""
        if scan.kind == "task":
            message = f"pick task {scan.value}"
            if "location" in data:  # more than a task was under way: say what is dropped
                message += f"; dropped the unfinished pick ({describe(data)})"
            return Progress({"task": scan.value}, message)
        if scan.kind == "location":
            return Progress({"task": data["task"], "location": scan.value}, f"at {scan.value}")
        if scan.kind == "lp" and step.name == "lp":
            new = {**data, "lp": scan.value}
            label = scan.fields.get("qty")
            if label:
                new[LABEL_QTY] = label
            shows = f" (its label shows {label})" if label else ""
            return Progress(new, f"LP {scan.value}{shows}")
        if scan.kind == "lp":
            return self._new_label(data, scan.value, step)
        return self._pick(data, scan.value)

    def done(self, data: Data) -> Answer:
        """At the quantity step: the quantity the LP's label showed; an unfinished pick stays."""
        if not data:
            return super().done(data)
        step = self.step(data)
        if step.name == "qty" and data.get(LABEL_QTY):
            return self._pick(data, data[LABEL_QTY])
        return Refusal(
            f"NEED_{step.name.upper()}",
            f"the pick of {data['task']} is not finished: {step.prompt}, or CMD:cancel to drop it",
        )

    def _new_label(self, data: Data, lp: str, step: Step) -> Answer:
        """An LP label at the quantity step: the label of the part picked off the LP."""
        if lp == data["lp"]:
            return Refusal("SAME_LP", f"{lp} is the LP you pick from: {step.prompt}")
        if data.get("new_lp"):
            return Refusal(
                "NEED_QTY",
                f"{data['new_lp']} already labels the picked part: {step.prompt}, "
                "or CMD:cancel to start the pick again",
            )
        return Progress({**data, "new_lp": lp}, f"new LP {lp} for the picked part")

    def _pick(self, data: Data, qty: str) -> Progress:
        """The pick.confirm; the station goes back to the task step."""
        body = {k: data[k] for k in ("task", "lp", "location")}
        body["qty"] = qty
        into = ""
        if data.get("new_lp"):
            body["new_lp"] = data["new_lp"]
            into = f" into {data['new_lp']}"
        message = f"pick {qty} of {data['lp']}{into} at {data['location']} for {data['task']}"
        return Progress(self.start(), "", ActionRequest("pick.confirm", body, message))


def _qty_prompt(data: Data) -> str:
    """The quantity step's prompt: the LP, a new label if any, the label's quantity if any."""
    text = f"scan or type the quantity picked from {data['lp']}"
    if data.get("new_lp"):
        text += f" into {data['new_lp']}"
    else:
        text += " (a new LP label first labels the picked part)"
    if data.get(LABEL_QTY):
        text += f", or CMD:done for the {data[LABEL_QTY]} its label shows"
    return text
