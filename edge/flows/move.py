"""lp.move: an LP then its location, or a location then any number of LPs (put-away)."""

from dataclasses import dataclass

from edge.barcodes.scan import Scan
from edge.flows.base import ActionRequest, Answer, Data, Flow, Progress, Step, prompt

START = Step("lp", ("lp", "location"), "scan an LP to move, or the location to put LPs away to")
TARGET = Step("location", ("location",), "scan the target location")
PUTAWAY = Step(
    "putaway", ("lp", "location"), "scan an LP to put away (CMD:done when finished)", done=True
)


def _move(lp: str, location: str) -> ActionRequest:
    return ActionRequest("lp.move", {"lp": lp, "to_location": location}, f"move {lp} to {location}")


@dataclass(frozen=True)
class Move(Flow):
    """One LP to one location, or many LPs to the location scanned (or configured) first.

    A station with a default ``location`` starts in put-away to it; CMD:done, CMD:cancel and
    the idle timeout go back to that default.
    """

    name = "lp.move"
    title = "move"
    steps = (START, TARGET, PUTAWAY)

    def start(self) -> dict[str, str]:
        """Put-away to the station's location when it has one."""
        return {"location": self.setup.location} if self.setup.location else {}

    def step(self, data: Data) -> Step:
        """LP first waits for its location; a location first takes LPs until done."""
        if "lp" in data:
            return prompt(TARGET, f"scan the location to move {data['lp']} to")
        if "location" in data:
            return prompt(
                PUTAWAY, f"scan an LP to put away to {data['location']} (CMD:done when finished)"
            )
        return START

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """Collect the LP or the location; both known makes an lp.move."""
        if step.name == "location":
            return Progress(self.start(), "", _move(data["lp"], scan.value))
        if scan.kind == "location":
            return Progress({"location": scan.value}, f"putting away to {scan.value}")
        if "location" in data:  # put-away: every LP goes to the location, which stays
            return Progress(dict(data), "", _move(scan.value, data["location"]))
        return Progress({"lp": scan.value}, f"LP {scan.value}")
