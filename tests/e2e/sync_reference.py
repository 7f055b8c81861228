"""The reference model of the sync protocol: what every action's outcome must be.

The edge sends oldest first with one batch in flight, so central applies an edge's actions in
seq order however the network loses, repeats or reorders messages. The model therefore
predicts each outcome when the action is enqueued, by applying the actions in seq order to
a tiny picture of the inventory: which LP numbers exist and where each one is.
"""

from dataclasses import dataclass, field

KNOWN_ITEMS = ("RAW-1",)  # seeded with unit kg (tests/central/conftest.py Central.seed)
KNOWN_LOCATIONS = ("RECV", "A-01", "A-02", "SHIP-1")
LEDGER_KINDS = {"lp.receive": ("RECEIPT",), "lp.move": ("TRANSFER_IN", "TRANSFER_OUT")}


@dataclass(frozen=True)
class Expected:
    """One action's outcome at central, and the ledger rows it must leave."""

    seq: int
    type: str
    result: str  # "applied" or "conflict"
    code: str | None  # the conflict code, when it conflicts
    ledger: tuple[str, ...]  # kinds of its stock_moves rows, sorted (none for a conflict)


@dataclass
class ReferenceModel:
    """The inventory as the actions so far leave it, applied one by one in seq order."""

    lps: dict[str, str] = field(default_factory=dict)  # LP number -> location code
    outcomes: dict[str, Expected] = field(default_factory=dict)  # action id -> outcome

    def receive(self, action_id: str, seq: int, *, lp: str, item: str) -> Expected:
        """lp.receive of a labelled LP at RECV."""
        if item not in KNOWN_ITEMS:
            return self._conflict(action_id, seq, "lp.receive", "PRODUCT_NOT_FOUND")
        if lp in self.lps:
            return self._conflict(action_id, seq, "lp.receive", "LP_ALREADY_EXISTS")
        self.lps[lp] = "RECV"
        return self._applied(action_id, seq, "lp.receive")

    def move(self, action_id: str, seq: int, *, lp: str, to: str) -> Expected:
        """lp.move: timestamps rise with seq here, so no move is ever superseded."""
        if lp not in self.lps:
            return self._conflict(action_id, seq, "lp.move", "LP_NOT_FOUND")
        if to not in KNOWN_LOCATIONS:
            return self._conflict(action_id, seq, "lp.move", "LOCATION_NOT_FOUND")
        self.lps[lp] = to
        return self._applied(action_id, seq, "lp.move")

    def _applied(self, action_id: str, seq: int, type: str) -> Expected:
        expected = Expected(seq, type, "applied", None, tuple(sorted(LEDGER_KINDS[type])))
        self.outcomes[action_id] = expected
        return expected

    def _conflict(self, action_id: str, seq: int, type: str, code: str) -> Expected:
        expected = Expected(seq, type, "conflict", code, ())
        self.outcomes[action_id] = expected
        return expected

    def ledger(self) -> dict[str, tuple[str, ...]]:
        """Action id -> kinds of its ledger rows, for every action that must have some."""
        return {i: e.ledger for i, e in self.outcomes.items() if e.ledger}


def edge_agrees(edge_state: str, expected: Expected) -> bool:
    """The edge's final state tells the same story as central's outcome: ``applied`` or
    ``duplicate`` (of an applied action) for an applied one, ``conflict`` for a conflict."""
    if expected.result == "applied":
        return edge_state in ("applied", "duplicate")
    return edge_state == expected.result
