"""Speed and spread of coverage: who picked each statement up, how fast, in which languages and countries.

Plain functions over the store, the clock passed in as `now`.  A report is a stored match (score at
or above the covered threshold: `communique.pipeline.record_matches` stores no other).  An outlet's
time to cover a statement is its first report's minutes after the post; a report dated before the
post (the outlet's clock, or a date-only feed) counts as 0.  Outlets are ranked by the median of
those minutes, so one story a day late does not hide that an outlet is usually first.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from communique.i18n import ENGLISH, Tr
from communique.settings import Settings
from communique.store import matches as match_store
from communique.store.timefmt import to_db

STATS_PERIOD = timedelta(days=30)  # /stats: outlets' medians over the last 30 days
CHUNK = 1000  # statement ids per coverage query, well under SQLite's limit on a query's parameters
UNKNOWN_COUNTRY = "unknown"


@dataclass(frozen=True, slots=True)
class StatementCoverage:
    """A statement and the news items that report it, earliest first (`store.matches.coverage` rows)."""

    statement: dict[str, Any]
    reports: list[dict[str, Any]]

    @property
    def first_minutes(self) -> int | None:
        """Minutes from the post to its first report (None if unreported or undated)."""
        delays = [r["delay_minutes"] for r in self.reports if r["delay_minutes"] is not None]
        return max(0, min(delays)) if delays else None

    @property
    def languages(self) -> list[str]:
        return sorted({r["lang"] or "und" for r in self.reports})


@dataclass(frozen=True, slots=True)
class OutletSpeed:
    """An outlet's minutes from post to its first report, one value per statement it reported."""

    outlet: str
    country: str | None
    languages: tuple[str, ...]
    delays: tuple[int, ...]

    @property
    def median(self) -> float:
        return float(statistics.median(self.delays))

    @property
    def statements(self) -> int:
        return len(self.delays)


@dataclass(slots=True)
class CoverageSummary:
    start: datetime
    end: datetime
    statements: list[StatementCoverage]
    outlets: list[OutletSpeed] = field(default_factory=list)  # fastest median first
    languages: Counter[str] = field(default_factory=Counter)  # statements reported in each language
    countries: Counter[str] = field(default_factory=Counter)  # statements reported from each country

    @property
    def reported(self) -> list[StatementCoverage]:
        return [s for s in self.statements if s.reports]

    @property
    def unreported(self) -> list[StatementCoverage]:
        return [s for s in self.statements if not s.reports]

    @property
    def median_first(self) -> float | None:
        """The median over reported statements of the minutes to their first report."""
        firsts = [m for s in self.statements if (m := s.first_minutes) is not None]
        return float(statistics.median(firsts)) if firsts else None


def statements_between(db: Database, start: datetime, end: datetime,
                       channels: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The statements posted in [start, end), oldest first, optionally of some channels only."""
    where, params = "date >= ? AND date < ?", [to_db(start), to_db(end)]
    if channels:
        where += f" AND channel IN ({','.join('?' * len(channels))})"
        params += list(channels)
    return list(db.query(f"SELECT * FROM statements WHERE {where} ORDER BY date, id", params))


def with_reports(db: Database, statements: list[dict[str, Any]]) -> list[StatementCoverage]:
    found = in_chunks(match_store.coverage, db, [row["id"] for row in statements])
    return [StatementCoverage(row, found[row["id"]]) for row in statements]


def in_chunks(fetch: Callable[[Database, list[int]], dict[int, list[dict[str, Any]]]], db: Database,
              statement_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """`fetch` (`store.matches.coverage` or `.related`) for any number of statements, CHUNK ids a query."""
    found: dict[int, list[dict[str, Any]]] = {}
    for at in range(0, len(statement_ids), CHUNK):
        found |= fetch(db, statement_ids[at:at + CHUNK])
    return found


def outlet_speeds(statements: Iterable[StatementCoverage], country: Mapping[str, str | None] | None = None,
                  ) -> list[OutletSpeed]:
    """Per outlet, its first report's delay for each statement it reported; fastest median first."""
    delays: dict[str, list[int]] = {}
    languages: dict[str, set[str]] = {}
    for item in statements:
        firsts: dict[str, int] = {}
        for report in item.reports:
            languages.setdefault(report["source"], set()).add(report["lang"] or "und")
            if report["delay_minutes"] is not None:
                minutes = max(0, report["delay_minutes"])
                firsts[report["source"]] = min(minutes, firsts.get(report["source"], minutes))
        for outlet, minutes in firsts.items():
            delays.setdefault(outlet, []).append(minutes)
    speeds = [OutletSpeed(outlet, (country or {}).get(outlet), tuple(sorted(languages[outlet])), tuple(values))
              for outlet, values in delays.items()]
    return sorted(speeds, key=lambda s: (s.median, -s.statements, s.outlet))


def summarise(db: Database, *, start: datetime, end: datetime, settings: Settings,
              channels: Sequence[str] | None = None) -> CoverageSummary:
    """Coverage of the statements posted in [start, end): per statement, per outlet, by language and country."""
    statements = with_reports(db, statements_between(db, start, end, channels))
    outlets = {r["source"] for s in statements for r in s.reports}
    country = {outlet: settings.outlet_country(outlet) for outlet in outlets}
    summary = CoverageSummary(start, end, statements, outlet_speeds(statements, country))
    for item in statements:
        summary.languages.update(set(item.languages))
        summary.countries.update({country[r["source"]] or UNKNOWN_COUNTRY for r in item.reports})
    return summary


def last_days(db: Database, *, now: datetime, settings: Settings,
              period: timedelta = STATS_PERIOD) -> CoverageSummary:
    return summarise(db, start=now - period, end=now, settings=settings)


def minutes_text(minutes: float | None, t: Tr = ENGLISH) -> str:
    """"16 min", "1 h 15 min", "2.5 days": a delay as a person reads it."""
    if minutes is None:
        return "—"
    whole = round(minutes)
    if whole < 60:
        return t.gettext("{minutes} min").format(minutes=whole)
    if whole < 48 * 60:
        hours, rest = divmod(whole, 60)
        return (t.gettext("{hours} h {minutes} min").format(hours=hours, minutes=f"{rest:02d}") if rest else
                t.gettext("{hours} h").format(hours=hours))
    return t.gettext("{days} days").format(days=f"{whole / 1440:.1f}")


def counted(counter: Counter[str], t: Tr = ENGLISH) -> str:
    """"en 6, ru 5, ar 4": most first."""
    return t.join(f"{key} {n}" for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))) or \
        t.gettext("none")


def stats_lines(summary: CoverageSummary, *, fastest: int = 5, t: Tr = ENGLISH) -> list[str]:
    """Plain-text lines for /stats: the period's reach, the fastest outlets, languages and countries."""
    total, reported = len(summary.statements), len(summary.reported)
    share = f" ({reported / total:.0%})" if total else ""
    lines = [t.ngettext("{total} statement, {reported} reported{share}, {unreported} not picked up by any outlet; "
                        "median time to the first report {median}",
                        "{total} statements, {reported} reported{share}, {unreported} not picked up by any outlet; "
                        "median time to the first report {median}", total).format(
        total=total, reported=reported, share=share, unreported=total - reported,
        median=minutes_text(summary.median_first, t))]
    if summary.outlets:
        lines.append(t.gettext("Fastest outlets (median): {outlets}").format(outlets=t.join(
            f"{t.isolate(s.outlet)} {minutes_text(s.median, t)} ({s.statements})" for s in summary.outlets[:fastest])))
    lines.append(t.gettext("Languages: {counts}").format(counts=t.isolate(counted(summary.languages, t))))
    lines.append(t.gettext("Countries: {counts}").format(counts=t.isolate(counted(summary.countries, t))))
    return lines
