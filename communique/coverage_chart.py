"""`communique report --chart PATH`: time to coverage by outlet, as a PNG.

One row per outlet, fastest median first (at the top): a dot for each statement it reported, at the
minutes from the post to its first report, and a bar to the median.  The axis is linear up to an hour
and logarithmic beyond, so a report a day late does not squash the first hour.  Drawn headless with
matplotlib's Agg canvas (no pyplot, no display), on the calling thread: the command line's.
"""

from __future__ import annotations

import io

from communique.coverage_stats import OutletSpeed
from communique.digest_chart import visual

WIDTH, DPI = 8.0, 100
ROW_INCHES, MIN_HEIGHT = 0.45, 2.6
MAX_OUTLETS = 25  # the fastest this many; a longer list is cut (the table has them all)
TICKS = ((0, "0"), (15, "15 min"), (30, "30 min"), (60, "1 h"), (90, "1 h 30"), (120, "2 h"), (180, "3 h"),
         (360, "6 h"), (720, "12 h"), (1440, "1 day"), (2880, "2 days"), (4320, "3 days"), (10080, "7 days"))


def _label(name: str) -> str:
    """An outlet's name as the chart shows it: cut to 30 characters, Arabic and Hebrew shaped and ordered."""
    return visual(name if len(name) <= 30 else name[:29] + "…")


def render_speed_chart(outlets: list[OutletSpeed], *, title: str) -> bytes:
    """The PNG; `outlets` fastest first, as `coverage_stats.outlet_speeds` orders them (at least one)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = outlets[:MAX_OUTLETS]
    height = max(MIN_HEIGHT, 1.6 + ROW_INCHES * len(shown))
    figure = Figure(figsize=(WIDTH, height), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    rows = range(len(shown))
    axes.barh(list(rows), [o.median for o in shown], height=0.55, color="#9ecae1", label="median")
    for row, outlet in zip(rows, shown, strict=True):
        axes.scatter(outlet.delays, [row] * len(outlet.delays), s=18, color="#08519c", zorder=3,
                     label="a statement's first report" if row == 0 else None)
    axes.set_yticks(list(rows), [f"{_label(o.outlet)} ({o.statements})" for o in shown], fontsize=8)
    axes.invert_yaxis()  # fastest at the top
    axes.set_xscale("symlog", linthresh=60, linscale=1.5)
    longest = max(max(o.delays) for o in shown)
    right = max(longest, 60) * 1.15
    ticks = [(t, text) for t, text in TICKS if t <= right]
    axes.set_xticks([t for t, _ in ticks], [text for _, text in ticks], fontsize=8)
    axes.set_xlim(0, right)
    axes.set_xlabel("time from the post to the outlet's first report", fontsize=9)
    axes.set_title(title, fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=8, frameon=False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
