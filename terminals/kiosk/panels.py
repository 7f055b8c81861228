"""The job panels: a station's running totals, from the edge's `GET .../progress` answer.

`JobPanel.show(progress)` picks the panel for `progress["job"]["kind"]` and updates it in
place (all panels are mounted once, a `ContentSwitcher` shows one), so a kiosk can call it
after every scan without flicker. Every state is written in words or signs as well as colour.
The panel sets `-wide` on itself when it has room for a side-by-side layout and `-compact`
when it is too short for 3-row Digits.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, Label

from terminals.kiosk.figures import Figure, Ratio, decimal_or_none, plain, signed

Job = dict[str, Any]

ZERO = Decimal(0)

# The room the panel needs for its layouts (cells of the panel itself, not the screen).
WIDE_WIDTH = 100
COMPACT_HEIGHT = 14

# docs/edge.md "as_of and stale", in the words an operator reads.
STALE_REASONS = {
    "broker_offline": "no link to the broker",
    "central_offline": "central offline",
    "behind_head": "changes from central still on their way",
    "snapshot_pending": "waiting for a full update from central",
    "never_synced": "never synced with central",
}

# Colours for table cells (Rich styles; the words carry the meaning on their own).
_OK = "bold green"
_WARN = "bold yellow"
_BAD = "bold red"


def _cell(text: object, style: str = "") -> Text:
    """A table cell shown as written (never read as markup)."""
    return Text("" if text is None else str(text), style=style)


def _table(id: str, columns: tuple[str, ...], cursor: bool = False) -> DataTable[Text]:
    """A read-only table: it never takes the focus from the kiosk's scan input."""
    table: DataTable[Text] = DataTable(id=id, cursor_type="row" if cursor else "none")
    table.can_focus = False
    table.add_columns(*columns)
    return table


def _label(classes: str = "", id: str | None = None) -> Label:
    """A line of text that is never read as markup (LP numbers may hold brackets)."""
    return Label("", classes=classes, id=id, markup=False)


def stale_line(progress: dict[str, Any]) -> str | None:
    """ "may be stale since 13:02:05 (central offline)", or None when the data is current."""
    if not progress.get("stale"):
        return None
    reasons = [
        STALE_REASONS.get(str(reason), str(reason).replace("_", " "))
        for reason in progress.get("stale_reasons") or []
    ]
    text = "may be stale"
    since = progress.get("stale_since")
    if since:
        try:
            text += " since " + datetime.fromisoformat(str(since)).astimezone().strftime("%H:%M:%S")
        except ValueError:
            text += f" since {since}"
    return f"{text} ({', '.join(reasons)})" if reasons else text


class KindPanel(Widget):
    """Base of the per-kind panels: `show(job)` updates the widgets composed once."""

    # Unscoped: the wide rules name an ancestor (the job panel), not the panel itself.
    SCOPED_CSS = False
    DEFAULT_CSS = """
    KindPanel { height: 1fr; }
    KindPanel .head { text-style: bold; width: 1fr; }
    KindPanel .body { height: 1fr; }
    KindPanel .figures { height: auto; width: 1fr; }
    KindPanel .details { height: 1fr; width: 1fr; }
    KindPanel DataTable { height: 1fr; }
    KindPanel .-ok { color: $success; }
    KindPanel .-warn { color: $warning; text-style: bold; }
    KindPanel .-bad { color: $error; text-style: bold; }
    JobPanel.-wide KindPanel .body { layout: horizontal; }
    JobPanel.-wide KindPanel .figures { width: 1fr; height: 1fr; }
    JobPanel.-wide KindPanel .details { width: 2fr; margin-left: 2; }
    """

    def show(self, job: Job) -> None:
        """Show this job's totals."""
        raise NotImplementedError


def _mark(label: Label, text: str, tone: str | None) -> None:
    """Set a line's text and its tone class (-ok, -warn, -bad) at once."""
    label.update(text)
    for name in ("-ok", "-warn", "-bad"):
        label.set_class(tone == name, name)


class ConsumePanel(KindPanel):
    """lp.consume: the work order's BOM lines, consumed (central) and pending (this edge)."""

    COLUMNS = ("product", "required", "consumed", "pending", "remaining", "uom", "state")

    def compose(self) -> ComposeResult:
        yield _label("head", id="consume-head")
        with Vertical(classes="body"):
            with Vertical(classes="figures"):
                yield Label("BOM lines complete / lines", classes="caption")
                yield Ratio(id="consume-ratio")
            with Vertical(classes="details"):
                yield _table("consume-lines", self.COLUMNS)

    def show(self, job: Job) -> None:
        """Work order and status on top, lines complete in large type, one row per material."""
        head = f"work order {job.get('work_order') or '?'}"
        if job.get("product"):
            head += f" · making {job['product']}"
        head += f" · {job.get('status') or 'status unknown'}"
        self.query_one("#consume-head", Label).update(head)
        lines = job.get("lines") or []
        states = [self.line_state(line) for line in lines]
        complete = sum(1 for state, _ in states if state.startswith(("done", "OVER")))
        self.query_one("#consume-ratio", Ratio).update(str(complete), str(len(lines)))
        table: DataTable[Text] = self.query_one("#consume-lines", DataTable)
        table.clear()
        for index, (line, (state, style)) in enumerate(zip(lines, states, strict=True)):
            pending = decimal_or_none(line.get("pending"))
            table.add_row(
                _cell(line.get("product")),
                _cell(line.get("required")),
                _cell(line.get("consumed")),
                _cell(f"+{plain(pending)}" if pending else "0", _WARN if pending else ""),
                _cell(line.get("remaining")),
                _cell(line.get("uom")),
                _cell(state, style),
                key=f"{index}:{line.get('product')}",
            )

    @staticmethod
    def line_state(line: dict[str, Any]) -> tuple[str, str]:
        """A line in words: "OVER +2", "done", "done (pending)", "to go"."""
        required = decimal_or_none(line.get("required"))
        consumed = decimal_or_none(line.get("consumed")) or ZERO
        pending = decimal_or_none(line.get("pending")) or ZERO
        if required is None:
            return "not in the BOM", _WARN
        taken = consumed + pending
        if taken > required:
            return f"OVER +{plain(taken - required)}", _BAD
        if taken == required:
            return ("done (pending)", _WARN) if pending else ("done", _OK)
        return "to go", ""


class OutputPanel(KindPanel):
    """wo.output: produced / planned in large type, this edge's pending output, remaining."""

    def compose(self) -> ComposeResult:
        yield _label("head", id="output-head")
        with Vertical(classes="body"):
            with Vertical(classes="figures"):
                yield Label("produced / planned", classes="caption")
                yield Ratio(id="output-ratio")
            with Vertical(classes="details"):
                yield _label(id="output-pending")
                yield _label(id="output-remaining")

    def show(self, job: Job) -> None:
        """Produced and planned as central knows them, plus what this edge has not sent yet."""
        uom = job.get("uom") or ""
        head = f"work order {job.get('work_order') or '?'}"
        if job.get("product"):
            head += f" · making {job['product']}"
        self.query_one("#output-head", Label).update(head)
        self.query_one("#output-ratio", Ratio).update(
            str(job.get("produced") or "0"), str(job.get("planned") or "?")
        )
        unit = f" {uom}" if uom else ""
        pending = decimal_or_none(job.get("pending")) or ZERO
        _mark(
            self.query_one("#output-pending", Label),
            f"+{plain(pending)}{unit} pending (saved here, not yet applied)"
            if pending
            else "nothing pending",
            "-warn" if pending else None,
        )
        remaining = decimal_or_none(job.get("remaining"))
        if remaining is None:
            text, tone = "remaining unknown", None
        elif remaining < 0:
            text, tone = f"OVER planned by {plain(-remaining)}{unit}", "-bad"
        elif remaining == 0:
            text, tone = "planned quantity reached", "-ok"
        else:
            text, tone = f"remaining {plain(remaining)}{unit}", None
        _mark(self.query_one("#output-remaining", Label), text, tone)


class LoadPanel(KindPanel):
    """ship.load: loaded / planned LPs, this edge's pending loads, and the LPs still missing."""

    MISSING_SHOWN = 6
    MISSING_SHOWN_WIDE = 24

    wide = False

    def compose(self) -> ComposeResult:
        yield _label("head", id="load-head")
        with Vertical(classes="body"):
            with Vertical(classes="figures"):
                yield _label("caption", id="load-caption")
                yield Ratio(id="load-ratio")
                yield Figure(id="load-count")
                yield _label(id="load-pending")
            with Vertical(classes="details"):
                yield _label(id="load-plan")
                yield _label(id="load-missing")

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
        _mark(
            self.query_one("#load-pending", Label),
            f"+{pending} pending (saved here, not yet applied)" if pending else "nothing pending",
            "-warn" if pending else None,
        )
        plan = self.query_one("#load-plan", Label)
        missing_line = self.query_one("#load-missing", Label)
        if not known:
            self.query_one("#load-caption", Label).update("LPs loaded at this station")
            count.update(str(pending + len(job.get("loaded_lps") or [])))
            _mark(plan, "the shipment's plan is not known at this edge", "-warn")
            missing_line.update("")
            return
        planned, loaded = int(job.get("planned") or 0), int(job.get("loaded") or 0)
        self.query_one("#load-caption", Label).update("LPs loaded / planned")
        ratio.update(str(loaded), str(planned))
        missing = [str(lp) for lp in job.get("missing") or []]
        missing_count = max(len(missing), planned - loaded - pending)
        if missing_count <= 0:
            _mark(plan, "every planned LP is loaded or pending", "-ok")
            missing_line.update("")
            return
        _mark(plan, f"{missing_count} missing:", "-warn")
        shown = missing[: self.MISSING_SHOWN_WIDE if self.wide else self.MISSING_SHOWN]
        more = missing_count - len(shown)
        missing_line.update(", ".join(shown) + (f" +{more} more" if more > 0 else ""))


class CountPanel(KindPanel):
    """count.record: LPs counted so far, the variance signed and in words, the last lines."""

    COLUMNS = ("LP", "counted", "expected", "variance", "uom", "state")

    def compose(self) -> ComposeResult:
        yield _label("head", id="count-head")
        with Vertical(classes="body"):
            with Vertical(classes="figures"):
                yield Label("LPs counted", classes="caption")
                yield Figure(id="count-counted")
                yield _label(id="count-variance")
            with Vertical(classes="details"):
                yield _table("count-lines", self.COLUMNS)

    def show(self, job: Job) -> None:
        """Session and location on top, totals, then the counted lines with the last at the end."""
        head = f"count {job.get('session') or '?'}"
        if job.get("location"):
            head += f" at {job['location']}"
        self.query_one("#count-head", Label).update(head)
        lines = job.get("lines") or []
        self.query_one("#count-counted", Figure).update(str(job.get("counted", len(lines))))
        variance = decimal_or_none(job.get("variance"))
        if variance is None:
            text, tone = "variance unknown", None
        else:
            word, tone = self.variance_words(variance)
            text = f"variance so far {signed(variance)} ({word})"
        _mark(self.query_one("#count-variance", Label), text, tone)
        table: DataTable[Text] = self.query_one("#count-lines", DataTable)
        table.clear()
        for index, line in enumerate(lines):
            line_variance = decimal_or_none(line.get("variance"))
            if line_variance is None:
                variance_cell = _cell("expected unknown", _WARN)
            else:
                word, tone = self.variance_words(line_variance)
                style = {"-ok": _OK, "-warn": _WARN, "-bad": _BAD}.get(tone or "", "")
                variance_cell = _cell(f"{signed(line_variance)} {word}", style)
            table.add_row(
                _cell(line.get("lp")),
                _cell(line.get("counted")),
                _cell(line.get("expected") if line.get("expected") is not None else "?"),
                variance_cell,
                _cell(line.get("uom")),
                _cell(line.get("state")),
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
        yield _label("head", id="pick-head")
        yield _table("pick-tasks", self.COLUMNS, cursor=True)

    def show(self, job: Job) -> None:
        """One row per task in the edge's order; the cursor rests on the next pick."""
        tasks = job.get("tasks") or []
        next_task = job.get("next")
        current = job.get("task")
        if isinstance(current, dict):
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
                marker = _cell("NEXT ▶", "reverse bold")
                next_row = index
            elif number is not None and number == current:
                marker = _cell("NOW", "bold")
            else:
                marker = _cell("")
            if task.get("pending"):
                state = _cell("pending", _WARN)
            else:
                state = _cell(task.get("status") or "open")
            table.add_row(
                marker,
                _cell(number),
                _cell(task.get("product")),
                _cell(task.get("location")),
                _cell(task.get("qty")),
                _cell(task.get("qty_picked")),
                state,
                key=f"{index}:{number}",
            )
        table.show_cursor = next_row is not None
        if next_row is not None:
            table.move_cursor(row=next_row, animate=False)


class DonePanel(KindPanel):
    """The other flows (receive, move, split, ...): how many this station did today."""

    def compose(self) -> ComposeResult:
        yield _label("head", id="done-head")
        yield Figure(id="done-count")
        yield Label("done today at this station", classes="caption")

    def show(self, job: Job) -> None:
        """The flow's title and its count of today."""
        self.query_one("#done-head", Label).update(str(job.get("kind") or "actions"))
        self.query_one("#done-count", Figure).update(str(job.get("done") or 0))


class NoJobPanel(KindPanel):
    """No job yet: the flow has no context (no work order, shipment or session scanned)."""

    def compose(self) -> ComposeResult:
        yield _label("head", id="nojob-text")

    def show(self, job: Job) -> None:
        """ "no job yet: <what to scan>" with the caller's words in job["expect"]."""
        expect = job.get("expect")
        self.query_one("#nojob-text", Label).update(
            f"no job yet: {expect}" if expect else "no job yet"
        )


class JobPanel(Widget):
    """The running totals of a station's current job, the panel chosen by the job's kind."""

    DEFAULT_CSS = """
    JobPanel { height: 1fr; }
    JobPanel > #stale { display: none; color: $warning; text-style: bold; width: 1fr; }
    JobPanel > #stale.-shown { display: block; }
    JobPanel > ContentSwitcher { height: 1fr; }
    """

    PANELS: dict[str, type[KindPanel]] = {
        "consume": ConsumePanel,
        "output": OutputPanel,
        "load": LoadPanel,
        "count": CountPanel,
        "pick": PickPanel,
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._progress: dict[str, Any] | None = None
        self._expect: str | None = None

    @property
    def kind(self) -> str:
        """The id of the panel shown: a job kind, "done" for other flows, "none" for no job."""
        return self.query_one(ContentSwitcher).current or "none"

    def compose(self) -> ComposeResult:
        yield _label(id="stale")
        with ContentSwitcher(initial="none"):
            yield NoJobPanel(id="none")
            for kind, panel in self.PANELS.items():
                yield panel(id=kind)
            yield DonePanel(id="done")

    def show(self, progress: dict[str, Any], expect: str | None = None) -> None:
        """Show the edge's progress answer; `expect` is what to scan when there is no job yet."""
        self._progress, self._expect = progress, expect
        if self.is_mounted:
            self._paint()

    def on_mount(self) -> None:
        """Show what was handed over before the panel was mounted."""
        if self._progress is not None:
            self._paint()

    def on_resize(self, event: events.Resize) -> None:
        """Switch layouts by the room the panel has (it does not know the screen around it)."""
        wide = event.size.width >= WIDE_WIDTH
        self.set_class(wide, "-wide")
        self.set_class(event.size.height < COMPACT_HEIGHT, "-compact")
        load = self.query_one(LoadPanel)
        if load.wide != wide:
            load.wide = wide
            if self._progress is not None:
                self._paint()

    def _paint(self) -> None:
        progress = self._progress or {}
        stale = self.query_one("#stale", Label)
        text = stale_line(progress)
        stale.update(f"! {text}" if text else "")
        stale.set_class(text is not None, "-shown")
        job = progress.get("job")
        if not isinstance(job, dict):
            panel_id, job = "none", {"expect": self._expect}
        else:
            kind = str(job.get("kind"))
            panel_id = kind if kind in self.PANELS else "done"
        self.query_one(f"#{panel_id}", KindPanel).show(job)
        self.query_one(ContentSwitcher).current = panel_id
