"""Periods as people type them: "7d", "36h", "2w" back from now, or a date ("2026-11-26", ISO 8601).

Shared by `communique report`, `communique export` and the bot's /export.  A date without a time
is midnight UTC; a time without an offset is UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from communique.errors import UsageError

_AGO = re.compile(r"^(\d{1,4})\s*([hdw])$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
EXAMPLES = "7d, 36h, 2w or a date such as 2026-11-26"


def parse_moment(text: str, *, now: datetime, what: str = "--since") -> datetime:
    """A time `text` names: so long before `now` ("7d"), or a date or ISO 8601 time."""
    value = text.strip()
    ago = _AGO.match(value)
    if ago:
        return now - int(ago[1]) * _UNITS[ago[2].lower()]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a period or a date ({EXAMPLES})") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_period(since: str, until: str | None, *, now: datetime) -> tuple[datetime, datetime]:
    """[start, end): from `since` to `until` (default: now); an empty or reversed period is an error."""
    start = parse_moment(since, now=now, what="--since")
    end = parse_moment(until, now=now, what="--until") if until else now
    if start >= end:
        raise UsageError(f"--since {since} is not before {'--until ' + until if until else 'now'}")
    return start, end
