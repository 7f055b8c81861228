"""The production panels: consuming into a work order, and its output."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from terminals.kiosk.figures import Ratio, decimal_or_none, plain
from terminals.kiosk.job_kinds.base import (
    BAD,
    OK,
    WARN,
    ZERO,
    Job,
    KindPanel,
    cell,
    plain_label,
    read_only_table,
    set_line,
)


class ConsumePanel(KindPanel):
    """lp.consume: the work order's BOM lines, consumed (central) and pending (this edge)."""

    COLUMNS = ("product", "required", "consumed", "pending", "remaining", "uom", "state")

    def compose(self) -> ComposeResult:
        yield plain_label("head", id="consume-head")
        yield plain_label(id="consume-note")
        with Vertical(classes="body"):
            with Vertical(classes="figures"):
                yield Label("BOM lines complete / lines", classes="caption")
                yield Ratio(id="consume-ratio")
            with Vertical(classes="details"):
                yield read_only_table("consume-lines", self.COLUMNS)

    def show(self, job: Job) -> None:
        """Work order and status on top, lines complete in large type, one row per material."""
        head = f"work order {job.get('work_order') or '?'}"
        if job.get("product"):
            head += f" · making {job['product']}"
        head += f" · {job.get('status') or 'status unknown'}"
        self.query_one("#consume-head", Label).update(head)
        lines = job.get("lines") or []
        states = [self.line_state(line) for line in lines]
        bom = [state for line, state in zip(lines, states, strict=True) if _in_bom(line)]
        complete = sum(1 for state, _ in bom if state.startswith(("done", "OVER")))
        self.query_one("#consume-ratio", Ratio).update(str(complete), str(len(bom)))
        notes = []
        if not bom:
            notes.append("the work order's materials are not known at this edge")
        unknown = int(job.get("pending_unknown") or 0)
        if unknown:
            notes.append(f"+{unknown} pending of LPs this edge does not know (not in the table)")
        note = self.query_one("#consume-note", Label)
        set_line(note, "; ".join(notes), "-warn")
        note.display = bool(notes)
        table: DataTable[Text] = self.query_one("#consume-lines", DataTable)
        table.clear()
        for index, (line, (state, style)) in enumerate(zip(lines, states, strict=True)):
            in_bom = _in_bom(line)
            table.add_row(
                cell(line.get("product")),
                cell(line.get("required") if in_bom else "none"),
                _quantity_cell(line.get("consumed")),
                _pending_cell(line.get("pending")),
                _quantity_cell(line.get("remaining")) if in_bom else cell(""),
                cell(line.get("uom")),
                cell(state, style),
                key=f"{index}:{line.get('product')}",
            )

    @staticmethod
    def line_state(line: dict[str, Any]) -> tuple[str, str]:
        """A line in words: "OVER +2", "done", "done (pending)", "to go", ..."""
        if not _in_bom(line):
            return "not in the BOM", WARN
        required = decimal_or_none(line.get("required")) or ZERO
        consumed = decimal_or_none(line.get("consumed"))
        pending = decimal_or_none(line.get("pending"))
        if consumed is None:  # the cache has the BOM but not what central consumed so far
            return "consumed unknown", WARN
        if pending is None:  # a whole LP of unknown quantity waits at this edge
            if consumed > required:
                return f"OVER +{plain(consumed - required)}", BAD
            return "pending, quantity unknown", WARN
        taken = consumed + pending
        if taken > required:
            return f"OVER +{plain(taken - required)}", BAD
        if taken == required:
            return ("done (pending)", WARN) if pending else ("done", OK)
        return "to go", ""


def _in_bom(line: dict[str, Any]) -> bool:
    """A BOM line has a required quantity; a product consumed outside the BOM has none."""
    return decimal_or_none(line.get("required")) is not None


def _quantity_cell(value: object) -> Text:
    """A quantity as the edge wrote it, or "?" when the edge does not know it (never zero)."""
    return cell("?", WARN) if value is None else cell(value)


def _pending_cell(value: object) -> Text:
    """This edge's pending quantity: "+3", "0", or "?" when a whole LP's quantity is unknown."""
    pending = decimal_or_none(value)
    if pending is None:
        return cell("?", WARN)
    return cell(f"+{plain(pending)}", WARN) if pending else cell("0")


class OutputPanel(KindPanel):
    """wo.output: produced / planned in large type, this edge's pending output, remaining."""

    def compose(self) -> ComposeResult:
        yield plain_label("head", id="output-head")
        with Vertical(classes="body"):
            with Vertical(classes="figures"):
                yield Label("produced / planned", classes="caption")
                yield Ratio(id="output-ratio")
            with Vertical(classes="details"):
                yield plain_label(id="output-pending")
                yield plain_label(id="output-remaining")

    def show(self, job: Job) -> None:
        """Produced and planned as central knows them, plus what this edge has not sent yet."""
        uom = job.get("uom") or ""
        head = f"work order {job.get('work_order') or '?'}"
        if job.get("product"):
            head += f" · making {job['product']}"
        if job.get("status"):
            head += f" · {job['status']}"
        self.query_one("#output-head", Label).update(head)
        self.query_one("#output-ratio", Ratio).update(
            _figure(job.get("produced")), _figure(job.get("planned"))
        )
        unit = f" {uom}" if uom else ""
        pending = decimal_or_none(job.get("pending"))
        if pending is None:
            text, tone = "pending here, quantity unknown", "-warn"
        elif pending:
            text, tone = f"+{plain(pending)}{unit} pending (saved here, not yet applied)", "-warn"
        else:
            text, tone = "nothing pending", None
        set_line(self.query_one("#output-pending", Label), text, tone)
        remaining = decimal_or_none(job.get("remaining"))
        if remaining is None:
            text, tone = "remaining unknown", None
        elif remaining < 0:
            text, tone = f"OVER planned by {plain(-remaining)}{unit}", "-bad"
        elif remaining == 0:
            text, tone = "planned quantity reached", "-ok"
        else:
            text, tone = f"remaining {plain(remaining)}{unit}", None
        set_line(self.query_one("#output-remaining", Label), text, tone)


def _figure(value: object) -> str:
    """A quantity for large type: as the edge wrote it, "?" when it does not know it."""
    return "?" if value is None else str(value)
