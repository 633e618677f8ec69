"""This process's peak memory, its own: not the peak of the process that started it.

`getrusage().ru_maxrss` is kept across fork and exec, so a benchmark run in a child of a large
process reported the parent's size (the embedding benchmark's 10,000-item run: 511 MB, of which
its own was 152).  Linux's VmHWM is the peak of this process's own memory since it was started.
"""

from __future__ import annotations

import resource
from pathlib import Path


def peak_mb() -> float:
    """The peak resident memory of this process, in MB (ru_maxrss where /proc is not there)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
