"""Real size-capped filesystems for disk-full tests: a tmpfs, or an ext4 image on a loop device.

Mounting needs root (or CAP_SYS_ADMIN); where the machine refuses, the test is skipped with
the reason. The filesystem is always unmounted afterwards, also when the test fails.
"""

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

KINDS = ["tmpfs", "ext4"]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@contextmanager
def small_disk(kind: str, work: Path, size_mib: int) -> Iterator[Path]:
    """A mounted filesystem of ``size_mib`` MiB; skips the test when it cannot be mounted."""
    mount_point = work / f"{kind}-disk"
    mount_point.mkdir(parents=True)
    if kind == "tmpfs":
        done = _run("mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(mount_point))
    else:
        if shutil.which("mkfs.ext4") is None:
            pytest.skip("mkfs.ext4 is not installed: no ext4 image to mount")
        image = work / "ext4.img"
        with open(image, "wb") as f:
            f.truncate(size_mib * 1024 * 1024)
        made = _run("mkfs.ext4", "-q", "-F", "-m", "0", str(image))
        if made.returncode != 0:
            pytest.skip(f"mkfs.ext4 failed: {made.stderr.strip()}")
        done = _run("mount", "-o", "loop", str(image), str(mount_point))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a {kind} of {size_mib} MiB here: {done.stderr.strip()}")
    try:
        data = mount_point / "data"
        data.mkdir()
        yield data
    finally:
        if _run("umount", str(mount_point)).returncode != 0:
            _run("umount", "-l", str(mount_point))  # still busy: detach it lazily


def fill(directory: Path) -> Path:
    """Take every byte the filesystem has left, as another program filling the disk would."""
    filler = directory.parent / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for block in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            chunk = bytes(block)
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
                    break
        os.fsync(fd)
    finally:
        os.close(fd)
    return filler


def free_bytes(directory: Path) -> int:
    """What the filesystem still gives to an ordinary write."""
    info = os.statvfs(directory)
    return info.f_bavail * info.f_frsize
