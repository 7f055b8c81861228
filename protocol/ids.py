"""UUIDv7 action ids (RFC 9562): time-ordered, made on the edge at scan time."""

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_action_id(now_ms: int | None = None) -> str:
    """Return a new UUIDv7 string; ids made in one process are strictly increasing.

    Within one millisecond the 12-bit ``rand_a`` field is a counter (RFC 9562 §6.2,
    method 1), so ids keep the order in which scans were taken.
    """
    global _last_ms, _counter
    with _lock:
        ms = int(time.time() * 1000) if now_ms is None else now_ms
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                ms += 1
                _counter = 0
        else:
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count
        _last_ms = ms
        rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= (_counter & 0xFFF) << 64
        value |= 0b10 << 62
        value |= rand_b
        return str(uuid.UUID(int=value))


def is_uuid7(text: str) -> bool:
    """True when ``text`` is a canonical lowercase UUID string of version 7."""
    try:
        parsed = uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return parsed.version == 7 and str(parsed) == text
