"""When a chat's daily digest is due: pure time arithmetic over its HH:MM and IANA time zone.

An occurrence is "the digest for local day D": the wall-clock time HH:MM on D in the chat's
zone, as a UTC instant.  Daylight-saving changes never skip or double a day:
- a time that does not exist that day (clocks spring forward over it) fires once, shifted
  forward by the gap (02:30 becomes 03:30);
- a time that happens twice (clocks fall back over it) fires once, at its first occurrence.
Both follow from PEP 495's fold=0, which `datetime.combine` gives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One day's digest: the subscriber's calendar day it is for, and the UTC instant it is due."""

    local_date: date
    at: datetime


def parse_hhmm(text: str) -> time:
    """"07:30" -> time(7, 30); anything else is a ValueError naming the expected form."""
    match = _HHMM.match(text.strip())
    if not match:
        raise ValueError(f"a digest time is HH:MM, 24-hour, e.g. 07:30 (got {text!r})")
    return time(int(match.group(1)), int(match.group(2)))


def occurrence_on(day: date, at: time, tz: tzinfo) -> Occurrence:
    """The digest for local day `day`: HH:MM there (shifted over a gap, first of two over an overlap)."""
    return Occurrence(day, datetime.combine(day, at, tzinfo=tz).astimezone(UTC))


def next_occurrence(now: datetime, at: time, tz: tzinfo) -> Occurrence:
    """The first digest strictly after `now`."""
    today = now.astimezone(tz).date()
    for offset in range(-1, 3):
        occurrence = occurrence_on(today + timedelta(days=offset), at, tz)
        if occurrence.at > now:
            return occurrence
    raise AssertionError("unreachable: some day within two has its digest after now")


def previous_occurrence(now: datetime, at: time, tz: tzinfo) -> Occurrence:
    """The latest digest due at or before `now`."""
    today = now.astimezone(tz).date()
    for offset in range(1, -3, -1):
        occurrence = occurrence_on(today + timedelta(days=offset), at, tz)
        if occurrence.at <= now:
            return occurrence
    raise AssertionError("unreachable: some day within two has its digest before now")


def missed_occurrence(now: datetime, at: time, tz: tzinfo, grace: timedelta) -> Occurrence | None:
    """At start: the digest whose time passed less than `grace` ago, if any (the caller checks it was not sent)."""
    occurrence = previous_occurrence(now, at, tz)
    return occurrence if now - occurrence.at < grace else None
