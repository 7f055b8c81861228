"""KioskApp: one station's screen, driven by its edge's answers and events.

The kiosk never decides a step: scans go to the edge one at a time in the order they came
(one worker, one queue), and the screen shows what the edge's events say happened.
"""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import Resize
from textual.widgets import Footer

from terminals.kiosk.client import EdgeClient
from terminals.kiosk.errors import EdgeAnswerLost, EdgeRefused, EdgeUnreachable
from terminals.kiosk.model import Flash, KioskModel, now_utc
from terminals.kiosk.panels import JobPanel
from terminals.kiosk.scan_line import ScanLine
from terminals.kiosk.screens import (
    ConflictsScreen,
    HelpScreen,
    KioskDialog,
    LookupScreen,
    UnlockScreen,
)
from terminals.kiosk.widgets import (
    ActionLog,
    ContextLine,
    ExpectBanner,
    FeedbackFlash,
    LinkBanner,
    StatusBar,
)

QUEUE_POLL_SECONDS = 1.0
PROGRESS_POLL_SECONDS = 2.0
RECONNECT_MAX_SECONDS = 5.0
WIDE_COLUMNS = 120
NOT_SAVED = "NOT SAVED: the edge is unreachable, scan again when it is back"


def not_confirmed(value: str) -> str:
    """What to tell when a scan reached the edge but its answer did not come back."""
    return (
        f"{value}: the edge did not answer, it may have saved it: check the action log "
        "before scanning it again"
    )


class KioskApp(App[None]):
    """The operator kiosk of one station."""

    # Absolute: subclasses (tests, the served kiosk) live elsewhere.
    CSS_PATH = Path(__file__).with_name("kiosk.tcss")
    TITLE = "IOE kiosk"
    ENABLE_COMMAND_PALETTE = False  # nothing to offer, and it must not bypass lock mode
    # Priority: a key is acted on as it comes, before the keys typed after it are handed on
    # (else a scan typed right after F2 would go to the station instead of the lookup).
    # The commands (F4-F6) work the same with a dialog open.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", priority=True),
        Binding("f2", "lookup", "Look up", priority=True),
        Binding("f3", "conflicts", "Conflicts", priority=True),
        Binding("f4", "command('CMD:cancel')", "Cancel", priority=True),
        Binding("f5", "command('CMD:done')", "Done", priority=True),
        Binding("f6", "command('CMD:sign-out')", "Sign out", priority=True),
        Binding("f10", "quit", "Quit", priority=True),
        Binding("ctrl+q", "quit", show=False, priority=True),
        Binding("ctrl+c", "quit", show=False, priority=True),
    ]

    def __init__(
        self,
        client: EdgeClient,
        station: str,
        *,
        locked: bool = False,
        unlock_key: str | None = None,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        """`clock` is the wall clock unless a test fixes it (ages and "since" times)."""
        super().__init__()
        self.client = client
        self.station_name = station
        self.locked = locked
        self.unlock_key = unlock_key
        self.model = KioskModel(station_name=station, clock=clock)
        self._scans: asyncio.Queue[str] = asyncio.Queue()
        self._progress_due = asyncio.Event()
        self._queue_due = asyncio.Event()
        self._checking: set[str] = set()

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield LinkBanner(id="link")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield ExpectBanner(id="expect")
                yield ContextLine(id="context")
                yield FeedbackFlash("scan to begin", id="flash")
                yield JobPanel(id="job", clock=self.model.clock)
            yield ActionLog(id="log")
        yield ScanLine(placeholder="scan here (or type and press Enter)", id="scan")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.station_name
        self.query_one("#scan", ScanLine).focus()
        self._redraw()
        self.scan_worker()
        self.event_worker()
        self.queue_worker()
        self.progress_worker()

    async def on_unmount(self) -> None:
        await self.client.aclose()

    def on_resize(self, event: Resize) -> None:
        """Room for the log beside the job on a wide terminal, below it on a small one."""
        self.screen.set_class(event.size.width >= WIDE_COLUMNS, "-wide")

    # -- scans ---------------------------------------------------------------------------

    @on(ScanLine.Scanned, "#scan")
    def _scanned(self, event: ScanLine.Scanned) -> None:
        self.submit_scan(event.value)

    def submit_scan(self, value: str) -> None:
        """Hand a scan to the ordered worker: scans reach the edge in the order they came."""
        self._scans.put_nowait(value)

    @work(group="scans")
    async def scan_worker(self) -> None:
        """Send scans one at a time; the edge's events then say what happened."""
        while True:
            value = await self._scans.get()
            try:
                answer = await self.client.scan(self.station_name, value)
            except EdgeAnswerLost:
                # It may be saved: scanning it again could make the action twice.
                self._progress_due.set()  # the action log shows it if the edge has it
                self.flash(Flash("error", "NOT CONFIRMED", not_confirmed(value), bell=True))
                continue
            except EdgeUnreachable:
                self._edge_lost()
                self.flash(Flash("error", "NOT SAVED", NOT_SAVED, bell=True))
                continue
            except EdgeRefused as err:
                if self.model.fresh_error(err.code):
                    self.flash(Flash("error", f"REFUSED {err.code}", err.message, bell=True))
                continue
            flash = self.model.apply_scan_answer(answer)
            if flash is not None:
                self.flash(flash)
            self._redraw()
            self._progress_due.set()

    def action_command(self, command: str) -> None:
        """F4/F5/F6: the station's commands, sent like any scan."""
        self.submit_scan(command)

    # -- the edge's events ---------------------------------------------------------------

    @work(group="events")
    async def event_worker(self) -> None:
        """Follow the edge's event stream; reconnect with backoff (at most 5 s) when it ends."""
        delay = 0.5
        while True:
            try:
                async for kind, data in self.client.events():
                    if not self.model.edge_up or kind == "connectivity":
                        await self._edge_back()
                        delay = 0.5
                    self.on_edge_event(kind, data)
            except (EdgeUnreachable, EdgeRefused):
                pass
            self._edge_lost()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def on_edge_event(self, kind: str, data: dict[str, Any]) -> None:
        """One event: into the model, onto the screen."""
        flash = self.model.apply_event(kind, data)
        if flash is not None:
            self.flash(flash)
        if kind in ("action", "feedback"):
            self._progress_due.set()
        if kind == "action":
            self._queue_due.set()
        self._redraw()

    async def _edge_back(self) -> None:
        """The edge answers (again): read the station, queue and progress afresh."""
        if not self.model.edge_back():
            return
        with contextlib.suppress(EdgeUnreachable, EdgeRefused):
            self.model.apply_station(await self.client.station(self.station_name))
            self.model.apply_queue(await self.client.queue())
        self._progress_due.set()
        self._redraw()

    def _edge_lost(self) -> None:
        self.model.edge_lost()
        self._redraw()

    @work(group="queue")
    async def queue_worker(self) -> None:
        """Queue depth and the oldest unsynced action, every second and after action events."""
        while True:
            try:
                self.model.apply_queue(await self.client.queue())
            except EdgeUnreachable:
                self._edge_lost()
            except EdgeRefused:
                pass
            self._redraw()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(QUEUE_POLL_SECONDS):
                    await self._queue_due.wait()  # an action event: read it now
            self._queue_due.clear()

    @work(group="progress")
    async def progress_worker(self) -> None:
        """The job's running totals, read again after each scan or action event, and every
        few seconds: central's figures reach the edge's cache after the ack that announced
        them, and changes made elsewhere (at central, another edge) announce nothing here."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PROGRESS_POLL_SECONDS):
                    await self._progress_due.wait()
            self._progress_due.clear()
            try:
                self.model.apply_progress(await self.client.progress(self.station_name))
            except (EdgeUnreachable, EdgeRefused):
                continue
            expect = self.model.station.get("expect")
            try:
                self.screen_stack[0].query_one(JobPanel).show(self.model.progress or {}, expect)
            except (NoMatches, IndexError):
                return  # the kiosk is closing: its widgets are already gone
            self._redraw()

    @work(group="operator")
    async def check_operator(self, operator: str) -> None:
        """Whether the signed-in badge is a supervisor's (the status bar says so)."""
        self._checking.add(operator)
        try:
            answer = await self.client.operator(operator)
        except (EdgeUnreachable, EdgeRefused):
            return  # asked again at the next redraw
        finally:
            self._checking.discard(operator)
        self.model.supervisors[operator] = bool(answer.get("supervisor"))
        self._redraw()

    # -- the screen ----------------------------------------------------------------------

    def flash(self, flash: Flash) -> None:
        """Show the outcome of a scan or an action; an error rings the bell."""
        with contextlib.suppress(NoMatches, IndexError):  # none while the kiosk is closing
            self.screen_stack[0].query_one(FeedbackFlash).show_flash(flash)
        if flash.bell:
            self.bell()

    def _redraw(self) -> None:
        main = self.screen_stack[0] if self.screen_stack else None
        if main is None or not main.is_mounted:
            return
        operator = self.model.operator
        if operator and operator not in self.model.supervisors and operator not in self._checking:
            self.check_operator(operator)
        try:
            # The main screen's widgets, whichever dialog is on top of it.
            main.query_one(StatusBar).show(self.model)
            main.query_one(LinkBanner).show(self.model)
            main.query_one(ExpectBanner).show(self.model)
            main.query_one(ContextLine).show(self.model)
            main.query_one(ActionLog).show(self.model)
        except NoMatches:
            return  # the kiosk is closing: its widgets are already gone

    # -- keys ----------------------------------------------------------------------------

    def action_help(self) -> None:
        """F1: the keys."""
        self._open(HelpScreen())

    def action_lookup(self) -> None:
        """F2: look up the next LP scanned."""
        self._open(LookupScreen())

    def action_conflicts(self) -> None:
        """F3: the station's conflicts and rejections."""
        self._open(ConflictsScreen())

    def _open(self, dialog: KioskDialog) -> None:
        """One dialog at a time from the keys: with one open, Escape closes it first."""
        if not isinstance(self.screen, KioskDialog):
            self.push_screen(dialog)

    async def action_quit(self) -> None:
        """F10, Ctrl+Q, Ctrl+C: quit; a locked kiosk asks for a supervisor or the key first."""
        if self.locked:
            if not isinstance(self.screen, UnlockScreen):
                self.push_screen(UnlockScreen())
            return
        self.exit()
