"""The job panel: the station's current job, the panel chosen by the job's kind.

`JobPanel.show(progress)` picks the panel for `progress["job"]["kind"]` and updates it in
place (all panels are mounted once, a `ContentSwitcher` shows one), so a kiosk can call it
after every scan without flicker. Every state is written in words or signs as well as colour.
The panel sets `-wide` on itself when it has room for a side-by-side layout and `-compact`
when it is too short for 3-row Digits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Label

from terminals.kiosk.figures import Figure
from terminals.kiosk.job_kinds.base import Job, KindPanel, plain_label
from terminals.kiosk.job_kinds.counting import CountPanel
from terminals.kiosk.job_kinds.production import ConsumePanel, OutputPanel
from terminals.kiosk.job_kinds.shipping import LoadPanel, PickPanel

__all__ = [
    "ConsumePanel",
    "CountPanel",
    "DonePanel",
    "JobPanel",
    "KindPanel",
    "LoadPanel",
    "NoJobPanel",
    "OutputPanel",
    "PickPanel",
    "stale_line",
]

# The room the panel needs for its layouts (cells of the panel itself, not the screen).
WIDE_WIDTH = 100
COMPACT_HEIGHT = 14

# docs/edge.md "as_of and stale" and "Kiosk support", in the words an operator reads.
STALE_REASONS = {
    "broker_offline": "no link to the broker",
    "central_offline": "central offline",
    "behind_head": "central's changes on their way",
    "snapshot_pending": "waiting for a full update from central",
    "never_synced": "never synced with central",
    "no_reference_cache": "no reference cache at this edge",
}


def stale_line(progress: dict[str, Any], today: date | None = None) -> str | None:
    """The stale line, e.g. "may be stale since 13:02:05 (central offline)"; None when current."""
    if not progress.get("stale"):
        return None
    raw = [str(reason) for reason in progress.get("stale_reasons") or []]
    since = progress.get("stale_since")
    if since:
        day = today or datetime.now().astimezone().date()
        text = f"may be stale since {_local_time(str(since), day)}"
    elif "never_synced" in raw:
        text = "never synced with central"  # no moment says since when
        raw.remove("never_synced")
    else:
        text = "may be stale"
    reasons = [STALE_REASONS.get(reason, reason.replace("_", " ")) for reason in raw]
    return f"{text} ({', '.join(reasons)})" if reasons else text


def _local_time(stamp: str, today: date) -> str:
    """An edge timestamp in the kiosk's local time: "13:02:05", with its date if not today."""
    try:
        moment = datetime.fromisoformat(stamp).astimezone()
    except ValueError:
        return stamp
    return f"{moment:%H:%M:%S}" if moment.date() == today else f"{moment:%Y-%m-%d %H:%M:%S}"


class DonePanel(KindPanel):
    """The other flows (receive, move, split, ...): how many this station did today."""

    def compose(self) -> ComposeResult:
        yield plain_label("head", id="done-head")
        yield Figure(id="done-count")
        yield Label("done today at this station", classes="caption")

    def show(self, job: Job) -> None:
        """The flow's title and its count of today."""
        self.query_one("#done-head", Label).update(str(job.get("kind") or "actions"))
        self.query_one("#done-count", Figure).update(str(job.get("done") or 0))


class NoJobPanel(KindPanel):
    """No job yet: the flow has no context (no work order, shipment or session scanned)."""

    def compose(self) -> ComposeResult:
        yield plain_label("head", id="nojob-text")

    def show(self, job: Job) -> None:
        """Say "no job yet: <what to scan>", the caller's words being in job["expect"]."""
        expect = job.get("expect")
        self.query_one("#nojob-text", Label).update(
            f"no job yet: {expect}" if expect else "no job yet"
        )


class JobPanel(Widget):
    """The running totals of a station's current job, the panel chosen by the job's kind."""

    DEFAULT_CSS = """
    JobPanel { height: 1fr; }
    JobPanel > #job-stale { display: none; color: $warning; text-style: bold; width: 1fr; }
    JobPanel > #job-stale.-shown { display: block; }
    JobPanel > ContentSwitcher { height: 1fr; }
    """

    PANELS: dict[str, type[KindPanel]] = {
        "consume": ConsumePanel,
        "output": OutputPanel,
        "load": LoadPanel,
        "count": CountPanel,
        "pick": PickPanel,
    }

    def __init__(
        self,
        *,
        id: str | None = None,
        classes: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._clock = clock  # None: the wall clock
        self._progress: dict[str, Any] | None = None
        self._expect: str | None = None

    @property
    def kind(self) -> str:
        """The id of the panel shown: a job kind, "done" for other flows, "none" for no job."""
        current = self.query_one(ContentSwitcher).current or "job-none"
        return current.removeprefix("job-")

    def compose(self) -> ComposeResult:
        yield plain_label(id="job-stale")
        with ContentSwitcher(initial="job-none"):
            yield NoJobPanel(id="job-none")
            for kind, panel in self.PANELS.items():
                yield panel(id=f"job-{kind}")
            yield DonePanel(id="job-done")

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
        """Switch layouts by the room the panel has (it does not know the screen around it).

        Its panels fill it (`1fr`), so even under `height: auto` it takes the room its limit
        (`max-height`) leaves: its own size is that room.
        """
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
        stale = self.query_one("#job-stale", Label)
        today = self._clock().astimezone().date() if self._clock else None
        text = stale_line(progress, today)
        stale.update(f"! {text}" if text else "")
        stale.set_class(text is not None, "-shown")
        job = progress.get("job")
        if not isinstance(job, dict):
            panel_id, job = "none", {"expect": self._expect}
        else:
            kind = str(job.get("kind"))
            panel_id = kind if kind in self.PANELS else "done"
        self.query_one(f"#job-{panel_id}", KindPanel).show(job)
        self.query_one(ContentSwitcher).current = f"job-{panel_id}"
