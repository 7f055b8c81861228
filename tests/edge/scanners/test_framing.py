"""The framer: whole scans out of a byte stream however it is split, with noise and bounds."""

import logging

import pytest

from edge.scanners.base import RawScan
from edge.scanners.framing import Framer, parse_escapes

GS1 = b"]C1\x1d0112345678901231\x1d10LOT7"


def _feed_all(framer: Framer, chunks: list[bytes]) -> list[RawScan]:
    scans = []
    for chunk in chunks:
        scans += framer.feed(chunk)
    return scans


@pytest.mark.parametrize(
    "terminator, stream, expected",
    [
        ("cr", b"LP1\rLOC:A-01\r", ["LP1", "LOC:A-01"]),
        ("lf", b"LP1\nLOC:A-01\n", ["LP1", "LOC:A-01"]),
        ("crlf", b"LP1\r\nLOC:A-01\r\n", ["LP1", "LOC:A-01"]),
        ("any", b"LP1\r\nLOC:A-01\rLP2\n", ["LP1", "LOC:A-01", "LP2"]),
        # A bare CR is data when CRLF ends a scan, and a lone LF is data for "cr".
        ("crlf", b"A\rB\r\n", ["A\rB"]),
    ],
)
def test_terminators(terminator: str, stream: bytes, expected: list[str]) -> None:
    framer = Framer(terminator)  # type: ignore[arg-type]
    assert [scan.data for scan in framer.feed(stream)] == expected
    assert framer.pending == 0


@pytest.mark.parametrize("terminator, end", [("cr", b"\r"), ("lf", b"\n"), ("crlf", b"\r\n")])
def test_split_at_every_byte_position_gives_the_same_scans(terminator: str, end: bytes) -> None:
    stream = b"LP0001" + end + GS1 + end + b"LOC:A-01" + end
    whole = Framer(terminator).feed(stream)  # type: ignore[arg-type]
    assert [scan.data for scan in whole] == ["LP0001", GS1.decode(), "LOC:A-01"]
    assert b"".join(scan.raw for scan in whole) == stream
    for cut in range(1, len(stream)):
        for second in range(cut, len(stream)):
            framer = Framer(terminator)  # type: ignore[arg-type]
            parts = [stream[:cut], stream[cut:second], stream[second:]]
            assert _feed_all(framer, parts) == whole, (cut, second)
            assert framer.pending == 0


def test_byte_by_byte_crlf_gives_one_scan_per_crlf() -> None:
    framer = Framer("crlf")
    stream = b"LP1\r\nLP2\r\n"
    scans = _feed_all(framer, [stream[i : i + 1] for i in range(len(stream))])
    assert scans == [RawScan("LP1", b"LP1\r\n"), RawScan("LP2", b"LP2\r\n")]


def test_any_swallows_the_lf_of_a_crlf_split_across_reads() -> None:
    framer = Framer("any")
    assert framer.feed(b"LP1\r") == [RawScan("LP1", b"LP1\r")]  # emitted at once, not held
    assert framer.feed(b"\nLP2\n") == [RawScan("LP2", b"LP2\n")]
    assert framer.feed(b"\n") == []  # a blank line, skipped


def test_partial_scan_waits_for_its_terminator_and_flush_ends_it() -> None:
    framer = Framer("cr")
    assert framer.feed(b"LP12") == []
    assert framer.pending == 4
    assert framer.flush_after is None  # a terminator will come: no pause-based end
    assert framer.feed(b"34\rLP") == [RawScan("LP1234", b"LP1234\r")]
    assert framer.flush() == [RawScan("LP", b"LP")]
    assert framer.pending == 0


def test_no_terminator_ends_scans_at_the_pause() -> None:
    framer = Framer("none", inter_char_timeout=0.05)
    assert framer.flush_after is None  # nothing pending, nothing to wait for
    assert framer.feed(b"LP1") == []
    assert framer.feed(b"234") == []
    assert framer.flush_after == 0.05
    assert framer.flush() == [RawScan("LP1234", b"LP1234")]
    assert framer.flush_after is None
    assert framer.flush() == []


def test_prefix_and_suffix_are_removed_when_present() -> None:
    framer = Framer("cr", prefix=b"\x02", suffix=b"\x03")
    assert framer.feed(b"\x02LP1\x03\r") == [RawScan("LP1", b"\x02LP1\x03\r")]
    assert framer.feed(b"LP2\r") == [RawScan("LP2", b"LP2\r")]  # absent: nothing to remove
    assert framer.feed(b"\x02\x03\r") == []  # a no-read: blank, skipped
    multi = Framer("none", prefix=b"SCN:", suffix=b"#")
    multi.feed(b"SCN:]C0LOC:A")
    multi.feed(b"-01#")
    assert multi.flush() == [RawScan("]C0LOC:A-01", b"SCN:]C0LOC:A-01#")]


def test_blank_scans_are_skipped() -> None:
    framer = Framer("cr")
    assert framer.feed(b"\r\r  \r\t\rLP1\r") == [RawScan("LP1", b"LP1\r")]


def test_line_noise_is_kept_and_decoded_deterministically() -> None:
    framer = Framer("cr")
    (scan,) = framer.feed(b"LP\x001\xff\x1d2\x07\r")
    # NUL and BEL stay (the decoder refuses control characters), GS stays (it is data),
    # a byte above 0x7F becomes U+FFFD: never an exception, never a different result.
    assert scan.data == "LP\x001\ufffd\x1d2\x07"
    assert scan.raw == b"LP\x001\xff\x1d2\x07\r"
    assert Framer("cr").feed(b"LP\x001\xff\x1d2\x07\r") == [scan]


def test_utf8_for_files() -> None:
    framer = Framer("any", encoding="utf-8")
    assert [s.data for s in framer.feed("LOC:Bäckerei\n".encode())] == ["LOC:Bäckerei"]


def test_a_scanner_stuck_without_terminator_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    framer = Framer("cr", max_scan_bytes=64)
    with caplog.at_level(logging.WARNING, logger="edge.scanners.framing"):
        for _ in range(1000):
            assert framer.feed(b"0123456789") == []
            assert framer.pending <= 64
    assert framer.dropped == 1
    assert "dropped it up to its terminator" in caplog.text
    # The rest of the overlong scan is dropped too (a fragment could look like a valid scan);
    # the next scan after its terminator is read normally.
    assert framer.feed(b"42\rLP1\r") == [RawScan("LP1", b"LP1\r")]
    assert framer.dropped == 1


def test_an_overlong_scan_in_one_read_is_dropped_too() -> None:
    framer = Framer("crlf", max_scan_bytes=8)
    assert framer.feed(b"123456789\r\nLP1\r\n") == [RawScan("LP1", b"LP1\r\n")]
    assert framer.dropped == 1
    assert framer.feed(b"12345678\r\n") == [RawScan("12345678", b"12345678\r\n")]


def test_overflow_in_crlf_mode_keeps_a_split_crlf() -> None:
    framer = Framer("crlf", max_scan_bytes=8)
    assert framer.feed(b"X" * 20 + b"\r") == []
    assert framer.feed(b"\nLP1\r\n") == [RawScan("LP1", b"LP1\r\n")]


def test_overflow_without_terminator_ends_at_the_pause() -> None:
    framer = Framer("none", max_scan_bytes=8)
    assert framer.feed(b"X" * 20) == []
    assert framer.pending == 0 and framer.flush_after is not None
    assert framer.feed(b"more") == []
    assert framer.flush() == []  # the pause ends the dropped scan
    framer.feed(b"LP1")
    assert framer.flush() == [RawScan("LP1", b"LP1")]


def test_discard_drops_the_partial_scan() -> None:
    framer = Framer("cr")
    framer.feed(b"LP1\rLP2")
    assert framer.discard() == b"LP2"
    assert framer.pending == 0
    assert framer.feed(b"LP3\r") == [RawScan("LP3", b"LP3\r")]


def test_parse_escapes() -> None:
    assert parse_escapes("") == b""
    assert parse_escapes("\\x02") == b"\x02"
    assert parse_escapes("\x02") == b"\x02"  # TOML "\u0002" arrives as the character itself
    assert parse_escapes("SCN\\t\\r\\n\\0\\\\x") == b"SCN\t\r\n\x00\\x"
    with pytest.raises(ValueError, match="unknown escape"):
        parse_escapes("\\q")
    with pytest.raises(ValueError, match="unknown escape"):
        parse_escapes("\\x2")
    with pytest.raises(ValueError, match="only ASCII"):
        parse_escapes("é")


def test_unknown_terminator_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown terminator"):
        Framer("etx")  # type: ignore[arg-type]
