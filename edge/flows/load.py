"""ship.load: a shipment, then every LP or pallet that goes onto it, one ship.load each.

A pallet loads everything packed on it (central walks the packing), so a load station
scans what it physically puts on the truck: pallets, or loose cartons.
"""

from dataclasses import dataclass

from edge.barcodes.scan import Scan
from edge.flows.base import ActionRequest, Answer, Data, Flow, Progress, Step, prompt

SHIPMENT = Step("shipment", ("shipment",), "scan the shipment (SH-...)")
LOAD_LP = Step(
    "lp",
    ("lp", "shipment"),
    "scan an LP or pallet to load (CMD:done when the shipment is loaded)",
    done=True,
)


@dataclass(frozen=True)
class Load(Flow):
    """A shipment, then LPs and pallets onto it until CMD:done or another shipment."""

    name = "ship.load"
    title = "load"
    steps = (SHIPMENT, LOAD_LP)

    def step(self, data: Data) -> Step:
        """The shipment first, then what goes onto it."""
        if "shipment" not in data:
            return SHIPMENT
        return prompt(
            LOAD_LP,
            f"scan an LP or pallet to load onto {data['shipment']} "
            "(CMD:done when the shipment is loaded)",
        )

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """A shipment (re)starts the loading; each LP is a ship.load onto it."""
        if scan.kind == "shipment":
            return Progress({"shipment": scan.value}, f"loading {scan.value}")
        shipment = data["shipment"]
        body = {"shipment": shipment, "lp": scan.value}
        action = ActionRequest("ship.load", body, f"load {scan.value} onto {shipment}")
        return Progress({"shipment": shipment}, "", action)
