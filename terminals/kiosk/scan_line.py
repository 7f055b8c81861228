"""The kiosk's scan line: an Input that ends a scan exactly at each Enter.

A keyboard-wedge scanner types a scan and Enter within milliseconds, and the next scan right
after. Textual's Input leaves Enter to a binding that runs when the key has bubbled up to the
app, by which time the following characters are already in the line: two scans would merge.
Here Enter is taken in the line's own key handler, in the order the keys came, so each scan
is cut where the scanner ended it, whatever the timing. A pasted block of lines (a browser
pasting through the served kiosk) is one scan per line the same way.
"""

from textual import events
from textual.message import Message
from textual.widgets import Input


class ScanLine(Input):
    """A line that posts :class:`ScanLine.Scanned` for each scan ended by Enter."""

    class Scanned(Message):
        """One scan as typed up to its Enter (stripped; never empty)."""

        def __init__(self, line: "ScanLine", value: str) -> None:
            super().__init__()
            self.line = line
            self.value = value

        @property
        def control(self) -> "ScanLine":
            """The line the scan was typed into (so ``@on(ScanLine.Scanned, "#id")`` works)."""
            return self.line

    # Textual calls the handlers of each class in the MRO (Input's after these) unless
    # prevent_default(): what these take is not handled again by Input.
    class Blank(Message):
        """Enter with nothing typed (a dialog may take it to open what is highlighted)."""

        def __init__(self, line: "ScanLine") -> None:
            super().__init__()
            self.line = line

        @property
        def control(self) -> "ScanLine":
            """The line Enter was pressed in."""
            return self.line

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            # Taken here, before the next key is handled: the scan ends at this Enter.
            event.stop()
            event.prevent_default()
            self.end_scan()

    def _on_paste(self, event: events.Paste) -> None:
        """Each pasted line that ends in a newline is a scan; a last partial line stays typed."""
        event.stop()
        event.prevent_default()
        lines = event.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for index, line in enumerate(lines):
            if line:
                self.insert_text_at_cursor(line)
            if index < len(lines) - 1:
                self.end_scan()

    def end_scan(self) -> None:
        """The scan typed so far is done: posted, and the line cleared for the next."""
        value, self.value = self.value.strip(), ""
        self.post_message(self.Scanned(self, value) if value else self.Blank(self))
