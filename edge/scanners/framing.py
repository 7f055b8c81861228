"""Cuts a scanner's byte stream into whole scans, however the reads happen to split it.

A scan is the bytes up to a terminator (CR, LF, CRLF; or, for scanners that send none, up to a
pause the driver measures). The scanner's configured prefix and suffix are removed when
present. Decoding is deterministic and never fails: serial scanners send 7-bit ASCII, so a
byte above 0x7F is line noise or a misconfigured scanner and becomes U+FFFD; NUL and other
control characters are kept as they are. Either way the scan still reaches the barcode
decoder, which refuses control characters with a message telling the operator to check the
scanner, so noise shows up at the station instead of vanishing.

A scan longer than ``max_scan_bytes`` is dropped whole with a warning, and so is the rest of
it up to the next terminator: emitting a piece of it could hand the station a fragment that
looks valid (a quantity, a location) and do the wrong thing, while a dropped scan is simply
scanned again. This also bounds the buffer of a scanner stuck without terminators.
"""

import logging
import re
from typing import Literal

from edge.scanners.base import RawScan

log = logging.getLogger(__name__)

# "any": CR, LF or CRLF (what the simulated scanner accepts from files typed by people).
Terminator = Literal["cr", "lf", "crlf", "none", "any"]
TERMINATORS: tuple[str, ...] = Terminator.__args__  # type: ignore[attr-defined]

# The decoder reads at most 4096 characters; nothing longer is a barcode.
MAX_SCAN_BYTES = 4096

_PATTERNS: dict[str, re.Pattern[bytes]] = {
    "cr": re.compile(rb"\r"),
    "lf": re.compile(rb"\n"),
    "crlf": re.compile(rb"\r\n"),
    "any": re.compile(rb"\r\n|\r|\n"),
}
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|[rnt0\\])|\\")
_NAMED = {"r": 0x0D, "n": 0x0A, "t": 0x09, "0": 0x00, "\\": 0x5C}
_BLANK = b" \t\r\n"


def parse_escapes(text: str) -> bytes:
    """The bytes a prefix/suffix setting names: ASCII with \\xHH, \\r, \\n, \\t, \\0, \\\\.

    Raises ValueError saying what is wrong (an unknown escape, a non-ASCII character).
    """
    out = bytearray()
    position = 0
    for match in _ESCAPE.finditer(text):
        out += _ascii(text[position : match.start()])
        escape = match.group(1)
        if escape is None:
            raise ValueError(
                f"{text!r}: unknown escape at position {match.start()}; "
                "use \\xHH (e.g. \\x02), \\r, \\n, \\t, \\0 or \\\\"
            )
        out.append(int(escape[1:], 16) if escape[0] == "x" else _NAMED[escape])
        position = match.end()
    out += _ascii(text[position:])
    return bytes(out)


def _ascii(text: str) -> bytes:
    try:
        return text.encode("ascii")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"{text!r}: only ASCII characters; write other bytes as \\xHH escapes"
        ) from err


class Framer:
    """Bytes in, whole scans out; keeps a partial scan until the rest of it arrives."""

    def __init__(
        self,
        terminator: Terminator = "cr",
        *,
        prefix: bytes = b"",
        suffix: bytes = b"",
        inter_char_timeout: float = 0.05,
        encoding: str = "ascii",
        max_scan_bytes: int = MAX_SCAN_BYTES,
    ) -> None:
        if terminator not in TERMINATORS:
            raise ValueError(f"unknown terminator {terminator!r}; use one of {TERMINATORS}")
        self.terminator = terminator
        self.prefix = prefix
        self.suffix = suffix
        self.inter_char_timeout = inter_char_timeout
        self.encoding = encoding
        self.max_scan_bytes = max_scan_bytes
        self.dropped = 0  # scans dropped for being too long, for diagnostics
        self._pattern = _PATTERNS.get(terminator)
        self._buffer = bytearray()
        self._discarding = False  # inside an overlong scan: drop up to its terminator
        self._skip_lf = False  # "any": a CR ended the last read; an LF next is its tail

    @property
    def pending(self) -> int:
        """Bytes of a scan not finished yet."""
        return len(self._buffer)

    @property
    def flush_after(self) -> float | None:
        """Seconds of silence after which the driver calls flush(); None: no need to."""
        if self.terminator == "none" and (self._buffer or self._discarding):
            return self.inter_char_timeout
        return None

    def feed(self, data: bytes) -> list[RawScan]:
        """The scans completed by ``data``, in order; a partial last scan is kept."""
        if self._skip_lf and data:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        self._buffer += data
        scans: list[RawScan] = []
        if self._pattern is not None:
            start = 0
            for match in self._pattern.finditer(self._buffer):
                body = bytes(self._buffer[start : match.start()])
                terminator = match.group(0)
                start = match.end()
                if terminator == b"\r" and start == len(self._buffer) and self.terminator == "any":
                    self._skip_lf = True  # the LF of a CRLF split across two reads
                scan = self._complete(body, terminator)
                if scan is not None:
                    scans.append(scan)
            del self._buffer[:start]
        self._bound()
        return scans

    def flush(self) -> list[RawScan]:
        """The pending bytes as a scan (after a pause with no terminator, or at end of input)."""
        body = bytes(self._buffer)
        self._buffer.clear()
        scan = self._complete(body, b"")
        return [scan] if scan is not None else []

    def discard(self) -> bytes:
        """Drops the partial scan (the device went away mid-scan) and returns its bytes."""
        body = bytes(self._buffer)
        self._buffer.clear()
        self._discarding = self._skip_lf = False
        return body

    def _complete(self, body: bytes, terminator: bytes) -> RawScan | None:
        """One scan's bytes made a RawScan; None for a blank or a dropped scan."""
        if self._discarding:
            self._discarding = False
            return None  # the tail of an overlong scan, already reported
        if len(body) > self.max_scan_bytes:
            self._drop(f"a scan of {len(body)} bytes")
            return None
        inner = body
        if self.prefix and inner.startswith(self.prefix):
            inner = inner[len(self.prefix) :]
        if self.suffix and inner.endswith(self.suffix):
            inner = inner[: -len(self.suffix)]
        if not inner.strip(_BLANK):
            return None
        return RawScan(data=inner.decode(self.encoding, errors="replace"), raw=body + terminator)

    def _bound(self) -> None:
        """Keeps the buffer within ``max_scan_bytes`` whatever the scanner sends."""
        if self._discarding:
            # Keep only a CR that may be the first half of a CRLF ending the overlong scan.
            keep = 1 if self.terminator == "crlf" and self._buffer.endswith(b"\r") else 0
            del self._buffer[: len(self._buffer) - keep]
        elif len(self._buffer) > self.max_scan_bytes:
            self._drop(f"{len(self._buffer)} bytes and no terminator yet")
            self._discarding = True
            self._bound()

    def _drop(self, what: str) -> None:
        self.dropped += 1
        log.warning(
            "scanner sent %s (a scan has at most %s): dropped it up to its terminator; "
            "check that the scanner ends scans with the configured terminator (%s)",
            what,
            self.max_scan_bytes,
            self.terminator,
        )
