"""An exclusive, non-blocking lock on an open file, released when the file is closed.

POSIX: ``flock``, which the kernel drops when the process dies, so a crash never leaves a
stale lock. Windows: ``msvcrt.locking`` on one byte far past the end of any journal (Windows
locks are mandatory: locking bytes we read would block our own reads of them).
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Final

if sys.platform != "win32":
    import fcntl

__all__ = ["try_lock"]

_FAR: Final = 2**62  # the byte Windows locks: no journal reaches it


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd``; ``False`` if another open file holds it.

    Raises:
        OSError: locking failed for another reason (a filesystem without locks).
    """
    if sys.platform == "win32":  # pragma: no cover - POSIX CI
        import msvcrt

        where = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, _FAR, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, where, os.SEEK_SET)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True
