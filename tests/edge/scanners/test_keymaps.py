"""The layout tables: checked against XKB's own symbols files, and by hand where scans live."""

import re
import string
from functools import cache
from pathlib import Path

import pytest
from evdev import ecodes as e

from edge.scanners.keymaps import LAYOUTS, Layout, layout

XKB = Path("/usr/share/X11/xkb")
KEYSYMDEF = Path("/usr/include/X11/keysymdef.h")
# The XKB parts each layout is made of, in include order (pc gives <LSGT> and <SPCE>).
XKB_PARTS = {
    "us": [("pc", "pc105"), ("us", "basic")],
    "uk": [("pc", "pc105"), ("latin", "basic"), ("gb", "basic")],
    "de": [("pc", "pc105"), ("latin", "basic"), ("latin", "type4"), ("de", "basic")],
    "fr": [("pc", "pc105"), ("latin", "basic"), ("fr", "basic")],
    "tr": [("pc", "pc105"), ("latin", "basic"), ("tr", "basic")],
}


def test_an_unknown_layout_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown keyboard layout 'ch'; known: us, uk, de, fr, tr"):
        layout("ch")


@cache
def _keysyms() -> dict[str, str]:
    text = KEYSYMDEF.read_text(encoding="latin-1")
    pattern = r"#define XK_(\w+)\s+0x[0-9a-fA-F]+\s*/\*\s*U\+([0-9A-F]{4,6})"
    return {name: chr(int(code, 16)) for name, code in re.findall(pattern, text)}


def _char(keysym: str) -> str | None:
    """A keysym name as the character it types; None for dead keys and VoidSymbol."""
    if re.fullmatch(r"U[0-9A-Fa-f]{4,6}", keysym):
        return chr(int(keysym[1:], 16))
    if re.fullmatch(r"0x100[0-9A-Fa-f]{4,5}", keysym):
        return chr(int(keysym, 16) - 0x1000000)
    if keysym.startswith("dead_") or keysym in ("VoidSymbol", "NoSymbol"):
        return None
    return _keysyms()[keysym]


@cache
def _evdev_code() -> dict[str, int]:
    """XKB key names (<AE01>) to evdev key codes: XKB's evdev keycodes are evdev + 8."""
    text = (XKB / "keycodes" / "evdev").read_text()
    return {name: int(code) - 8 for name, code in re.findall(r"<(\w+)>\s*=\s*(\d+);", text)}


def _xkb_block(file: str, variant: str) -> str:
    text = (XKB / "symbols" / file).read_text()
    match = re.search(rf'xkb_symbols\s+"{variant}"\s*\{{(.*?)\n\}};', text, re.S)
    assert match, f"{file}({variant}) not found"
    return match.group(1)


_XKB_KEY = r"key\s*<(\w+)>\s*\{[^}]*\[([^\]]*)\]\s*\}"  # the last [...] of a key line


def _xkb_levels(name: str) -> dict[int, tuple[str | None, ...]]:
    keys: dict[int, tuple[str | None, ...]] = {}
    for file, variant in XKB_PARTS[name]:
        block = _xkb_block(file, variant)
        for xkb_key, symbols in re.findall(
            r"key\s*<(\w+)>\s*\{[^}]*\[([^\]]*)\]\s*\}", block, re.S
        ):
            if not re.fullmatch(r"A[EDCB]\d\d|TLDE|BKSL|LSGT", xkb_key):
                continue  # the typing keys only: space and the keypad are checked by hand
            levels = [_char(s.strip()) for s in symbols.split(",")][:3]
            keys[_evdev_code()[xkb_key]] = tuple(levels + [None] * (3 - len(levels)))
    return keys


@pytest.mark.skipif(
    not (XKB / "symbols" / "latin").exists() or not KEYSYMDEF.exists(),
    reason="xkeyboard-config and X11 keysymdef.h are not installed, so nothing to compare with",
)
@pytest.mark.parametrize("name", LAYOUTS)
def test_tables_match_the_xkb_symbols(name: str) -> None:
    table = layout(name)
    xkb = _xkb_levels(name)
    main_keys = {code: levels for code, levels in table.keys.items() if code in xkb}
    assert set(main_keys) == set(xkb)
    for code, expected in sorted(xkb.items()):
        if not table.has_altgr:
            expected = (*expected[:2], None)  # no third level without AltGr
        assert main_keys[code] == expected, e.KEY[code]


def _typable(table: Layout) -> set[str]:
    chars = set()
    for code in table.keys:
        for shift in (False, True):
            for altgr in (False, True):
                char = table.char(code, shift=shift, caps=False, altgr=altgr)
                if char:
                    chars.add(char)
    return chars


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_character_a_label_uses_can_be_typed(name: str) -> None:
    needed = set(string.ascii_letters + string.digits + "-./:+()%$*_=#@&!?,;' ")
    assert needed - _typable(layout(name)) == set()


@pytest.mark.parametrize(
    "name, code, shift, altgr, char",
    [
        ("us", e.KEY_2, True, False, "@"),
        ("uk", e.KEY_2, True, False, '"'),
        ("uk", e.KEY_APOSTROPHE, True, False, "@"),
        ("uk", e.KEY_BACKSLASH, False, False, "#"),
        ("uk", e.KEY_4, False, True, "€"),
        ("de", e.KEY_Y, False, False, "z"),
        ("de", e.KEY_Z, False, False, "y"),
        ("de", e.KEY_SLASH, False, False, "-"),
        ("de", e.KEY_7, True, False, "/"),
        ("de", e.KEY_Q, False, True, "@"),
        ("de", e.KEY_E, False, True, "€"),
        ("de", e.KEY_9, False, True, "]"),
        ("de", e.KEY_EQUAL, False, False, None),  # dead acute: refused, never guessed
        ("de", e.KEY_KPDOT, False, False, ","),
        ("fr", e.KEY_1, False, False, "&"),
        ("fr", e.KEY_1, True, False, "1"),
        ("fr", e.KEY_0, False, True, "@"),
        ("fr", e.KEY_Q, False, False, "a"),
        ("fr", e.KEY_M, False, False, ","),
        ("fr", e.KEY_COMMA, True, False, "."),
        ("fr", e.KEY_KPDOT, False, False, "."),
        ("tr", e.KEY_I, False, False, "ı"),
        ("tr", e.KEY_APOSTROPHE, False, False, "i"),
        ("tr", e.KEY_Q, False, True, "@"),
        ("tr", e.KEY_SLASH, False, False, "."),
        ("tr", e.KEY_EQUAL, False, False, "-"),
        ("de", e.KEY_Q, True, True, None),  # Shift+AltGr: the fourth level is not modelled
    ],
)
def test_keys_by_hand(name: str, code: int, shift: bool, altgr: bool, char: str | None) -> None:
    assert layout(name).char(code, shift=shift, caps=False, altgr=altgr) == char


@pytest.mark.parametrize(
    "name, code, shift, char",
    [
        ("us", e.KEY_A, False, "A"),
        ("us", e.KEY_A, True, "a"),  # Caps Lock and Shift cancel out on letters
        ("us", e.KEY_1, False, "1"),  # Caps Lock leaves everything but letters alone
        ("de", e.KEY_LEFTBRACE, False, "Ü"),
        ("fr", e.KEY_2, False, "é"),  # é/2 is no letter pair: Caps Lock does nothing
        ("tr", e.KEY_I, False, "I"),  # dotless ı -> I
        ("tr", e.KEY_APOSTROPHE, False, "İ"),  # dotted i -> İ, not I
        ("tr", e.KEY_APOSTROPHE, True, "i"),
    ],
)
def test_caps_lock(name: str, code: int, shift: bool, char: str) -> None:
    assert layout(name).char(code, shift=shift, caps=True, altgr=False) == char
