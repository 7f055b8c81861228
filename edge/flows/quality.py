"""qc.hold and qc.release: an LP or a lot, then a reason code from the station's list."""

from dataclasses import dataclass

from edge.barcodes.scan import Scan
from edge.flows.base import ActionRequest, Answer, Data, Flow, Progress, Refusal, Step, prompt

# Defaults for `quality_reasons` in edge.toml. Hyphens, not underscores, so a code typed on a
# keyboard wedge reads as text by the default barcode rules as well as from an RSN: label.
DEFAULT_QUALITY_REASONS = (
    "DAMAGED",
    "CONTAMINATION",
    "FOREIGN-BODY",
    "TEMPERATURE",
    "LABEL-ERROR",
    "QA-SAMPLE",
    "SUPPLIER-COMPLAINT",
    "RELEASED-OK",
    "REWORKED",
)

TARGET = Step("target", ("lp", "lot"), "scan the LP, or the lot (LOT:)", typed=("lp",))
# A typed reason arrives as text the decoder takes for an LP or a lot: accept those too.
REASON = Step(
    "reason", ("reason", "lp", "lot", "product"), "scan a reason (RSN:)", typed=("reason",)
)


def _named(key: str) -> str:
    """How the operator's messages name the target: "LP", "lot" (as the prompts do)."""
    return "LP" if key == "lp" else "lot"


@dataclass(frozen=True)
class _Quality(Flow):
    """Target, then a reason from ``setup.reasons`` (case-insensitive) -> one action."""

    verb = "hold"

    def step(self, data: Data) -> Step:
        """The LP or lot, then its reason (the prompt lists the codes)."""
        if "lp" not in data and "lot" not in data:
            return prompt(TARGET, f"scan the LP, or the lot (LOT:), to {self.verb}")
        what = f"LP {data['lp']}" if "lp" in data else f"lot {data['lot']}"
        return prompt(
            REASON, f"scan a reason (RSN:) to {self.verb} {what}: {', '.join(self.setup.reasons)}"
        )

    def take(self, data: Data, scan: Scan, step: Step) -> Answer:
        """Collect the target; a listed reason completes the action."""
        if step.name == "target":
            key = "lp" if scan.kind == "lp" else "lot"
            return Progress({key: scan.value}, f"{self.verb} {_named(key)} {scan.value}")
        reason = next((r for r in self.setup.reasons if r.upper() == scan.value.upper()), None)
        if reason is None:
            return Refusal(
                "UNKNOWN_REASON",
                f"{scan.value!r} is not a reason code of this station; "
                f"use one of: {', '.join(self.setup.reasons)}",
            )
        key = "lp" if "lp" in data else "lot"
        body = {key: data[key], "reason": reason}
        message = f"{self.verb} {_named(key)} {data[key]} ({reason})"
        return Progress(self.start(), "", ActionRequest(self.name, body, message))


@dataclass(frozen=True)
class Hold(_Quality):
    """Put an LP or a lot on quality hold, with a reason."""

    name = "qc.hold"
    title = "quality hold"
    steps = (TARGET, REASON)
    verb = "hold"


@dataclass(frozen=True)
class Release(_Quality):
    """Release an LP or a lot from quality hold, with a reason."""

    name = "qc.release"
    title = "quality release"
    steps = (TARGET, REASON)
    verb = "release"
