"""Large figures for the job panels: 3-row Digits where there is room, bold text where not.

An ancestor with the class `-compact` (the job panel sets it when it is short) turns every
figure into a one-line bold label, so the same panel stays readable at 80x24.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Digits, Label, Static

# A slash as tall as Digits' 3x3 glyphs (Digits itself draws "/" on its bottom row only).
_TALL_SLASH = "  ╱\n ╱ \n╱  "


def decimal_or_none(value: object) -> Decimal | None:
    """The edge's decimal string as a Decimal; None when absent or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def plain(number: Decimal) -> str:
    """A Decimal written without exponent or trailing zeros ("1.50" -> "1.5", "2E+1" -> "20")."""
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def signed(number: Decimal) -> str:
    """A variance with its sign always written: "+2", "-1.5", "0"."""
    text = plain(number)
    return text if number <= 0 else f"+{text}"


class Figure(Widget):
    """One number in large type: Digits, or a bold label when the panel is compact."""

    # Unscoped: the compact rules name an ancestor (the job panel), not the figure itself.
    SCOPED_CSS = False
    DEFAULT_CSS = """
    Figure { height: auto; width: auto; }
    Figure > Digits { width: auto; }
    Figure > .plain { display: none; width: auto; text-style: bold; }
    .-compact Figure > Digits { display: none; }
    .-compact Figure > .plain { display: block; }
    """

    def __init__(self, value: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._value = value

    @property
    def value(self) -> str:
        """What the figure shows."""
        return self._value

    def compose(self) -> ComposeResult:
        yield Digits(self._value)
        yield Label(self._value, classes="plain")

    def update(self, value: str) -> None:
        """Show another value (in place: nothing is remounted)."""
        if value == self._value:
            return
        self._value = value
        if self.is_mounted:
            self.query_one(Digits).update(value)
            self.query_one(".plain", Label).update(value)

    def on_mount(self) -> None:
        """Catch up with an update made between compose and mount."""
        self.query_one(Digits).update(self._value)
        self.query_one(".plain", Label).update(self._value)


class Ratio(Widget):
    """`done / of` in large type: two Digits and a tall slash, or "12 / 40" when compact."""

    SCOPED_CSS = False
    DEFAULT_CSS = """
    Ratio { layout: horizontal; height: auto; width: auto; }
    Ratio > Digits { width: auto; }
    Ratio > .slash { width: 3; height: 3; margin: 0 1; }
    Ratio > .plain { display: none; width: auto; text-style: bold; }
    .-compact Ratio > Digits, .-compact Ratio > .slash { display: none; }
    .-compact Ratio > .plain { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._done = ""
        self._of = ""

    @property
    def value(self) -> tuple[str, str]:
        """The two numbers shown: (done, of)."""
        return self._done, self._of

    def compose(self) -> ComposeResult:
        yield Digits(self._done, classes="done")
        yield Static(_TALL_SLASH, classes="slash")
        yield Digits(self._of, classes="of")
        yield Label(f"{self._done} / {self._of}", classes="plain")

    def update(self, done: str, of: str) -> None:
        """Show other numbers (in place)."""
        self._done, self._of = done, of
        if self.is_mounted:
            self._paint()

    def on_mount(self) -> None:
        """Catch up with an update made between compose and mount."""
        self._paint()

    def _paint(self) -> None:
        self.query_one(".done", Digits).update(self._done)
        self.query_one(".of", Digits).update(self._of)
        self.query_one(".plain", Label).update(f"{self._done} / {self._of}")
