"""Keyboard layouts without X11: evdev key codes and modifier state to characters.

A keyboard-wedge scanner turns each character into the key press that types it on the
layout the *scanner* is set to, so the edge must read the codes back with that same layout.
Set one layout on the scanner and the other on the edge and "-" turns into "ß" (DE scanner,
US table): the classic wedge failure, so the layout is configured per scanner.

The tables come from the standard XKB symbols files (xkeyboard-config, `symbols/us`, `gb`,
`de`, `fr`, `tr`, and the `latin`, `latin(type4)`, `pc` and `kpdl(comma)` parts they include),
levels 1-3 (normal, Shift, AltGr), written here as data in the same layering XKB uses. Not
modelled: dead keys (None here, so a scanner that types one is refused with an unknown-key
mark, never guessed), the fourth level (Shift+AltGr), and NumLock off (the keypad always
types its digits, as a scanner that sends Alt codes expects).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from evdev import ecodes as e

LayoutName = Literal["us", "uk", "de", "fr", "tr"]
LAYOUTS: tuple[str, ...] = LayoutName.__args__  # type: ignore[attr-defined]

# One key: the character at level 1 (no modifier), 2 (Shift) and 3 (AltGr); None = nothing
# (a dead key, or no symbol at that level).
Levels = tuple[str | None, str | None, str | None]

_KEYPAD: dict[int, Levels] = {
    e.KEY_KP0: ("0", "0", "0"),
    e.KEY_KP1: ("1", "1", "1"),
    e.KEY_KP2: ("2", "2", "2"),
    e.KEY_KP3: ("3", "3", "3"),
    e.KEY_KP4: ("4", "4", "4"),
    e.KEY_KP5: ("5", "5", "5"),
    e.KEY_KP6: ("6", "6", "6"),
    e.KEY_KP7: ("7", "7", "7"),
    e.KEY_KP8: ("8", "8", "8"),
    e.KEY_KP9: ("9", "9", "9"),
    e.KEY_KPDOT: (".", ".", "."),
    e.KEY_KPPLUS: ("+", "+", "+"),
    e.KEY_KPMINUS: ("-", "-", "-"),
    e.KEY_KPASTERISK: ("*", "*", "*"),
    e.KEY_KPSLASH: ("/", "/", "/"),
    e.KEY_SPACE: (" ", " ", " "),
}

# symbols/us "basic" (+ pc's <LSGT>): no third level.
_US: dict[int, Levels] = {
    e.KEY_GRAVE: ("`", "~", None),
    e.KEY_1: ("1", "!", None),
    e.KEY_2: ("2", "@", None),
    e.KEY_3: ("3", "#", None),
    e.KEY_4: ("4", "$", None),
    e.KEY_5: ("5", "%", None),
    e.KEY_6: ("6", "^", None),
    e.KEY_7: ("7", "&", None),
    e.KEY_8: ("8", "*", None),
    e.KEY_9: ("9", "(", None),
    e.KEY_0: ("0", ")", None),
    e.KEY_MINUS: ("-", "_", None),
    e.KEY_EQUAL: ("=", "+", None),
    e.KEY_Q: ("q", "Q", None),
    e.KEY_W: ("w", "W", None),
    e.KEY_E: ("e", "E", None),
    e.KEY_R: ("r", "R", None),
    e.KEY_T: ("t", "T", None),
    e.KEY_Y: ("y", "Y", None),
    e.KEY_U: ("u", "U", None),
    e.KEY_I: ("i", "I", None),
    e.KEY_O: ("o", "O", None),
    e.KEY_P: ("p", "P", None),
    e.KEY_LEFTBRACE: ("[", "{", None),
    e.KEY_RIGHTBRACE: ("]", "}", None),
    e.KEY_A: ("a", "A", None),
    e.KEY_S: ("s", "S", None),
    e.KEY_D: ("d", "D", None),
    e.KEY_F: ("f", "F", None),
    e.KEY_G: ("g", "G", None),
    e.KEY_H: ("h", "H", None),
    e.KEY_J: ("j", "J", None),
    e.KEY_K: ("k", "K", None),
    e.KEY_L: ("l", "L", None),
    e.KEY_SEMICOLON: (";", ":", None),
    e.KEY_APOSTROPHE: ("'", '"', None),
    e.KEY_BACKSLASH: ("\\", "|", None),
    e.KEY_Z: ("z", "Z", None),
    e.KEY_X: ("x", "X", None),
    e.KEY_C: ("c", "C", None),
    e.KEY_V: ("v", "V", None),
    e.KEY_B: ("b", "B", None),
    e.KEY_N: ("n", "N", None),
    e.KEY_M: ("m", "M", None),
    e.KEY_COMMA: (",", "<", None),
    e.KEY_DOT: (".", ">", None),
    e.KEY_SLASH: ("/", "?", None),
    e.KEY_102ND: ("<", ">", None),
}

# symbols/latin "basic" (+ pc's <LSGT>): the base the European layouts below include.
_LATIN: dict[int, Levels] = {
    e.KEY_GRAVE: ("`", "~", "¬"),
    e.KEY_1: ("1", "!", "¹"),
    e.KEY_2: ("2", "@", "²"),
    e.KEY_3: ("3", "#", "³"),
    e.KEY_4: ("4", "$", "¼"),
    e.KEY_5: ("5", "%", "½"),
    e.KEY_6: ("6", "^", "¾"),
    e.KEY_7: ("7", "&", "{"),
    e.KEY_8: ("8", "*", "["),
    e.KEY_9: ("9", "(", "]"),
    e.KEY_0: ("0", ")", "}"),
    e.KEY_MINUS: ("-", "_", "\\"),
    e.KEY_EQUAL: ("=", "+", None),
    e.KEY_Q: ("q", "Q", "@"),
    e.KEY_W: ("w", "W", "ſ"),
    e.KEY_E: ("e", "E", "e"),
    e.KEY_R: ("r", "R", "¶"),
    e.KEY_T: ("t", "T", "ŧ"),
    e.KEY_Y: ("y", "Y", "←"),
    e.KEY_U: ("u", "U", "↓"),
    e.KEY_I: ("i", "I", "→"),
    e.KEY_O: ("o", "O", "ø"),
    e.KEY_P: ("p", "P", "þ"),
    e.KEY_LEFTBRACE: ("[", "{", None),
    e.KEY_RIGHTBRACE: ("]", "}", None),
    e.KEY_A: ("a", "A", "æ"),
    e.KEY_S: ("s", "S", "ß"),
    e.KEY_D: ("d", "D", "ð"),
    e.KEY_F: ("f", "F", "đ"),
    e.KEY_G: ("g", "G", "ŋ"),
    e.KEY_H: ("h", "H", "ħ"),
    e.KEY_J: ("j", "J", None),
    e.KEY_K: ("k", "K", "ĸ"),
    e.KEY_L: ("l", "L", "ł"),
    e.KEY_SEMICOLON: (";", ":", None),
    e.KEY_APOSTROPHE: ("'", '"', None),
    e.KEY_BACKSLASH: ("\\", "|", None),
    e.KEY_Z: ("z", "Z", "«"),
    e.KEY_X: ("x", "X", "»"),
    e.KEY_C: ("c", "C", "¢"),
    e.KEY_V: ("v", "V", "„"),
    e.KEY_B: ("b", "B", "“"),
    e.KEY_N: ("n", "N", "”"),
    e.KEY_M: ("m", "M", "µ"),
    e.KEY_COMMA: (",", "<", "•"),
    e.KEY_DOT: (".", ">", "·"),
    e.KEY_SLASH: ("/", "?", None),
    e.KEY_102ND: ("<", ">", "|"),
}

# symbols/gb "basic" = latin + these.
_GB: dict[int, Levels] = {
    e.KEY_2: ("2", '"', "²"),
    e.KEY_3: ("3", "£", "³"),
    e.KEY_4: ("4", "$", "€"),
    e.KEY_APOSTROPHE: ("'", "@", None),
    e.KEY_GRAVE: ("`", "¬", "|"),
    e.KEY_BACKSLASH: ("#", "~", None),
    e.KEY_102ND: ("\\", "|", "|"),
}

# symbols/latin "type4" = latin + these; symbols/de "basic" = type4 + _DE + kpdl(comma).
_TYPE4: dict[int, Levels] = {
    e.KEY_2: ("2", '"', "@"),
    e.KEY_6: ("6", "&", "¬"),
    e.KEY_7: ("7", "/", "{"),
    e.KEY_8: ("8", "(", "["),
    e.KEY_9: ("9", ")", "]"),
    e.KEY_0: ("0", "=", "}"),
    e.KEY_E: ("e", "E", "€"),
    e.KEY_COMMA: (",", ";", "•"),
    e.KEY_DOT: (".", ":", "·"),
    e.KEY_SLASH: ("-", "_", None),
}
_DE: dict[int, Levels] = {
    e.KEY_2: ("2", '"', "²"),
    e.KEY_3: ("3", "§", "³"),
    e.KEY_4: ("4", "$", "¼"),
    e.KEY_MINUS: ("ß", "?", "\\"),
    e.KEY_EQUAL: (None, None, None),  # dead acute / grave / cedilla
    e.KEY_E: ("e", "E", "€"),
    e.KEY_Y: ("z", "Z", "←"),
    e.KEY_LEFTBRACE: ("ü", "Ü", None),
    e.KEY_RIGHTBRACE: ("+", "*", "~"),
    e.KEY_S: ("s", "S", "ſ"),
    e.KEY_J: ("j", "J", None),
    e.KEY_SEMICOLON: ("ö", "Ö", None),
    e.KEY_APOSTROPHE: ("ä", "Ä", None),
    e.KEY_GRAVE: (None, "°", "′"),  # level 1 is dead circumflex
    e.KEY_BACKSLASH: ("#", "'", "’"),
    e.KEY_Z: ("y", "Y", "»"),
    e.KEY_X: ("x", "X", "«"),
    e.KEY_COMMA: (",", ";", "·"),
    e.KEY_DOT: (".", ":", "…"),
    e.KEY_SLASH: ("-", "_", "–"),
    e.KEY_102ND: ("<", ">", "|"),
}

# symbols/fr "basic" (AZERTY) = latin + these.
_FR: dict[int, Levels] = {
    e.KEY_1: ("&", "1", "¹"),
    e.KEY_2: ("é", "2", "~"),
    e.KEY_3: ('"', "3", "#"),
    e.KEY_4: ("'", "4", "{"),
    e.KEY_5: ("(", "5", "["),
    e.KEY_6: ("-", "6", "|"),
    e.KEY_7: ("è", "7", "`"),
    e.KEY_8: ("_", "8", "\\"),
    e.KEY_9: ("ç", "9", "^"),
    e.KEY_0: ("à", "0", "@"),
    e.KEY_MINUS: (")", "°", "]"),
    e.KEY_EQUAL: ("=", "+", "}"),
    e.KEY_Q: ("a", "A", "æ"),
    e.KEY_W: ("z", "Z", "«"),
    e.KEY_E: ("e", "E", "€"),
    e.KEY_LEFTBRACE: (None, None, None),  # dead circumflex / diaeresis
    e.KEY_RIGHTBRACE: ("$", "£", "¤"),
    e.KEY_A: ("q", "Q", "@"),
    e.KEY_SEMICOLON: ("m", "M", "µ"),
    e.KEY_APOSTROPHE: ("ù", "%", None),
    e.KEY_GRAVE: ("²", "~", "¬"),
    e.KEY_BACKSLASH: ("*", "µ", None),
    e.KEY_Z: ("w", "W", "ł"),
    e.KEY_M: (",", "?", None),
    e.KEY_COMMA: (";", ".", "•"),
    e.KEY_DOT: (":", "/", "·"),
    e.KEY_SLASH: ("!", "§", None),
}

# symbols/tr "basic" (Turkish Q) = latin + these + kpdl(comma).
_TR: dict[int, Levels] = {
    e.KEY_1: ("1", "!", ">"),
    e.KEY_2: ("2", "'", "£"),
    e.KEY_3: ("3", "^", "#"),
    e.KEY_4: ("4", "+", "$"),
    e.KEY_6: ("6", "&", "¾"),
    e.KEY_7: ("7", "/", "{"),
    e.KEY_8: ("8", "(", "["),
    e.KEY_9: ("9", ")", "]"),
    e.KEY_0: ("0", "=", "}"),
    e.KEY_MINUS: ("*", "?", "\\"),
    e.KEY_EQUAL: ("-", "_", "|"),
    e.KEY_W: ("w", "W", None),
    e.KEY_E: ("e", "E", "€"),
    e.KEY_T: ("t", "T", "₺"),
    e.KEY_U: ("u", "U", "û"),
    e.KEY_I: ("ı", "I", "î"),  # dotless ı; Caps Lock gives I
    e.KEY_O: ("o", "O", "ô"),
    e.KEY_P: ("p", "P", None),
    e.KEY_LEFTBRACE: ("ğ", "Ğ", None),
    e.KEY_RIGHTBRACE: ("ü", "Ü", "~"),
    e.KEY_A: ("a", "A", "â"),
    e.KEY_S: ("s", "S", "ß"),
    e.KEY_D: ("d", "D", None),
    e.KEY_F: ("f", "F", "ª"),
    e.KEY_G: ("g", "G", None),
    e.KEY_H: ("h", "H", None),
    e.KEY_K: ("k", "K", None),
    e.KEY_L: ("l", "L", None),
    e.KEY_SEMICOLON: ("ş", "Ş", "´"),
    e.KEY_APOSTROPHE: ("i", "İ", "'"),  # dotted i; Caps Lock gives İ
    e.KEY_GRAVE: ('"', "é", "<"),
    e.KEY_BACKSLASH: (",", ";", "`"),
    e.KEY_102ND: ("<", ">", "|"),
    e.KEY_COMMA: ("ö", "Ö", "×"),
    e.KEY_DOT: ("ç", "Ç", "·"),
    e.KEY_SLASH: (".", ":", None),
}

# kpdl(comma): the keypad's decimal key types a comma (German and Turkish layouts).
_KP_COMMA: dict[int, Levels] = {e.KEY_KPDOT: (",", ",", ",")}


@dataclass(frozen=True)
class Layout:
    """One keyboard layout: the characters each key types at each level."""

    name: str
    keys: Mapping[int, Levels]
    has_altgr: bool  # False: right Alt is a plain Alt (US)

    def char(self, code: int, *, shift: bool, caps: bool, altgr: bool) -> str | None:
        """The character ``code`` types with these modifiers, or None (no symbol, dead key)."""
        levels = self.keys.get(code)
        if levels is None:
            return None
        normal, shifted, third = levels
        if altgr and self.has_altgr:
            # Shift+AltGr is XKB's fourth level, which these tables leave out.
            return None if shift else third
        if caps and _alphabetic(normal, shifted):
            shift = not shift  # Caps Lock acts as Shift on letters only; both cancel out
        return shifted if shift else normal


def _alphabetic(normal: str | None, shifted: str | None) -> bool:
    """XKB's ALPHABETIC keys: a lower-case letter whose Shift level is an upper-case letter.

    Compared by case, not by str.upper(): Turkish i shifts to İ, ı to I.
    """
    return bool(normal and shifted and normal.islower() and shifted.isupper())


def _layer(*tables: Mapping[int, Levels]) -> Mapping[int, Levels]:
    merged: dict[int, Levels] = {}
    for table in tables:
        merged.update(table)
    return MappingProxyType(merged)


_TABLES: dict[str, Layout] = {
    "us": Layout("us", _layer(_KEYPAD, _US), has_altgr=False),
    "uk": Layout("uk", _layer(_KEYPAD, _LATIN, _GB), has_altgr=True),
    "de": Layout("de", _layer(_KEYPAD, _LATIN, _TYPE4, _DE, _KP_COMMA), has_altgr=True),
    "fr": Layout("fr", _layer(_KEYPAD, _LATIN, _FR), has_altgr=True),
    "tr": Layout("tr", _layer(_KEYPAD, _LATIN, _TR, _KP_COMMA), has_altgr=True),
}


def layout(name: str) -> Layout:
    """The layout called ``name`` (us, uk, de, fr, tr)."""
    try:
        return _TABLES[name]
    except KeyError as err:
        raise ValueError(f"unknown keyboard layout {name!r}; known: {', '.join(LAYOUTS)}") from err
