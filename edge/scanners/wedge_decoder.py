"""Key events of a keyboard-wedge scanner -> whole scans: a pure state machine, no I/O.

Fed `evdev.InputEvent` objects one at a time (EV_KEY: 1 down, 0 up, 2 repeat; every other
event type is ignored), it tracks the modifiers itself (the device is grabbed, so no console
does it for us) and yields a `RawScan` when the terminator key comes.

``RawScan.raw`` is the scan as typed, UTF-8: the characters the keys made (a substitute GS
character as typed, an Alt code as the character it makes), keys that make no character as
``<KEY_NAME>``, and the terminator as "\\r" (Enter) or "\\t" (Tab). ``data`` is the text with
every GS spelling turned into "\\x1d" and each key this layout cannot read as U+FFFD, so the
barcode decoder refuses the scan with a reason instead of acting on a guess.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from evdev import ecodes as e

from edge.scanners.base import RawScan
from edge.scanners.keymaps import Layout

GS = "\x1d"
UNKNOWN = "\ufffd"

Terminator = Literal["enter", "tab"]
TERMINATOR_KEYS: dict[str, frozenset[int]] = {
    "enter": frozenset({e.KEY_ENTER, e.KEY_KPENTER}),
    "tab": frozenset({e.KEY_TAB}),
}
_TERMINATOR_RAW = {e.KEY_ENTER: "\r", e.KEY_KPENTER: "\r", e.KEY_TAB: "\t"}

# Modifier keys by role; right Alt is AltGr on layouts that have one.
_MODIFIERS: dict[int, str] = {
    e.KEY_LEFTSHIFT: "shift",
    e.KEY_RIGHTSHIFT: "shift",
    e.KEY_LEFTCTRL: "ctrl",
    e.KEY_RIGHTCTRL: "ctrl",
    e.KEY_LEFTALT: "alt",
    e.KEY_RIGHTALT: "altgr",
    e.KEY_LEFTMETA: "meta",
    e.KEY_RIGHTMETA: "meta",
}
MODIFIER_NAMES = frozenset({"shift", "ctrl", "alt", "altgr"})
# Lock keys: Caps Lock is tracked; NumLock is assumed on (see keymaps); Scroll Lock is inert.
_IGNORED = frozenset({e.KEY_NUMLOCK, e.KEY_SCROLLLOCK})
_KEYPAD_DIGITS: dict[int, str] = {getattr(e, f"KEY_KP{digit}"): str(digit) for digit in range(10)}
# Ctrl+<char> gives the ASCII control code (Ctrl+] = GS = 29), for these characters.
_CTRL_CHARS = frozenset("@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_")


@dataclass(frozen=True)
class KeyCombo:
    """A key pressed while exactly these modifiers are held (e.g. F8, or Ctrl+])."""

    key: int
    modifiers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class GsSetting:
    """How this scanner types the GS1 group separator, besides Alt+0029 and Ctrl+].

    ``spec`` as in edge.toml: "alt-code" (nothing more), "key:KEY_F8" or
    "key:KEY_LEFTCTRL+KEY_RIGHTBRACE" (a key, with modifiers), "substitute:|" (a character
    the scanner types in its place; that character then always means GS for this scanner).
    """

    key: KeyCombo | None = None
    substitute: str | None = None

    @classmethod
    def parse(cls, spec: str) -> "GsSetting":
        """The setting ``spec`` names, or ValueError saying what is accepted."""
        if spec == "alt-code":
            return cls()
        if spec.startswith("substitute:"):
            char = spec.removeprefix("substitute:")
            if len(char) != 1 or not char.isprintable() or char == " ":
                raise ValueError(
                    f"gs = {spec!r}: the substitute must be one printable character, "
                    "such as 'substitute:|'"
                )
            return cls(substitute=char)
        if spec.startswith("key:"):
            return cls(key=_parse_combo(spec.removeprefix("key:"), spec))
        raise ValueError(
            f"gs = {spec!r} is not understood; use 'alt-code', 'key:KEY_F8' "
            "(evdev key names, modifiers joined with '+'), or 'substitute:|'"
        )


def _parse_combo(text: str, spec: str) -> KeyCombo:
    names = [name.strip().upper() for name in text.split("+")]
    codes = []
    for name in names:
        code = e.ecodes.get(name if name.startswith("KEY_") else f"KEY_{name}")
        if not isinstance(code, int) or code not in e.KEY:
            raise ValueError(
                f"gs = {spec!r}: {name!r} is not an evdev key name (such as KEY_F8; "
                "`python -m evdev.evtest` shows the names a device sends)"
            )
        codes.append(code)
    *modifier_codes, key = codes
    if key in _MODIFIERS or any(code not in _MODIFIERS for code in modifier_codes):
        raise ValueError(
            f"gs = {spec!r}: write the modifiers first and one ordinary key last, "
            "such as 'key:KEY_LEFTCTRL+KEY_RIGHTBRACE'"
        )
    return KeyCombo(key, frozenset(_MODIFIERS[code] for code in modifier_codes))


class KeyDecoder:
    """Turns one scanner's key events into whole scans, with that scanner's layout."""

    def __init__(
        self,
        layout: Layout,
        *,
        terminator: Terminator = "enter",
        gs: GsSetting | None = None,
    ) -> None:
        self.layout = layout
        self.terminators = TERMINATOR_KEYS[terminator]
        self.gs = gs or GsSetting()
        self.unknown_keys = 0  # keys read that this layout cannot turn into a character
        self.dropped_repeats = 0
        self._held: dict[int, str] = {}
        self._caps = False
        self._data: list[str] = []
        self._raw: list[str] = []
        self._alt_digits = ""

    def reset(self) -> None:
        """Forget the scan in progress and every held key (the device went away mid-scan)."""
        self._held.clear()
        self._caps = False
        self._data.clear()
        self._raw.clear()
        self._alt_digits = ""

    def feed_all(self, events: Iterable[Any]) -> list[RawScan]:
        """Every scan these events complete, in order."""
        return [scan for event in events if (scan := self.feed(event)) is not None]

    def feed(self, event: Any) -> RawScan | None:
        """The scan this event completes, if it is a terminator ending a non-empty scan."""
        if event.type != e.EV_KEY:
            return None
        code, value = event.code, event.value
        if code in _MODIFIERS:
            self._modifier(code, value)
            return None
        if code == e.KEY_CAPSLOCK:
            if value == 1:
                self._caps = not self._caps
            return None
        if value != 1 or code in _IGNORED:
            # A scanner never holds a key down; a repeat is the kernel's soft autorepeat
            # after a late key-up (a busy USB hub), and typing it would double a digit.
            if value == 2:
                self.dropped_repeats += 1
            return None
        return self._press(code)

    def _modifier(self, code: int, value: int) -> None:
        if value:
            self._held[code] = _MODIFIERS[code]
            return
        was_alt = code in self._held and self._alt_role(code) == "alt"
        self._held.pop(code, None)
        if was_alt and self._alt_digits and not self._alt_held():
            self._alt_code()

    def _press(self, code: int) -> RawScan | None:
        roles = frozenset(self._held.values()) - {"meta"}
        if self.gs.key is not None and (code, roles) == (self.gs.key.key, self.gs.key.modifiers):
            self._add(GS, f"<{_key_name(code)}>")
            return None
        if code in self.terminators:
            return self._finish(code)
        if self._alt_held() and code in _KEYPAD_DIGITS:
            self._alt_digits += _KEYPAD_DIGITS[code]  # Windows Alt code: typed on Alt release
            return None
        shift = "shift" in roles
        altgr = "altgr" in roles and self.layout.has_altgr
        char = self.layout.char(code, shift=shift, caps=self._caps, altgr=altgr)
        if "ctrl" in roles:
            if char is not None and char.upper() in _CTRL_CHARS and not self._alt_held():
                control = chr(ord(char.upper()) & 0x1F)
                self._add(control, control)
            else:
                self._unknown(code)
            return None
        if char is None or self._alt_held():
            self._unknown(code)  # no symbol, a dead key, or an Alt shortcut: not scan data
            return None
        data = GS if char == self.gs.substitute else char
        self._add(data, char)
        return None

    def _finish(self, code: int) -> RawScan | None:
        self._alt_digits = ""
        if not self._data:
            return None  # a bare terminator is no scan
        raw = "".join(self._raw) + _TERMINATOR_RAW.get(code, "")
        scan = RawScan(data="".join(self._data), raw=raw.encode("utf-8"))
        self._data.clear()
        self._raw.clear()
        return scan

    def _alt_role(self, code: int) -> str:
        # On a layout without AltGr (US), right Alt is an Alt like the left one.
        return "alt" if code == e.KEY_RIGHTALT and not self.layout.has_altgr else _MODIFIERS[code]

    def _alt_held(self) -> bool:
        return any(self._alt_role(code) == "alt" for code in self._held)

    def _alt_code(self) -> None:
        """Alt + keypad digits, as Windows reads them: 0nnn is cp1252, nnn is cp437.

        Control codes (below 32, and 127) are the ASCII ones either way, so Alt+0029 and
        Alt+29 are both GS; above 255 the number is taken as a Unicode code point.
        """
        digits, self._alt_digits = self._alt_digits, ""
        number = int(digits)
        if number < 32 or number == 127 or number > 255:
            char = chr(number) if number <= 0x10FFFF else UNKNOWN
        else:
            encoding = "cp1252" if digits.startswith("0") else "cp437"
            char = bytes([number]).decode(encoding, errors="replace")
        if char == UNKNOWN:
            self.unknown_keys += 1
        self._add(char, char if char != UNKNOWN else f"<ALT+{digits}>")

    def _unknown(self, code: int) -> None:
        self.unknown_keys += 1
        self._add(UNKNOWN, f"<{_key_name(code)}>")

    def _add(self, data: str, raw: str) -> None:
        self._data.append(data)
        self._raw.append(raw)


def _key_name(code: int) -> str:
    """evdev's name for a key code (the first, where several share a code)."""
    name = e.KEY.get(code)
    if isinstance(name, tuple | list):
        name = name[0]
    return name if isinstance(name, str) else f"KEY_{code}"
