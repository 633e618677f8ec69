"""One serving process per store: an exclusive lock on a file beside it (`communique.db.lock`).

Two `communique bot` (or `run`) on one store would both answer every command and split the
outbox between them.  The lock is an `flock` on an open file, so the kernel releases it when
the process ends, however it ends (kill -9 included): no stale lock to clean up after a crash.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from communique.errors import CommuniqueError, StoreUnavailable


class AlreadyServing(CommuniqueError):
    """Another process already serves this store."""


@contextmanager
def serving(db_path: str | Path) -> Iterator[None]:
    """Hold the store's lock while the block runs; `AlreadyServing` if another process holds it."""
    lock_path = Path(f"{db_path}.lock")
    try:
        handle = open(lock_path, "a+")  # noqa: SIM115 (closed below, after the lock is released)
    except OSError as exc:
        raise StoreUnavailable(f"{lock_path}: cannot create the lock file ({exc.strerror})") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyServing(f"{db_path}: another communique process is already serving this store "
                                 f"(it holds {lock_path}); stop it first") from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
