"""The digest's chart: a real PNG of statements per day per followed channel over the last week."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import numpy as np
from matplotlib.image import imread

from communique.digest import plan_digest
from communique.digest_chart import COLOURS, ChartData, count_by_day, render_chart
from communique.models import Statement
from communique.store.statements import upsert_statement
from communique.store.subscribers import ensure_subscriber, subscribe, update_subscriber

WEEK = tuple(date(2026, 11, 22) + timedelta(days=n) for n in range(7))


def colour_runs(png: bytes, colour: str) -> list[int]:
    """Heights in pixels of the upright bars (and legend swatches) drawn in `colour`, left to right."""
    rgb = np.round(imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(int)
    mask = np.all(rgb == [int(colour[i:i + 2], 16) for i in (1, 3, 5)], axis=-1)
    columns = mask.sum(axis=0)
    runs, current = [], []
    for height in [*columns, 0]:
        if height:
            current.append(height)
        elif current:
            runs.append(int(np.median(current)))
            current = []
    return runs


def test_the_chart_is_a_png_the_size_of_a_small_image_that_reads_back():
    png = render_chart(ChartData(WEEK, {"Минобороны России": (1, 2, 3, 4, 5, 6, 7)}))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 2_000 < len(png) < 100_000
    assert imread(io.BytesIO(png), format="png").shape == (360, 720, 4)


def test_each_days_bar_is_as_tall_as_its_count():
    counts = (1, 4, 2, 7, 3, 5, 6)
    bars = colour_runs(render_chart(ChartData(WEEK, {"Минобороны России": counts})), COLOURS[0])
    bars, legend = bars[:7], bars[7:]
    assert len(bars) == 7 and len(legend) == 1  # seven days, one swatch in the legend
    unit = bars[0] / counts[0]
    assert unit > 20
    assert all(abs(height - count * unit) <= 2 for height, count in zip(bars, counts, strict=True))


def test_channels_are_stacked_in_their_own_colours_busiest_at_the_bottom():
    data = count_by_day([("МИД России", WEEK[1]), ("МИД России", WEEK[3])]
                        + [("Минобороны России", day) for day in WEEK for _ in range(3)], WEEK)
    assert list(data.series) == ["Минобороны России", "МИД России"]
    png = render_chart(data)
    mod, mid = colour_runs(png, COLOURS[0]), colour_runs(png, COLOURS[1])
    assert len(mod) == 8 and len(mid) == 3  # 7 bars + swatch; 2 bars + swatch
    assert all(abs(h - 3 * mid[0]) <= 3 for h in mod[:7])  # three posts a day against one


def test_counting_keeps_the_week_and_needs_three_days_with_statements():
    two_days = count_by_day([("A", WEEK[0]), ("A", WEEK[0]), ("B", WEEK[6]), ("A", date(2026, 11, 1))], WEEK)
    assert two_days.series == {"A": (2, 0, 0, 0, 0, 0, 0), "B": (0, 0, 0, 0, 0, 0, 1)}
    assert two_days.days_with_data == 2 and not two_days.enough
    assert count_by_day([("A", WEEK[0]), ("B", WEEK[3]), ("A", WEEK[5])], WEEK).enough


def test_a_digest_charts_the_statements_the_chat_follows_per_local_day(db, settings):
    now = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)  # 29 Nov, 00:00 in Moscow
    ensure_subscriber(db, 7, now=now - timedelta(days=30))
    update_subscriber(db, 7, timezone="Europe/Moscow")
    subscribe(db, 7, "channel", "mod_russia", now=now - timedelta(days=30))
    subscribe(db, 7, "topic", "baltic", now=now - timedelta(days=30))
    posts = [("mod_russia", 1, "Сводка за сутки", now - timedelta(days=8)),  # outside the week
             ("mod_russia", 2, "Сводка за сутки", now - timedelta(days=6, hours=-1)),
             ("mod_russia", 3, "Сводка за сутки", now - timedelta(days=2)),
             ("mod_russia", 4, "Сводка за сутки", now - timedelta(hours=22)),  # 23:00 UTC: next day in Moscow
             ("mid_russia", 5, "Учения на Балтике у Калининграда", now - timedelta(hours=10)),
             ("mid_russia", 6, "Визит в Бразилию", now - timedelta(hours=9))]  # not followed
    for channel, n, text, at in posts:
        upsert_statement(db, Statement(channel=channel, ext_id=str(n), message_id=n, text=text, date=at), now=at)

    chart = plan_digest(db, 7, now=now, settings=settings).digest.chart
    assert chart.days == tuple(date(2026, 11, 22) + timedelta(days=n) for n in range(7))  # the whole days before
    assert chart.series == {"Минобороны России": (0, 1, 0, 0, 0, 1, 1), "МИД России": (0, 0, 0, 0, 0, 0, 1)}
    assert chart.enough
    assert colour_runs(render_chart(chart), COLOURS[1])  # both channels drawn
