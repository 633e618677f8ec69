"""Progress of long work (an import, matching, the embedding pass) on stderr, never on stdout.

On a terminal, a live bar drawn by tqdm: count, rate and time left.  Anywhere else (piped,
redirected to a log) no bar, only one summary line when the work ends, so logs stay readable
and what a command writes to stdout (JSON lines, tables) stays parseable.

Long work reports through a plain callable, `report(done, total, what)`, so the core does not
depend on how (or whether) progress is shown; `Progress` is the one the command line passes.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from tqdm import tqdm

Report = Callable[[int, int, str], None]  # (done, total, what): "what" names the work, e.g. "records imported"


class Progress:
    """A `Report` for the command line: one bar (or summary) per kind of work, finished when done reaches total.

    `live` draws the bar; by default only when `stream` is a terminal.  Used as a context manager, work
    left unfinished by an error is dropped without a summary, so the error stays the only line.
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = _is_terminal(self.stream) if live is None else live
        self._what: str | None = None
        self._done = 0
        self._started = 0.0
        self._bar: tqdm | None = None

    def __call__(self, done: int, total: int, what: str) -> None:
        if what != self._what:
            self.finish()
            self._what, self._started = what, time.monotonic()
            if self.live:
                # The terminal's size, or 80x24 where it reports none (0x0, as some pseudo-terminals do:
                # tqdm would then draw nothing).
                size = shutil.get_terminal_size()
                self._bar = tqdm(total=total, desc=what, unit="", file=self.stream, mininterval=0.2, disable=False,
                                 ncols=size.columns, nrows=size.lines)
        self._done = done
        if self._bar is not None:
            self._bar.total = max(total, done)
            self._bar.update(done - self._bar.n)
        if done >= total:
            self.finish()

    def finish(self) -> None:
        """End the current work: the bar stays as drawn last, or the summary line is printed."""
        if self._what is None:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            seconds = time.monotonic() - self._started
            rate = f" ({self._done / seconds:,.0f}/s)" if seconds >= 0.05 else ""
            print(f"{self._what}: {self._done:,} in {seconds:.1f} s{rate}", file=self.stream, flush=True)
        self._what, self._bar = None, None

    def abandon(self) -> None:
        """Drop the current work without a summary (it failed); a live bar is cleared."""
        if self._bar is not None:
            self._bar.leave = False
            self._bar.close()
        self._what, self._bar = None, None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.finish()
        else:
            self.abandon()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False
