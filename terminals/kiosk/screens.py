"""The kiosk's dialogs: help, LP lookup, the station's conflicts, one conflict, unlock.

While a dialog is open its input line takes the scanner's keystrokes, so no scan is lost: a
dialog that asks for something (an LP to look up, a supervisor badge) takes that; every other
scan goes to the station exactly as on the main screen, and the dialog says so.
"""

import hmac
import re
from typing import Any, Protocol, runtime_checkable

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from terminals.kiosk.client import EdgeClient
from terminals.kiosk.errors import EdgeRefused, EdgeUnreachable
from terminals.kiosk.panels import stale_line
from terminals.kiosk.scan_line import ScanLine

# A prefixed scan (LOC:, OP:, CMD:, ...) is an instruction to the station, never an LP number.
PREFIXED = re.compile(r"^[A-Za-z]{2,6}:")
BADGE = "OP:"


@runtime_checkable
class KioskHost(Protocol):
    """What a dialog needs of the app it opens in: the edge client, the station, the ordered
    scan worker and the unlock key (the kiosk app provides them; dialogs never import it)."""

    client: EdgeClient
    station_name: str
    unlock_key: str | None

    def submit_scan(self, value: str) -> None: ...


class KioskDialog(ModalScreen[None]):
    """A dialog with its own scan line; Escape closes it."""

    # Priority, like the kiosk's F-keys: the dialog closes before the keys typed after
    # Escape are handed on, so they reach the main scan line instead of a closing dialog.
    BINDINGS = [Binding("escape", "close", "Close", priority=True)]
    TITLE_TEXT = ""

    @property
    def kiosk(self) -> KioskHost:
        """The kiosk app (its client, its station, its ordered scan worker)."""
        assert isinstance(self.app, KioskHost)
        return self.app

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.TITLE_TEXT, style="bold"), classes="dialog-title")
            yield from self.compose_body()
            yield Static("", id="dialog-note", classes="dialog-note")
            yield ScanLine(placeholder="scan here", id="dialog-scan")

    def compose_body(self) -> ComposeResult:
        """The dialog's own content."""
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#dialog-scan", ScanLine).focus()

    def on_key(self, event: events.Key) -> None:
        """Keys typed before the scan line had the focus (the dialog just opened) reach the
        dialog itself: they go into the line, in order, not lost."""
        if self.focused is not None or (event.key != "enter" and not event.is_printable):
            return  # a focused widget's own key (the unlock key's Enter, say): not ours
        event.stop()
        line = self.query_one("#dialog-scan", ScanLine)
        line.focus()
        if event.key == "enter":
            line.end_scan()
        elif event.character:
            line.insert_text_at_cursor(event.character)

    def action_close(self) -> None:
        """Close the dialog; the main scan line has the focus again."""
        self.dismiss(None)

    def note(self, message: str, *, error: bool = False) -> None:
        """Say something in the dialog (an error rings the bell too)."""
        style = "bold white on red" if error else "bold"
        self.query_one("#dialog-note", Static).update(Text(message, style=style))
        if error:
            self.app.bell()

    @on(ScanLine.Scanned, "#dialog-scan")
    async def _scanned(self, event: ScanLine.Scanned) -> None:
        value = event.value
        if not await self.take_scan(value):
            self.kiosk.submit_scan(value)
            self.note(f"{value} went to the station as a scan (this dialog did not use it)")

    async def take_scan(self, value: str) -> bool:
        """Use a scan in the dialog; False hands it to the station."""
        return False


class HelpScreen(KioskDialog):
    """The keys and what the screen shows."""

    TITLE_TEXT = "HELP"

    def compose_body(self) -> ComposeResult:
        yield Static(
            "Scan as usual: every scan goes to the station, which decides the next step.\n"
            "F1 help   F2 look up the next LP scanned   F3 this station's conflicts\n"
            "F4 cancel the unfinished sequence   F5 done   F6 sign out   F10 quit\n"
            "Escape closes a dialog. Badges (OP:...) sign in at the station.\n"
            "SAVED = on this edge's disk, SENT = on its way to central,\n"
            "APPLIED = central applied it; CONFLICT / REJECTED need a supervisor (F3):\n"
            "in a conflict, F7 applies it as recorded and F8 voids it, with a supervisor badge."
        )


class LookupScreen(KioskDialog):
    """The next LP scanned, from the edge's cache with its pending changes and stale mark."""

    TITLE_TEXT = "LOOK UP AN LP: scan it"

    def __init__(self) -> None:
        super().__init__()
        self.looked_up = False

    def compose_body(self) -> ComposeResult:
        yield Static("scan or type the LP number", id="lookup-result")

    async def take_scan(self, value: str) -> bool:
        if self.looked_up or PREFIXED.match(value):
            return False
        self.looked_up = True
        result = self.query_one("#lookup-result", Static)
        try:
            answer = await self.kiosk.client.lookup_lp(value)
        except EdgeUnreachable:
            self.note("the edge is unreachable: nothing can be looked up now", error=True)
            return True
        except EdgeRefused as err:
            result.update(Text(f"NOT FOUND {err.code}: {err.message}", style="bold"))
            self.app.bell()
            return True
        result.update(lookup_text(answer))
        self.note("further scans go to the station; Escape closes")
        return True


def lookup_text(answer: dict[str, Any]) -> Text:
    """An LP lookup answer: its fields, pending local changes, and whether it may be stale."""
    data = answer.get("data") or {}
    text = Text()
    text.append(f"LP {data.get('number', answer.get('key'))}\n", style="bold")
    for key in ("product", "lot", "qty", "uom", "location", "status", "parent", "expiry"):
        if data.get(key) is not None:
            text.append(f"  {key} {data[key]}\n")
    if answer.get("pending"):
        count = len(answer.get("pending_actions") or [])
        text.append(
            f"PENDING: {count} action(s) of this edge not yet applied by central are included\n",
            style="bold black on cyan",
        )
    stale = stale_line(answer)  # the lookup answers stale, stale_reasons, stale_since too
    if stale is not None:
        text.append(f"STALE: {stale}", style="bold black on yellow")
    else:
        text.append(f"current as of {answer.get('as_of')}", style="green")
    return text


class ConflictsScreen(KioskDialog):
    """The station's actions central could not apply; Enter opens one.

    The scan line keeps the focus (a badge or a scan typed here is never swallowed by the
    table): Up and Down choose a row, Enter on the empty line opens it."""

    BINDINGS = [
        *KioskDialog.BINDINGS,
        Binding("up", "row(-1)", "Previous", show=False),
        Binding("down", "row(1)", "Next", show=False),
    ]

    TITLE_TEXT = "CONFLICTS AND REJECTIONS of this station (Enter opens one)"

    def compose_body(self) -> ComposeResult:
        table: DataTable[str] = DataTable(id="conflicts", cursor_type="row", zebra_stripes=True)
        yield table

    def on_mount(self) -> None:
        table = self.query_one("#conflicts", DataTable)
        table.add_columns("state", "code", "action", "when", "resolution")
        self.rows: dict[str, dict[str, Any]] = {}
        self.load()
        super().on_mount()

    @work(exclusive=True, group="conflicts")
    async def load(self) -> None:
        """Read the station's conflicts from the edge's own queue (works offline)."""
        table = self.query_one("#conflicts", DataTable)
        try:
            answer = await self.kiosk.client.conflicts(self.kiosk.station_name)
        except EdgeUnreachable:
            self.note("the edge is unreachable: conflicts cannot be read now", error=True)
            return
        except EdgeRefused as err:
            self.note(f"REFUSED {err.code}: {err.message}", error=True)
            return
        table.clear()
        self.rows = {}
        for item in answer.get("conflicts") or []:
            key = str(item.get("action_id"))
            self.rows[key] = item
            resolution = item.get("resolution") or {}
            table.add_row(
                str(item.get("state", "")).upper(),
                str(item.get("code") or ""),
                f"{item.get('type')}: {item.get('message') or ''}",
                str(item.get("ts") or "")[11:19],
                str(resolution.get("resolution") or "open").upper(),
                key=key,
            )
        if not self.rows:
            self.note("no conflicts or rejections at this station")
        else:
            self.note("Up/Down choose, Enter opens; scans go to the station as usual")

    def action_row(self, step: int) -> None:
        """Up/Down: the row Enter opens."""
        table = self.query_one("#conflicts", DataTable)
        table.move_cursor(row=max(0, table.cursor_row + step))

    @on(ScanLine.Blank, "#dialog-scan")
    def _open_highlighted(self) -> None:
        table = self.query_one("#conflicts", DataTable)
        if table.row_count:
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            item = self.rows.get(str(row_key.value))
            if item is not None:
                self.app.push_screen(ConflictScreen(item))

    @on(DataTable.RowSelected, "#conflicts")
    def _open(self, event: DataTable.RowSelected) -> None:
        item = self.rows.get(str(event.row_key.value))
        if item is not None:
            self.app.push_screen(ConflictScreen(item))


class ConflictScreen(KioskDialog):
    """One conflict: why, central's view, and a supervisor's resolution (F7 apply, F8 void)."""

    TITLE_TEXT = "CONFLICT"
    BINDINGS = [
        Binding("escape", "close", "Close", priority=True),
        # Function keys: letters would go into the scan line that has the focus.
        Binding("f7", "resolve('apply')", "Apply"),
        Binding("f8", "resolve('void')", "Void"),
    ]

    def __init__(self, item: dict[str, Any]) -> None:
        super().__init__()
        self.item = item
        self.resolution: str | None = None

    def compose_body(self) -> ComposeResult:
        item = self.item
        text = Text()
        text.append(f"{str(item.get('state', '')).upper()} {item.get('code') or ''}\n", "bold")
        text.append(f"{item.get('message') or ''}\n")
        text.append(f"action {item.get('type')} {item.get('action_id')} at {item.get('ts')}\n")
        if item.get("resolution"):
            done = item["resolution"]
            text.append(f"RESOLVED: {done.get('resolution')} by {done.get('by')}\n", "bold")
        yield Static(text, id="conflict-why")
        yield Static("", id="conflict-central")
        yield Static(
            "F7 apply it as recorded, F8 void it: then scan a supervisor badge", id="conflict-keys"
        )

    def on_mount(self) -> None:
        super().on_mount()
        if self.item.get("conflict_id") is not None:
            self.fetch()
        else:
            self.query_one("#conflict-central", Static).update(
                "rejected envelopes have no conflict at central to resolve"
            )

    @work(exclusive=True, group="conflict")
    async def fetch(self) -> None:
        """Central's view of the conflict, through the edge (needs central online)."""
        shown = self.query_one("#conflict-central", Static)
        try:
            answer = await self.kiosk.client.conflict(self.item["conflict_id"])
        except EdgeUnreachable:
            shown.update("the edge is unreachable")
            return
        except EdgeRefused as err:
            shown.update(Text(f"central's view: {err.code}: {err.message}", style="bold"))
            return
        central = answer.get("central") or {}
        shown.update(
            Text(
                f"at central: {str(central.get('status', '')).upper()} "
                f"{central.get('code') or ''} {central.get('message') or ''}"
            )
        )

    def action_resolve(self, resolution: str) -> None:
        """Choose apply or void; a supervisor badge then confirms it."""
        if self.item.get("conflict_id") is None:
            self.note("nothing to resolve at central for this one", error=True)
            return
        self.resolution = resolution
        self.note(f"{resolution.upper()}: scan a supervisor badge (OP:...) to confirm")

    async def take_scan(self, value: str) -> bool:
        if not value.upper().startswith(BADGE) or self.resolution is None:
            return False
        supervisor = value[len(BADGE) :]
        try:
            answer = await self.kiosk.client.resolve(
                self.item["conflict_id"],
                supervisor,
                self.resolution,
                f"{self.resolution} chosen at the kiosk",
            )
        except EdgeUnreachable:
            self.note("the edge is unreachable: nothing was resolved", error=True)
            return True
        except EdgeRefused as err:
            self.note(f"REFUSED {err.code}: {err.message}", error=True)
            return True
        central = answer.get("central") or {}
        conflict = central.get("conflict") or {}
        status = str(conflict.get("status") or "").upper()
        self.note(f"RESOLVED: {self.resolution} by {supervisor}; at central now {status}")
        self.query_one("#conflict-central", Static).update(
            Text(f"at central: {status} {central.get('code') or ''}".rstrip())
        )
        self.resolution = None
        return True


class UnlockScreen(KioskDialog):
    """Quitting a locked kiosk: a supervisor badge scanned, or the unlock key typed, into one
    masked field. Nothing entered here ever goes to the station: a key typed there would be
    saved as a scan (and sent to central) if it did."""

    TITLE_TEXT = "LOCKED: scan a supervisor badge to quit"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.TITLE_TEXT, style="bold"), classes="dialog-title")
            if self.kiosk.unlock_key:
                yield Static("or type the unlock key and press Enter")
            yield Static(
                "Escape goes back to the station; scans made here are not sent to it.",
                classes="dialog-note",
            )
            yield Static("", id="dialog-note", classes="dialog-note")
            yield ScanLine(placeholder="badge or key", password=True, id="dialog-scan")

    async def take_scan(self, value: str) -> bool:
        """Every entry is a badge or a key (True: neither ever reaches the station)."""
        if not value.upper().startswith(BADGE):
            key = self.kiosk.unlock_key or ""
            if key and hmac.compare_digest(value.encode(), key.encode()):
                self.app.exit()
            elif key:
                self.note("not a supervisor badge nor the unlock key: still locked", error=True)
            else:
                self.note("not a badge (OP:...): the kiosk stays locked", error=True)
            return True
        badge = value[len(BADGE) :]
        try:
            answer = await self.kiosk.client.operator(badge)
        except (EdgeUnreachable, EdgeRefused) as err:
            self.note(f"the badge cannot be checked ({err}): the kiosk stays locked", error=True)
            return True
        if answer.get("supervisor"):
            self.app.exit()
        else:
            self.note(f"{badge} is not a supervisor: the kiosk stays locked", error=True)
        return True
