"""Logging for a service: one line per event with its level, plain for people or JSON for log collectors.

JSON lines carry `time` (UTC, ISO 8601), `level`, `logger` and `message`, and `exception` when a
traceback was logged. Four fields do not justify a dependency: the standard library's json writes them.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

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


def configure_logging(verbose: bool = False, log_format: str = "plain") -> None:
    """Log to stderr at INFO (DEBUG with `verbose`), in `log_format` ("plain" or "json")."""
    handler = logging.StreamHandler()
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
