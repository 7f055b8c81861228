"""The count panel: LPs counted in a session, the variance so far, the lines."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from terminals.kiosk.figures import Figure, decimal_or_none, signed
from terminals.kiosk.job_kinds.base import (
    BAD,
    OK,
    WARN,
    Job,
    KindPanel,
    cell,
    plain_label,
    read_only_table,
    set_line,
)


class CountPanel(KindPanel):
    """count.record: LPs counted so far, the variance signed and in words, the last lines."""

    # The variance takes the figures' room left and wraps there: beside the count in a short
    # panel it would otherwise lose its sign and word at the panel's edge.
    DEFAULT_CSS = """
    CountPanel #count-variance { width: 1fr; }
    """

    COLUMNS = ("LP", "counted", "expected", "variance", "uom", "state")

    def compose(self) -> ComposeResult:
        yield plain_label("head", id="count-head")
        with Vertical(classes="body"):
            with Vertical(classes="figures"):
                yield Label("LPs counted", classes="caption")
                yield Figure(id="count-counted")
                yield plain_label(id="count-variance")
            with Vertical(classes="details"):
                yield plain_label(id="count-note")
                yield read_only_table("count-lines", self.COLUMNS)

    def show(self, job: Job) -> None:
        """Session and location on top, totals, then the counted lines with the last at the end."""
        head = f"count {job.get('session') or '?'}"
        if job.get("location"):
            head += f" at {job['location']}"
        self.query_one("#count-head", Label).update(head)
        lines = job.get("lines") or []
        counted = job.get("counted")
        self.query_one("#count-counted", Figure).update(
            str(len(lines) if counted is None else counted)
        )
        variance = decimal_or_none(job.get("variance"))
        if variance is None:
            text, tone = "variance unknown", None
        else:
            word, tone = self.variance_words(variance)
            text = f"variance so far {signed(variance)} ({word})"
        set_line(self.query_one("#count-variance", Label), text, tone)
        # The edge's total leaves out the LPs its cache has no quantity for.
        unknown = sum(1 for line in lines if decimal_or_none(line.get("variance")) is None)
        note = self.query_one("#count-note", Label)
        set_line(note, f"{unknown} LP{'' if unknown == 1 else 's'} not in the variance", "-warn")
        note.display = bool(unknown)
        table: DataTable[Text] = self.query_one("#count-lines", DataTable)
        table.clear()
        for index, line in enumerate(lines):
            line_variance = decimal_or_none(line.get("variance"))
            if line_variance is None:
                variance_cell = cell("expected unknown", WARN)
            else:
                word, tone = self.variance_words(line_variance)
                style = {"-ok": OK, "-warn": WARN, "-bad": BAD}.get(tone or "", "")
                variance_cell = cell(f"{signed(line_variance)} {word}", style)
            table.add_row(
                cell(line.get("lp")),
                cell(line.get("counted")),
                cell(line.get("expected") if line.get("expected") is not None else "?"),
                variance_cell,
                cell(line.get("uom")),
                cell(line.get("state")),
                key=f"{index}:{line.get('lp')}",
            )
        if lines:
            table.scroll_end(animate=False)

    @staticmethod
    def variance_words(variance: Decimal) -> tuple[str, str]:
        """A variance in words and tone: over, short, exact."""
        if variance > 0:
            return "over", "-warn"
        if variance < 0:
            return "short", "-bad"
        return "exact", "-ok"
