"""What a sync did: counts per kind of outcome, and the orders someone should look at."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class SyncReport:
    """The outcome of one page, or of a whole pull (pages added up)."""

    pages: int = 0
    created: int = 0  # orders new to central
    updated: int = 0  # orders whose content changed
    unchanged: int = 0  # orders seen with the same content: nothing written
    excluded: int = 0  # new orders in an excluding approval status: not taken in
    marked: int = 0  # known orders that moved to an excluding status: marked, kept
    pos_created: int = 0
    pos_updated: int = 0
    pos_unchanged: int = 0
    shipments_created: int = 0
    shipments_updated: int = 0
    shipments_unchanged: int = 0
    linked: int = 0  # shipments matched to a purchase order (orphans adopted included)
    orphans: int = 0  # shipments of this sync whose PO number matched no purchase order
    # Orders past `open` whose lines the source changed: header updated, lines kept.
    locked: list[dict[str, Any]] = field(default_factory=list)
    # Orders in an approval status central does not know: taken in, listed here.
    investigate: list[dict[str, Any]] = field(default_factory=list)
    # Orders or shipments not taken in ({"number"/"tracking_number", "code", "message"}).
    errors: list[dict[str, Any]] = field(default_factory=list)
    auto_released: int = 0  # new orders released and planned onto a shipment at once
    # What automatic release did with each new order (the site has it on): released, or why not.
    auto_release: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: "SyncReport") -> None:
        """Add another page's outcome to this one."""
        for name, value in asdict(other).items():
            mine = getattr(self, name)
            setattr(self, name, mine + value)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values."""
        return asdict(self)

    def summary(self) -> str:
        """One line for a log or a terminal."""
        return (
            f"{self.pages} page(s); orders: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.excluded} excluded, {self.marked} marked, "
            f"{len(self.locked)} locked, {len(self.investigate)} to investigate, "
            f"{len(self.errors)} error(s); purchase orders: {self.pos_created} created, "
            f"{self.pos_updated} updated; shipments: {self.shipments_created} created, "
            f"{self.shipments_updated} updated, {self.linked} linked, {self.orphans} orphan(s)"
            + self._auto_release_summary()
        )

    def _auto_release_summary(self) -> str:
        """What automatic release did, when it did anything."""
        if not self.auto_release:
            return ""
        kept = len(self.auto_release) - self.auto_released
        return f"; auto-release: {self.auto_released} released, {kept} left open"
