"""Who this process is, and whether another process of this host still runs.

A worker's name is `host:pid:start`, the start being the process's start time in clock ticks
since boot (Linux `/proc/<pid>/stat`), so that a pid the system has since given to another
process is not taken for the worker that once had it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_PROC = Path("/proc")


def _started(pid: int) -> str | None:
    """The process's start time, or None if no process has that pid.  Without /proc, "0" for any live pid."""
    if not (_PROC / "self" / "stat").exists():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:  # alive, another user's
            pass
        return "0"
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return None
    return stat.rpartition(")")[2].split()[19]  # field 22, starttime; the fields after the name start at 3


def identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid())}"


def is_dead_here(name: str) -> bool:
    """Whether `name` (an `identity()`) was a process of this host that no longer runs.  False for names of
    other hosts, and for names in another form: for those, only their lease tells."""
    host, _, rest = name.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit() or not started:
        return False
    return _started(int(pid)) != started
