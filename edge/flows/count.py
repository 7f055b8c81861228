"""count.record: a session, a location, then every LP there followed by its quantity.

Central appends each count.record's lines to the open session, so one action per counted
LP is durable the moment it is saved: an interruption or idle timeout loses nothing counted.
"""

from dataclasses import dataclass

from edge.barcodes.scan import Scan
from edge.flows.base import ActionRequest, Answer, Data, Flow, Progress, Refusal, Step, prompt

SESSION = Step("session", ("session",), "scan the count session (CNT:)")
LOCATION = Step("location", ("location", "session"), "scan the location you count")
LP = Step(
    "lp",
    ("lp", "location", "session"),
    "scan an LP at the location (CMD:done when the location is counted)",
    done=True,
)
QTY = Step("qty", ("qty",), "scan or type the quantity found on the LP", zero=True)


@dataclass(frozen=True)
class Count(Flow):
    """Session, location, then LP and quantity pairs: each pair one count.record."""

    name = "count.record"
    title = "count"
    steps = (SESSION, LOCATION, LP, QTY)

    def step(self, data: Data) -> Step:
        """Session, location, LP, quantity; back to LP after each quantity."""
        if "session" not in data:
            return SESSION
        if "location" not in data:
            return prompt(LOCATION, f"scan the location you count for {data['session']}")
        if "lp" in data:
            return prompt(QTY, f"scan or type the quantity found on {data['lp']}")
        return prompt(
            LP,
            f"scan an LP at {data['location']} (CMD:done when the location is counted)",
        )

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """A session or location (re)starts its part; an LP then its quantity is counted."""
        if scan.kind == "session":
            return Progress({"session": scan.value}, f"count session {scan.value}")
        if scan.kind == "location":
            return Progress(
                {"session": data["session"], "location": scan.value}, f"counting {scan.value}"
            )
        if scan.kind == "lp":
            return Progress({**data, "lp": scan.value}, f"LP {scan.value}")
        body = {
            "session": data["session"],
            "location": data["location"],
            "lps": [{"lp": data["lp"], "qty": scan.value}],
        }
        message = f"count {data['lp']}: {scan.value} at {data['location']}"
        kept = {"session": data["session"], "location": data["location"]}
        return Progress(kept, "", ActionRequest("count.record", body, message))

    def done(self, data: Data) -> Answer:
        """An LP still waiting for its quantity is not dropped by CMD:done."""
        if "lp" in data:
            return Refusal(
                "NEED_QTY",
                f"{data['lp']} has no quantity yet: scan or type it, or CMD:cancel to skip it",
            )
        if "location" in data:
            kept = {"session": data["session"]}
            return Progress(kept, f"{data['location']} counted")
        return super().done(data)
