"""The shipping panels: loading a shipment, and picking its tasks."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from terminals.kiosk.figures import Figure, Ratio
from terminals.kiosk.job_kinds.base import (
    WARN,
    Job,
    KindPanel,
    cell,
    plain_label,
    read_only_table,
    set_line,
)


class LoadPanel(KindPanel):
    """ship.load: loaded / planned LPs, this edge's pending loads, and the LPs still missing."""

    MISSING_SHOWN = 6
    MISSING_SHOWN_WIDE = 24

    wide = False  # set by the job panel: a wide panel lists more missing LPs

    def compose(self) -> ComposeResult:
        yield plain_label("head", id="load-head")
        with Vertical(classes="body"):
            with Vertical(classes="figures"):
                yield plain_label("caption", id="load-caption")
                yield Ratio(id="load-ratio")
                yield Figure(id="load-count")
            with Vertical(classes="details"):
                yield plain_label(id="load-pending")
                yield plain_label(id="load-plan")
                yield plain_label(id="load-missing")

    def show(self, job: Job) -> None:
        """The plan's progress when the cache knows the shipment, else what this station loaded."""
        pending = int(job.get("pending") or 0)
        known = job.get("planned") is not None
        head = f"shipment {job.get('shipment') or '?'}"
        if job.get("status"):
            head += f" · {job['status']}"
        self.query_one("#load-head", Label).update(head)
        ratio = self.query_one("#load-ratio", Ratio)
        count = self.query_one("#load-count", Figure)
        ratio.display, count.display = known, not known
        set_line(
            self.query_one("#load-pending", Label),
            f"+{pending} pending (saved here, not yet applied)" if pending else "nothing pending",
            "-warn" if pending else None,
        )
        plan = self.query_one("#load-plan", Label)
        missing_line = self.query_one("#load-missing", Label)
        if not known:
            self.query_one("#load-caption", Label).update("LPs loaded at this station")
            count.update(str(pending + len(job.get("loaded_lps") or [])))
            set_line(plan, "the shipment's plan is not known at this edge", "-warn")
            missing_line.update("")
            return
        planned, loaded = int(job.get("planned") or 0), int(job.get("loaded") or 0)
        self.query_one("#load-caption", Label).update("LPs loaded / planned")
        ratio.update(str(loaded), str(planned))
        missing = [str(lp) for lp in job.get("missing") or []]
        missing_count = max(len(missing), planned - loaded - pending)
        if missing_count <= 0:
            set_line(plan, "every planned LP is loaded or pending", "-ok")
            missing_line.update("")
            return
        set_line(plan, f"{missing_count} missing:", "-warn")
        shown = missing[: self.MISSING_SHOWN_WIDE if self.wide else self.MISSING_SHOWN]
        more = missing_count - len(shown)
        missing_line.update(", ".join(shown) + (f" +{more} more" if more > 0 else ""))


class PickPanel(KindPanel):
    """pick.confirm: the station's open tasks, the next pick highlighted, pending ones marked."""

    # The table never has the focus, so its cursor (the next pick) takes the focused colours.
    DEFAULT_CSS = """
    PickPanel #pick-tasks > .datatable--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    """

    COLUMNS = ("", "task", "product", "location", "qty", "picked", "state")

    def compose(self) -> ComposeResult:
        yield plain_label("head", id="pick-head")
        yield read_only_table("pick-tasks", self.COLUMNS, cursor=True)

    def show(self, job: Job) -> None:
        """One row per task in the edge's order; the cursor rests on the next pick."""
        tasks = job.get("tasks") or []
        next_task = job.get("next")
        current = job.get("task")
        if isinstance(current, dict):  # the task the station is on, as the edge lists tasks
            current = current.get("number")
        pending = sum(1 for task in tasks if task.get("pending"))
        head = f"{len(tasks)} open task{'' if len(tasks) == 1 else 's'}"
        if pending:
            head += f", {pending} pending"
        head += f" · next: {next_task}" if next_task else " · nothing left to pick"
        self.query_one("#pick-head", Label).update(head)
        table: DataTable[Text] = self.query_one("#pick-tasks", DataTable)
        table.clear()
        next_row = None
        for index, task in enumerate(tasks):
            number = task.get("number")
            if number is not None and number == next_task:
                marker = cell("NEXT ▶", "reverse bold")
                next_row = index
            elif number is not None and number == current:
                marker = cell("NOW", "bold")
            else:
                marker = cell("")
            if task.get("pending"):
                state = cell("pending", WARN)
            else:
                state = cell(task.get("status") or "open")
            table.add_row(
                marker,
                cell(number),
                cell(task.get("product")),
                cell(task.get("location")),
                cell(task.get("qty")),
                cell(task.get("qty_picked")),
                state,
                key=f"{index}:{number}",
            )
        table.show_cursor = next_row is not None
        if next_row is not None:
            table.move_cursor(row=next_row, animate=False)
