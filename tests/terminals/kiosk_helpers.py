"""Driving the kiosk in tests: scanning as a keyboard wedge does, waiting on what it shows."""

import asyncio
from collections.abc import Callable

from rich.text import Text
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Static


def shown(widget: Widget) -> str:
    """The text a widget shows (its content, without styles)."""
    assert isinstance(widget, Static)
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


async def scan(pilot: Pilot[None], data: str, selector: str = "#scan") -> None:
    """A scan as a wedge scanner sends it: the characters into the focused line, then Enter."""
    line = pilot.app.screen.query_one(selector, Input)
    assert line.has_focus, f"{selector} should have the focus for the scanner"
    line.value = data
    await pilot.press("enter")


def burst(pilot: Pilot[None], *parts: str) -> None:
    """Keys as a wedge scanner types them, all at once: each character and each Enter
    (``\n``) goes to the app the way the terminal driver hands it keys, without waiting for
    the app to handle one before the next (``pilot.press`` waits, which hides merged scans).
    A part such as ``<f2>`` or ``<escape>`` is that key."""
    driver = pilot.app._driver
    assert driver is not None
    keys: list[tuple[str, str | None]] = []
    for part in parts:
        if part.startswith("<") and part.endswith(">"):
            keys.append((part[1:-1], None))
            continue
        for char in part:
            if char == "\n":
                keys.append(("enter", "\r"))
            else:
                keys.append((char if char.isalnum() else _character_to_key(char), char))
    for key, character in keys:
        event = events.Key(key, character)
        event.set_sender(pilot.app)
        driver.send_message(event)


async def until(
    pilot: Pilot[None], check: Callable[[], object], what: str, timeout: float = 20.0
) -> None:
    """Let the app run until ``check()`` is true; fail naming ``what``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.05)
