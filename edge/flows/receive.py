"""lp.receive: a supplier's GS1 label (or product, quantity, lot by hand), then the location.

Two ways in, one action out:

* the GS1 label: its GTIN, quantity, unit, lot and dates come from ``Scan.fields``; an SSCC
  on the same label, or an LP label scanned just before it, becomes the new LP's number;
* step by step: the product (ITEM:code, or a bare GTIN), the quantity, the lot (CMD:done
  when it has none).

Then the location, unless the station has a default one. A location may also be scanned
at any earlier step; the receipt is saved the moment everything it needs is there.
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
from protocol.gs1 import gtin_14

PRODUCT = Step(
    "product",
    ("receipt", "product", "lp", "location"),
    "scan the supplier's GS1 label, or the product (ITEM:)",
)
QTY = Step("qty", ("qty", "location"), "scan or type the quantity received")
LOT = Step("lot", ("lot", "location"), "scan or type the lot, or CMD:done if it has none", True)
LOCATION = Step("location", ("location",), "scan the location the goods go to")

# What a GS1 receipt label may carry, as LpReceive names it.
LABEL_FIELDS = ("qty", "uom", "lot", "expiry", "production_date", "best_before")
BODY_FIELDS = ("item", "gtin", "qty", "uom", "lot", "expiry", "production_date", "best_before")
FROM_LABEL = "_label"  # marks data filled from a GS1 label: its lot (or none) is final


def as_gtin(value: str) -> str | None:
    """``value`` as a GTIN-14 when it is a GTIN-8/12/13/14 with a right check digit."""
    try:
        return gtin_14(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Receive(Flow):
    """Goods in as a new LP: label or step-by-step data, then the location."""

    name = "lp.receive"
    title = "receive"
    steps = (PRODUCT, QTY, LOT, LOCATION)

    def start(self) -> dict[str, str]:
        """The station's receiving location, when edge.toml gives one."""
        return {"location": self.setup.location} if self.setup.location else {}

    def step(self, data: Data) -> Step:
        """The first of product, quantity, lot, location still missing."""
        if "item" not in data and "gtin" not in data:
            if "lp" in data:
                return prompt(PRODUCT, f"scan the supplier's label or the product for {data['lp']}")
            return PRODUCT
        product = data.get("item") or data["gtin"]
        if "qty" not in data:
            return prompt(QTY, f"scan or type the quantity of {product} received")
        if "lot" not in data and FROM_LABEL not in data:
            return prompt(LOT, f"scan or type the lot of {product}, or CMD:done if it has none")
        return prompt(LOCATION, f"scan the location {data['qty']} of {product} goes to")

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """Collect what the scan carries; save the receipt once it is complete."""
        new = dict(data)
        if scan.kind == "location":
            new["location"] = scan.value
        elif scan.kind == "receipt" or (scan.kind == "lp" and scan.fields.get("gtin")):
            # A label with an SSCC reads as an LP (the gs1-sscc rule comes first); when it
            # names its contents' GTIN too, it is the supplier's label all the same.
            new.update(self._label(scan))
        elif scan.kind in ("product", "lp"):
            gtin = scan.fields.get("gtin") or as_gtin(scan.value)
            if scan.kind == "lp" and gtin is None:  # an LP label before the supplier's
                if "lp" in data:
                    return Refusal(
                        "NEED_PRODUCT",
                        f"LP {data['lp']} is waiting for its product: {PRODUCT.prompt}, "
                        "or CMD:cancel",
                    )
                new["lp"] = scan.value
            elif gtin is not None:
                new["gtin"] = gtin
            else:
                new["item"] = scan.value
        else:  # qty or lot
            new[scan.kind] = scan.value
        return self._complete(new) or Progress(new, describe(new, data))

    def done(self, data: Data) -> Answer:
        """At the lot step: the goods have no lot."""
        if self.step(data).name == "lot":
            new = {**data, "lot": ""}
            return self._complete(new) or Progress(new, "no lot")
        return super().done(data)

    def _label(self, scan: Scan) -> dict[str, str]:
        """The values a GS1 receipt label carries; its SSCC is the new LP's number."""
        values = {FROM_LABEL: "yes", "gtin": scan.fields.get("gtin") or scan.value}
        values.update({key: scan.fields[key] for key in LABEL_FIELDS if scan.fields.get(key)})
        if scan.fields.get("sscc"):
            values["lp"] = scan.fields["sscc"]
        return values

    def _complete(self, data: Data) -> Progress | None:
        """The lp.receive, once product, quantity, lot (or none) and location are there."""
        if self.step(data).name != "location" or "location" not in data:
            return None
        body = {key: data[key] for key in BODY_FIELDS if data.get(key)}
        body["location"] = data["location"]
        if data.get("lp"):
            body["lp"] = data["lp"]
        product = data.get("item") or data["gtin"]
        into = f" as {data['lp']}" if data.get("lp") else ""
        message = f"receive {data['qty']} of {product}{into} into {data['location']}"
        return Progress(self.start(), "", ActionRequest("lp.receive", body, message))
