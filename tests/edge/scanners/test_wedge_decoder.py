"""KeyDecoder: real evdev InputEvents, as scanners in each layout type them, to whole scans."""

import pytest
from evdev import InputEvent
from evdev import ecodes as e

from edge.barcodes.decode import BarcodeDecoder
from edge.errors import ScanError
from edge.scanners.base import RawScan
from edge.scanners.keymaps import layout
from edge.scanners.wedge_decoder import GsSetting, KeyDecoder
from tests.edge.scanners.keys import (
    ALT,
    ALTGR,
    CTRL,
    SHIFT,
    alt_code,
    digits,
    enter,
    key,
    tap,
    taps,
)

GS = "\x1d"
# A GS1-128 label: AIM id, GTIN (01), best before (15), lot (10, variable: GS ends it), count.
LABEL = f"]C101095011015300031526123110LOT-7{GS}3712"


def _decode(name: str, events: list[InputEvent], **options: object) -> list[RawScan]:
    return KeyDecoder(layout(name), **options).feed_all(events)  # type: ignore[arg-type]


def test_us_scan_with_gs_as_alt_code() -> None:
    events = (
        taps(e.KEY_RIGHTBRACE, (SHIFT, e.KEY_C), e.KEY_1)
        + digits("010950110153000315261231")
        + digits("10")
        + taps((SHIFT, e.KEY_L), (SHIFT, e.KEY_O), (SHIFT, e.KEY_T), e.KEY_MINUS, e.KEY_7)
        + alt_code("0029")
        + digits("3712")
        + enter()
    )
    assert _decode("us", events) == [RawScan(LABEL, LABEL.encode() + b"\r")]


def test_uk_scan_with_gs_as_substitute_character() -> None:
    # UK: '|' is Shift+<the key left of Z>; the scanner types it where GS belongs.
    events = (
        taps(e.KEY_RIGHTBRACE, (SHIFT, e.KEY_C), e.KEY_1)
        + digits("010950110153000315261231")
        + digits("10")
        + taps((SHIFT, e.KEY_L), (SHIFT, e.KEY_O), (SHIFT, e.KEY_T), e.KEY_MINUS, e.KEY_7)
        + tap(e.KEY_102ND, SHIFT)
        + digits("3712")
        + enter()
    )
    [scan] = _decode("uk", events, gs=GsSetting.parse("substitute:|"))
    assert scan.data == LABEL
    assert scan.raw == LABEL.replace(GS, "|").encode() + b"\r"  # raw: as typed


def test_de_scan_with_gs_as_configured_key() -> None:
    # DE: ']' is AltGr+9, '-' is the key US calls '/', and Z and Y swap places.
    events = (
        taps((ALTGR, e.KEY_9), (SHIFT, e.KEY_C), e.KEY_1)
        + digits("010950110153000315261231")
        + digits("10")
        + taps((SHIFT, e.KEY_Y), (SHIFT, e.KEY_Z), e.KEY_SLASH, e.KEY_7)
        + tap(e.KEY_F8)
        + digits("3712")
        + enter()
    )
    [scan] = _decode("de", events, gs=GsSetting.parse("key:KEY_F8"))
    assert scan.data == f"]C101095011015300031526123110ZY-7{GS}3712"
    assert scan.raw == b"]C101095011015300031526123110ZY-7<KEY_F8>3712\r"


def test_fr_scan_digits_need_shift() -> None:
    # AZERTY: the digit row types &é"'(-è_çà unshifted; the digits need Shift.
    events = (
        taps((ALTGR, e.KEY_MINUS), (SHIFT, e.KEY_C), (SHIFT, e.KEY_1))
        + digits("010950110153000315261231", SHIFT)
        + digits("10", SHIFT)
        + taps((SHIFT, e.KEY_Q), (SHIFT, e.KEY_W), (SHIFT, e.KEY_COMMA), (SHIFT, e.KEY_7))
        + alt_code("0029")
        + digits("3712", SHIFT)
        + enter()
    )
    assert [s.data for s in _decode("fr", events)] == [f"]C101095011015300031526123110AZ.7{GS}3712"]
    unshifted = digits("1234567890") + enter()
    assert [s.data for s in _decode("fr", unshifted)] == ["&é\"'(-è_çà"]


def test_tr_scan_with_gs_as_ctrl_bracket() -> None:
    # Turkish Q: ']' is AltGr+9, '-' is the key US calls '=', '.' the one US calls '/'.
    events = (
        taps((ALTGR, e.KEY_9), (SHIFT, e.KEY_C), e.KEY_1)
        + digits("0109501101530003")
        + digits("10")
        + taps((SHIFT, e.KEY_I), (SHIFT, e.KEY_APOSTROPHE), e.KEY_EQUAL, e.KEY_SLASH, e.KEY_7)
        + tap(e.KEY_9, CTRL, ALTGR)  # Ctrl+] is GS in ASCII
        + digits("3712")
        + enter()
    )
    assert [s.data for s in _decode("tr", events)] == [f"]C1010950110153000310Iİ-.7{GS}3712"]


def test_tr_dotted_and_dotless_i_with_shift_and_caps() -> None:
    i, dotless = e.KEY_APOSTROPHE, e.KEY_I
    events = taps(i, dotless, (SHIFT, i), (SHIFT, dotless), e.KEY_CAPSLOCK, i, dotless, (SHIFT, i))
    assert [s.data for s in _decode("tr", events + enter())] == ["iıİIİIi"]


def test_caps_lock_shifts_letters_only() -> None:
    events = taps(e.KEY_CAPSLOCK, e.KEY_A, e.KEY_1, e.KEY_MINUS, (SHIFT, e.KEY_B), e.KEY_CAPSLOCK)
    events += taps(e.KEY_C) + enter()
    assert [s.data for s in _decode("us", events)] == ["A1-bc"]


@pytest.mark.parametrize(
    "name, steps, text",
    [
        ("de", [(ALTGR, e.KEY_Q), (ALTGR, e.KEY_E), (ALTGR, e.KEY_MINUS)], "@€\\"),
        ("fr", [(ALTGR, e.KEY_0), (ALTGR, e.KEY_3), (ALTGR, e.KEY_6)], "@#|"),
        ("uk", [(ALTGR, e.KEY_4), (SHIFT, e.KEY_3)], "€£"),
        ("tr", [(ALTGR, e.KEY_Q), (ALTGR, e.KEY_4)], "@$"),
    ],
)
def test_altgr(name: str, steps: list[tuple[int, int]], text: str) -> None:
    assert [s.data for s in _decode(name, taps(*steps) + enter())] == [text]


def test_right_alt_on_us_is_alt_so_a_letter_with_it_is_not_scan_data() -> None:
    decoder = KeyDecoder(layout("us"))
    assert decoder.feed_all(tap(e.KEY_Q, ALTGR) + tap(e.KEY_Q) + enter())[0].data == "\ufffdq"
    # ... and it types Alt codes like the left Alt.
    events = key(ALTGR, 1) + tap(e.KEY_KP2) + tap(e.KEY_KP9) + key(ALTGR, 0) + enter()
    assert decoder.feed_all(events)[0].data == GS


@pytest.mark.parametrize(
    "number, char",
    [("0029", GS), ("29", GS), ("65", "A"), ("0233", "é"), ("130", "é"), ("8364", "€")],
)
def test_alt_codes_as_windows_reads_them(number: str, char: str) -> None:
    [scan] = _decode("us", alt_code(number) + enter())
    assert scan.data == char


def test_enter_keypad_enter_and_tab_terminate() -> None:
    events = digits("12") + tap(e.KEY_KPENTER) + digits("34") + enter() + enter()
    assert [(s.data, s.raw) for s in _decode("us", events)] == [("12", b"12\r"), ("34", b"34\r")]
    tabbed = digits("12") + tap(e.KEY_TAB) + digits("34") + tap(e.KEY_TAB)
    assert [(s.data, s.raw) for s in _decode("us", tabbed, terminator="tab")] == [
        ("12", b"12\t"),
        ("34", b"34\t"),
    ]


def test_key_repeat_is_dropped() -> None:
    # A late key-up makes the kernel repeat the key; typing it would double the digit.
    decoder = KeyDecoder(layout("us"))
    events = key(e.KEY_1, 1) + key(e.KEY_1, 2) + key(e.KEY_1, 2) + key(e.KEY_1, 0)
    events += key(SHIFT, 1) + key(SHIFT, 2) + tap(e.KEY_A) + key(SHIFT, 0)  # held Shift repeats
    assert [s.data for s in decoder.feed_all(events + digits("2") + enter())] == ["1A2"]
    assert decoder.dropped_repeats == 2  # a held modifier repeating is just still held


def test_unknown_keys_are_marked_counted_and_refused_downstream() -> None:
    decoder = KeyDecoder(layout("de"))
    events = digits("12") + tap(e.KEY_F5) + tap(e.KEY_EQUAL) + digits("3") + enter()
    [scan] = decoder.feed_all(events)
    assert scan.data == "12\ufffd\ufffd3"
    assert scan.raw == b"12<KEY_F5><KEY_EQUAL>3\r"
    assert decoder.unknown_keys == 2
    with pytest.raises(ScanError, match="keys this edge could not read") as caught:
        BarcodeDecoder()(scan.data)
    assert caught.value.code == "SCAN_UNREADABLE"


def test_de_scanner_read_with_the_us_table_gives_the_classic_wrong_result() -> None:
    # The scanner is set to German and types "ZY-12" (Shift+<key US calls Y>, ...); an edge
    # configured "us" for it reads other characters, with no error: why the layout is
    # configured per scanner, and must be the scanner's own.
    events = taps((SHIFT, e.KEY_Y), (SHIFT, e.KEY_Z), e.KEY_SLASH) + digits("12") + enter()
    assert [s.data for s in _decode("de", events)] == ["ZY-12"]
    assert [s.data for s in _decode("us", events)] == ["YZ/12"]


def test_reset_drops_the_scan_in_progress_and_held_keys() -> None:
    decoder = KeyDecoder(layout("us"))
    assert decoder.feed_all(key(SHIFT, 1) + digits("99") + key(ALT, 1) + tap(e.KEY_KP2)) == []
    decoder.reset()  # the device went away mid-scan: Shift and Alt never came up
    assert [s.data for s in decoder.feed_all(taps(e.KEY_A) + digits("1") + enter())] == ["a1"]


def test_other_event_types_are_ignored() -> None:
    events = [
        InputEvent(1, 0, e.EV_MSC, e.MSC_SCAN, 0x7001E),
        InputEvent(1, 0, e.EV_LED, e.LED_NUML, 1),
        InputEvent(1, 0, e.EV_SYN, e.SYN_REPORT, 0),
    ]
    assert _decode("us", events + digits("5") + enter()) == [RawScan("5", b"5\r")]


def test_ctrl_letters_are_control_codes() -> None:
    [scan] = _decode("us", tap(e.KEY_RIGHTBRACE, CTRL) + tap(e.KEY_M, CTRL) + enter())
    assert scan.data == GS + "\r"


def test_gs_key_combination() -> None:
    gs = GsSetting.parse("key:KEY_LEFTCTRL+KEY_G")
    events = digits("1") + tap(e.KEY_G, CTRL) + digits("2") + tap(e.KEY_G) + enter()
    assert [s.data for s in _decode("us", events, gs=gs)] == [f"1{GS}2g"]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("key:KEY_NOPE", "'KEY_NOPE' is not an evdev key name"),
        ("key:KEY_F8+KEY_LEFTCTRL", "modifiers first and one ordinary key last"),
        ("substitute:ab", "one printable character"),
        ("fnc1", "is not understood"),
    ],
)
def test_bad_gs_settings_say_what_is_accepted(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GsSetting.parse(spec)
