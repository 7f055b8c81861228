"""lp.split, lp.pack and lp.unpack: LPs divided, and put into or taken out of a parent."""

from dataclasses import dataclass

from edge.barcodes.scan import Scan
from edge.flows.base import ActionRequest, Answer, Data, Flow, Progress, Refusal, Step, prompt

SPLIT_LP = Step("lp", ("lp",), "scan the LP to split")
SPLIT_QTY = Step("qty", ("qty",), "scan or type the quantity to take off")
NEW_LABEL = Step(
    "new_lp", ("lp",), "scan the new LP's label, or CMD:done to have central number it", done=True
)
PARENT = Step("parent", ("lp",), "scan the parent LP (the pallet)")
CHILD = Step("child", ("lp",), "scan an LP to pack onto the parent (CMD:done when finished)", True)
UNPACK_FIRST = Step(
    "lp", ("lp",), "scan the parent LP, or the LP to take out then CMD:done", done=False
)
UNPACK_NEXT = Step(
    "child",
    ("lp",),
    "scan an LP to take out of the first, or CMD:done to take the first out of its parent",
    done=True,
)
UNPACK_CHILD = Step(
    "child", ("lp",), "scan an LP to take out of the parent (CMD:done when finished)", True
)


@dataclass(frozen=True)
class Split(Flow):
    """LP, quantity, then the new LP's label (or CMD:done) -> one lp.split."""

    name = "lp.split"
    title = "split"
    steps = (SPLIT_LP, SPLIT_QTY, NEW_LABEL)

    def step(self, data: Data) -> Step:
        """LP, then quantity, then the new label."""
        if "lp" not in data:
            return SPLIT_LP
        if "qty" not in data:
            return prompt(SPLIT_QTY, f"scan or type the quantity to take off {data['lp']}")
        return prompt(
            NEW_LABEL,
            f"scan the new LP's label for {data['qty']} of {data['lp']}, "
            "or CMD:done to have central number it",
        )

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """Collect the LP and quantity; the new label completes the split."""
        if step.name == "new_lp":
            if scan.value == data["lp"]:
                return Refusal("SAME_LP", f"{scan.value} is the LP being split: {step.prompt}")
            return self._split(data, scan.value)
        label = "LP" if step.name == "lp" else "quantity"
        return Progress({**data, step.name: scan.value}, f"{label} {scan.value}")

    def done(self, data: Data) -> Answer:
        """At the label step: split without a label (central allocates the new LP)."""
        if "qty" in data:
            return self._split(data, None)
        return super().done(data)

    def _split(self, data: Data, new_lp: str | None) -> Progress:
        body = {"lp": data["lp"], "qty": data["qty"]}
        if new_lp:
            body["new_lp"] = new_lp
        into = f" as {new_lp}" if new_lp else " (new LP numbered by central)"
        message = f"split {data['qty']} off {data['lp']}{into}"
        return Progress(self.start(), "", ActionRequest("lp.split", body, message))


@dataclass(frozen=True)
class Pack(Flow):
    """A parent LP, then children: each child an lp.pack onto it, until CMD:done."""

    name = "lp.pack"
    title = "pack"
    steps = (PARENT, CHILD)

    def step(self, data: Data) -> Step:
        """The parent, then its children."""
        if "parent" not in data:
            return PARENT
        return prompt(CHILD, f"scan an LP to pack onto {data['parent']} (CMD:done when finished)")

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """The first LP is the parent; every later one is packed onto it."""
        if step.name == "parent":
            return Progress({"parent": scan.value}, f"packing onto {scan.value}")
        parent = data["parent"]
        if scan.value == parent:
            return Refusal("SAME_LP", f"{parent} is the parent: {step.prompt}")
        body = {"lp": scan.value, "parent": parent}
        return Progress(
            dict(data), "", ActionRequest("lp.pack", body, f"pack {scan.value} onto {parent}")
        )


@dataclass(frozen=True)
class Unpack(Flow):
    """The parent then children (each an lp.unpack from it), or one LP then CMD:done.

    The first LP is ambiguous until the next scan: another LP makes it the parent; CMD:done
    takes it out of whatever parent central knows it in.
    """

    name = "lp.unpack"
    title = "unpack"
    steps = (UNPACK_FIRST, UNPACK_NEXT, UNPACK_CHILD)

    def step(self, data: Data) -> Step:
        """First LP, then either children or CMD:done."""
        if "parent" in data:
            return prompt(
                UNPACK_CHILD,
                f"scan an LP to take out of {data['parent']} (CMD:done when finished)",
            )
        if "lp" in data:
            return prompt(
                UNPACK_NEXT,
                f"scan an LP to take out of {data['lp']}, or CMD:done to take {data['lp']} "
                "out of its parent",
            )
        return UNPACK_FIRST

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """The second LP names the first as the parent; children are unpacked from it."""
        if step.name == "lp":
            return Progress({"lp": scan.value}, f"LP {scan.value}")
        parent = data.get("parent") or data["lp"]
        if scan.value == parent:
            return Refusal("SAME_LP", f"{parent} is the parent: {step.prompt}")
        body = {"lp": scan.value, "parent": parent}
        action = ActionRequest("lp.unpack", body, f"take {scan.value} out of {parent}")
        return Progress({"parent": parent}, "", action)

    def done(self, data: Data) -> Answer:
        """One LP then CMD:done: take it out of its parent; after children: finished."""
        if "lp" in data:
            lp = data["lp"]
            action = ActionRequest("lp.unpack", {"lp": lp}, f"take {lp} out of its parent")
            return Progress(self.start(), "", action)
        return super().done(data)
