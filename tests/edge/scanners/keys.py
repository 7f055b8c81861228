"""Key events as a USB keyboard-wedge scanner sends them, built from evdev's own types.

A real keyboard reports each key as MSC_SCAN (the HID usage), then EV_KEY, then SYN_REPORT;
these helpers write the same sequences, so the decoder sees what a scanner produces.
"""

import struct
from collections.abc import Iterable, Sequence

from evdev import InputEvent
from evdev import ecodes as e

SHIFT = e.KEY_LEFTSHIFT
ALTGR = e.KEY_RIGHTALT
ALT = e.KEY_LEFTALT
CTRL = e.KEY_LEFTCTRL

_clock = [1_764_600_000, 0]


def _event(type_: int, code: int, value: int) -> InputEvent:
    _clock[1] = (_clock[1] + 1000) % 1_000_000
    return InputEvent(_clock[0], _clock[1], type_, code, value)


def key(code: int, value: int) -> list[InputEvent]:
    """One key transition (1 down, 0 up, 2 repeat) with its MSC_SCAN and SYN_REPORT."""
    return [
        _event(e.EV_MSC, e.MSC_SCAN, 0x70000 + code),
        _event(e.EV_KEY, code, value),
        _event(e.EV_SYN, e.SYN_REPORT, 0),
    ]


def tap(code: int, *held: int) -> list[InputEvent]:
    """Press and release ``code`` while the modifiers ``held`` are down."""
    events: list[InputEvent] = []
    for modifier in held:
        events += key(modifier, 1)
    events += key(code, 1) + key(code, 0)
    for modifier in reversed(held):
        events += key(modifier, 0)
    return events


def taps(*steps: int | Sequence[int]) -> list[InputEvent]:
    """A sequence of taps: a key code, or (modifier, ..., key) held together."""
    events: list[InputEvent] = []
    for step in steps:
        if isinstance(step, int):
            events += tap(step)
        else:
            *held, code = step
            events += tap(code, *held)
    return events


def digits(text: str, *held: int) -> list[InputEvent]:
    """Digits typed on the main row (``held``: Shift on AZERTY)."""
    return [ev for ch in text for ev in tap(getattr(e, f"KEY_{ch}"), *held)]


def alt_code(number: str) -> list[InputEvent]:
    """Windows Alt code: left Alt held while the number is typed on the keypad."""
    events = key(ALT, 1)
    for ch in number:
        events += tap(getattr(e, f"KEY_KP{ch}"))
    return events + key(ALT, 0)


def enter() -> list[InputEvent]:
    """The usual scan terminator."""
    return tap(e.KEY_ENTER)


def packed(events: Iterable[InputEvent]) -> bytes:
    """``struct input_event`` bytes (64-bit timeval), as the kernel hands them to read()."""
    return b"".join(
        struct.pack("llHHi", ev.sec, ev.usec, ev.type, ev.code, ev.value) for ev in events
    )
