"""Disk space held back for the queue's own bookkeeping, so a full disk never stops syncing.

New scans fill the disk; recording central's acks and the sends still needs a little space
(WAL frames, a checkpoint that grows the file). The reserve is a preallocated file next to
the queue: it is given back to the filesystem the moment such a write finds the disk full,
and made again only when there is room for it and for new scans besides.
"""

import errno
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_RESERVE_BYTES = 4 * 1024 * 1024  # a few thousand acks' worth of WAL frames and pages
# Free space below which new scans are refused without being tried: a scan's WAL frames and
# pages, with room to spare. Refusing there keeps the answer the same as what disk_full says.
SCAN_ROOM = 64 * 1024
_CHUNK = 64 * 1024


class SpaceReserve:
    """A file of ``size`` bytes of really allocated blocks, given back a step at a time.

    Releasing in steps (a quarter each) keeps some of it for later needs, such as a restart
    on the still-full disk, which must make the queue's -shm and -wal files again.
    """

    STEPS = 4

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = max(0, size)

    @property
    def remaining(self) -> int:
        """Bytes the reserve holds now."""
        try:
            return min(self.path.stat().st_size, self.size)
        except FileNotFoundError:
            return 0

    @property
    def held(self) -> bool:
        """True when the reserve is whole (always, when no reserve was asked for)."""
        return self.remaining >= self.size

    def free_bytes(self) -> int:
        """Space the filesystem still gives to this process."""
        info = os.statvfs(self.path.parent)
        return info.f_bavail * info.f_frsize

    def ensure(self) -> bool:
        """Make the reserve whole; False (and no more than before) if the disk has no room."""
        if self.held:
            return True
        before = self.remaining
        try:
            self._allocate(before)
        except OSError as err:
            self._truncate(before)
            if err.errno not in (errno.ENOSPC, errno.EDQUOT):
                # Not a matter of space (permissions, an odd filesystem): run without a
                # reserve rather than refuse every scan for want of one.
                log.warning("running without a disk reserve: cannot make %s: %s", self.path, err)
                self.size = 0
                return True
            return False
        log.info("disk reserve %s in place (%d bytes)", self.path, self.size)
        return True

    def room_for_scans(self, *, after_full: bool) -> bool:
        """Whether free space lets new scans be written (one statvfs and one stat: cheap).

        Normally the reserve must be whole and SCAN_ROOM free. Once the disk was found full
        (``after_full``), there must be room to make the reserve whole and a reserve's worth
        (at least SCAN_ROOM) besides, so scans do not flip between saved and refused as a few
        bytes come and go.
        """
        try:
            free = self.free_bytes()
        except OSError:
            return False
        if not after_full and self.held and free >= SCAN_ROOM:
            return True
        return free >= (self.size - self.remaining) + max(self.size, SCAN_ROOM)

    def release(self) -> bool:
        """Give one step of the reserve back to the filesystem; True if that freed anything."""
        left = self.remaining
        if left == 0:
            return False
        step = max(self.size // self.STEPS, 1)
        self._truncate(max(0, left - step))
        log.warning(
            "the edge's disk is full: gave %d bytes of the disk reserve %s to the queue (%d left)",
            left - self.remaining,
            self.path,
            self.remaining,
        )
        return True

    def _allocate(self, start: int) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            try:
                # Real blocks, not a sparse file: releasing them must free space.
                os.posix_fallocate(fd, start, self.size - start)
            except OSError as err:
                if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                    raise
                self._write_zeros(fd, start)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_zeros(self, fd: int, start: int) -> None:
        os.lseek(fd, start, os.SEEK_SET)
        left = self.size - start
        block = bytes(_CHUNK)
        while left > 0:
            left -= os.write(fd, block[: min(_CHUNK, left)])

    def _truncate(self, size: int) -> None:
        try:
            if size == 0:
                self.path.unlink()
            else:
                os.truncate(self.path, size)
        except FileNotFoundError:
            pass


__all__ = ["DEFAULT_RESERVE_BYTES", "SCAN_ROOM", "SpaceReserve"]
