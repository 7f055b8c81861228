"""Files that hold secrets or plant data are readable by their owner only.

SQLite creates a database file with the process umask (often 0644), and its ``-wal`` and
``-shm`` files with the mode of the database file. Creating the database file ourselves,
mode 0600, before SQLite opens it makes all three owner-only whatever the umask.
"""

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)
OWNER_ONLY = 0o600


def owner_only_file(path: Path) -> None:
    """Make sure ``path`` exists and nobody but its owner can read or write it.

    A missing file is created empty with mode 0600 (never a moment with a wider mode); an
    existing one that others could read is tightened, with a warning, so an upgraded
    installation is protected too. Its -wal/-shm companions, when present, are tightened
    the same way.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(each.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            log.warning("%s was readable by others (mode %o); now owner-only (600)", each, mode)
            os.chmod(each, mode & 0o700)
