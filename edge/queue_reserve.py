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

    def restore_if_room(self) -> bool:
        """Make the reserve whole again only when the disk also has a reserve's worth left
        for new scans after it."""
        if self.held:
            return True
        try:
            room = self.free_bytes()
        except OSError:
            return False
        return room >= (self.size - self.remaining) + self.size and self.ensure()

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


__all__ = ["DEFAULT_RESERVE_BYTES", "SpaceReserve"]
