"""`communique report`: the speed and spread of coverage over a period, as tables for the terminal.

Times are UTC.  Texts are cut to one line; columns are padded by characters, so a right-to-left
or wide-character outlet name may sit a little off in some terminals.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from communique.coverage_stats import CoverageSummary, StatementCoverage, counted, minutes_text
from communique.messages import excerpt
from communique.store.timefmt import from_db

TEXT_WIDTH = 60


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> list[str]:
    """Columns padded to their widest cell; the columns whose index is in `right` aligned right."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def _when(value: str | None) -> str:
    moment = from_db(value)
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "undated"


def _text(item: StatementCoverage) -> str:
    st = item.statement
    return excerpt((st["text"] or f"[{st['media'] or 'no text'}]").replace("\n", " "), TEXT_WIDTH)


def _period(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"


def report_lines(summary: CoverageSummary) -> list[str]:
    """The whole report: counts, time to first report per statement, outlets fastest first, languages,
    countries, and the statements no outlet picked up."""
    total, reported = len(summary.statements), len(summary.reported)
    lines = [f"Coverage of statements posted {_period(summary.start, summary.end)}",
             f"{total} statements · {reported} reported · {total - reported} not picked up by any outlet · "
             f"median time to the first report {minutes_text(summary.median_first)}"]
    if not total:
        return [*lines, "", "No statements were posted in this period."]
    lines += ["", "Time to the first report, by statement"]
    lines += table(["posted (UTC)", "channel", "first report", "outlets", "languages", "statement"],
                   [[_when(s.statement["date"]), s.statement["channel"],
                     minutes_text(s.first_minutes) if s.reports else "not reported",
                     str(len({r["source"] for r in s.reports})), " ".join(s.languages) or "—", _text(s)]
                    for s in summary.statements], right=(3,))
    if summary.outlets:
        lines += ["", "Outlets, fastest first: minutes from the post to the outlet's first report of it"]
        lines += table(["outlet", "country", "languages", "statements", "median", "fastest", "slowest"],
                       [[o.outlet, o.country or "—", " ".join(o.languages), str(o.statements),
                         minutes_text(o.median), minutes_text(min(o.delays)), minutes_text(max(o.delays))]
                        for o in summary.outlets], right=(3, 4, 5, 6))
    lines += ["", f"Languages of the coverage (statements reported in each): {counted(summary.languages)}",
              f"Countries of the coverage (statements reported from each): {counted(summary.countries)}"]
    if summary.countries.get("unknown"):
        lines.append("  (unknown: outlets without a `country` in their [[feed]] or news [[channel]] configuration)")
    if summary.unreported:
        lines += ["", f"Not picked up by any outlet ({len(summary.unreported)})"]
        lines += table(["posted (UTC)", "channel", "post", "statement"],
                       [[_when(s.statement["date"]), s.statement["channel"], s.statement["url"] or "—", _text(s)]
                        for s in summary.unreported])
    return lines
