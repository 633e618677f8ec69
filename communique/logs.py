"""Logging for a service: one line per event with its level, plain for people or JSON for log collectors.

JSON lines carry `time` (UTC, ISO 8601), `level`, `logger` and `message`, and `exception` when a
traceback was logged. Four fields do not justify a dependency: the standard library's json writes them.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

FORMATS = ("plain", "json")
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
QUIETER = ("httpx", "httpcore", "telethon", "apscheduler")


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class StartLines(logging.StreamHandler):
    """A stream handler that holds back the lines logged with `log_at_start` (which .env and which configuration
    the command read) until anything else is logged or the command ends well (`write_held`: `release` is the
    handler's lock).  On an expected failure they are dropped (`drop`), so the failure is its error's one line."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[logging.LogRecord] | None = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.held is not None and getattr(record, "at_start", False):
            self.held.append(record)
            return
        self.write_held()
        super().emit(record)

    def write_held(self) -> None:
        held, self.held = self.held or [], None
        for record in held:
            super().emit(record)

    def drop(self) -> None:
        self.held = None


def log_at_start(logger: logging.Logger, message: str) -> None:
    """Log `message` at INFO as one of the command's start lines (see `StartLines`)."""
    logger.info(message, extra={"at_start": True})


class _FirstOutput:
    """A standard stream that writes the held start lines before the command's first output, so they come first.
    It stays in place until the command ends: `print` holds the stream it writes to without a reference, so
    swapping `sys.stdout` in the middle of a `print` would free it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        _start_lines(failed=False)
        return self.stream.write(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


def hold_start_lines() -> None:
    """Hold the start lines (`StartLines`) until the command writes to stdout or stderr, logs, or ends."""
    sys.stdout, sys.stderr = _FirstOutput(sys.stdout), _FirstOutput(sys.stderr)  # type: ignore[assignment]


def end_start(*, failed: bool) -> None:
    """At the command's end: write the held start lines, or drop them when it failed as expected."""
    _start_lines(failed=failed)
    for name in ("stdout", "stderr"):
        if isinstance(stream := getattr(sys, name), _FirstOutput):
            setattr(sys, name, stream.stream)


def _start_lines(*, failed: bool) -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, StartLines) and failed:
            handler.drop()
        elif isinstance(handler, StartLines):
            handler.write_held()


def configure_logging(verbose: bool = False, log_format: str = "plain") -> None:
    """Log to stderr at INFO (DEBUG with `verbose`), in `log_format` ("plain" or "json")."""
    handler = StartLines()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(PLAIN))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    for noisy in QUIETER:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def report_error(message: str) -> None:
    """The one line of an expected failure: plain on stderr, or a JSON ERROR entry when logs are JSON."""
    if any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers):
        logging.getLogger("communique").error(message)
    else:
        print(f"communique: error: {message}", file=sys.stderr)
