"""A small app holding one job panel, and how the panel tests read what it shows."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable, Digits, Label

from terminals.kiosk.job_kinds.base import KindPanel
from terminals.kiosk.panels import JobPanel


class Host(App[None]):
    """A small app holding one job panel, under a status line like the kiosk's."""

    def __init__(self, panel_height: int | None = None) -> None:
        super().__init__()
        self.panel_height = panel_height

    def compose(self) -> ComposeResult:
        yield Label("station mix-1 · operator OP-7", id="status")
        yield JobPanel()

    def on_mount(self) -> None:
        if self.panel_height is not None:
            self.query_one(JobPanel).styles.height = self.panel_height


def screen_text(app: App[Any]) -> str:
    """The screen as the terminal shows it, one line per row."""
    # The compositor's strips are exactly what a terminal (or a snapshot) receives.
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)


async def shown(app: Host, pilot: Pilot[None], answer: dict[str, Any], **kw: Any) -> JobPanel:
    """Hand the answer to the panel and wait until it is on screen."""
    panel = app.query_one(JobPanel)
    panel.show(answer, **kw)
    await pilot.pause()
    return panel


def rows(table: DataTable[Any]) -> list[list[str]]:
    """The table's cells as plain text."""
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def visible_digits(panel: KindPanel) -> list[str]:
    """The values of the Digits on screen (displayed, with a region)."""
    return [
        digits.value
        for digits in panel.query(Digits)
        if digits.display and digits.region.area and all(a.display for a in digits.ancestors)
    ]
