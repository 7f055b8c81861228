"""What every job panel shares: the panel base, read-only tables and lines, tones."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.text import Text
from textual.widget import Widget
from textual.widgets import DataTable, Label

Job = dict[str, Any]

ZERO = Decimal(0)

# Colours for table cells (Rich styles; the words carry the meaning on their own).
OK = "bold green"
WARN = "bold yellow"
BAD = "bold red"


def cell(text: object, style: str = "") -> Text:
    """A table cell shown as written (never read as markup)."""
    return Text("" if text is None else str(text), style=style)


def read_only_table(id: str, columns: tuple[str, ...], cursor: bool = False) -> DataTable[Text]:
    """A read-only table: it never takes the focus from the kiosk's scan input."""
    table: DataTable[Text] = DataTable(id=id, cursor_type="row" if cursor else "none")
    table.can_focus = False
    table.add_columns(*columns)
    return table


def plain_label(classes: str = "", id: str | None = None) -> Label:
    """A line of text that is never read as markup (LP numbers may hold brackets)."""
    return Label("", classes=classes, id=id, markup=False)


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
    KindPanel .caption { width: auto; }
    JobPanel.-compact KindPanel .figures { layout: horizontal; }
    JobPanel.-compact KindPanel .figures > * { margin-right: 2; }
    JobPanel.-wide KindPanel .body { layout: horizontal; }
    JobPanel.-wide KindPanel .figures { width: 1fr; height: 1fr; }
    /* Short and wide: the caption wraps in what the figure leaves, never clipping the figure. */
    JobPanel.-wide.-compact KindPanel .figures > .caption { width: 1fr; }
    JobPanel.-wide KindPanel .details { width: 2fr; margin-left: 2; }
    """

    def show(self, job: Job) -> None:
        """Show this job's totals."""
        raise NotImplementedError


def set_line(line: Label, text: str, tone: str | None) -> None:
    """Set a line's text and its tone class (-ok, -warn, -bad) at once."""
    line.update(text)
    for name in ("-ok", "-warn", "-bad"):
        line.set_class(tone == name, name)
