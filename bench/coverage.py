"""Benchmark: /stats' 30 days of coverage, `communique report` and `communique export` on a busy store.

A store is filled with a month of statements (20 an hour from 10 channels: 14,400), each reported by
0 to 6 of 40 outlets in 5 languages at 5 minutes to 2 days (about 43,000 reports), a few edited and
deleted.  Then it times what reads it: the 30-day summary /stats shows (on the store's thread), the
report's table and chart for a week, and the week's export in each format.

    .venv/bin/python bench/coverage.py
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from communique.coverage_chart import render_speed_chart  # noqa: E402
from communique.coverage_report import report_lines  # noqa: E402
from communique.coverage_stats import last_days, summarise  # noqa: E402
from communique.export import period_records, render  # noqa: E402
from communique.settings import load_settings  # noqa: E402
from communique.store import open_db, transaction  # noqa: E402
from communique.store.timefmt import to_db  # noqa: E402

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
DAYS, PER_HOUR, OUTLETS = 30, 20, 40
LANGS = ("ru", "uk", "en", "ar", "he")


def fill(db, rng: random.Random) -> tuple[int, int]:
    statements = reports = 0
    with transaction(db):
        for n in range(DAYS * 24 * PER_HOUR):
            posted = NOW - timedelta(days=DAYS) + timedelta(minutes=n * 60 / PER_HOUR)
            channel = f"channel_{n % 10}"
            sid = db["statements"].insert({
                "channel": channel, "ext_id": str(n), "message_id": n, "date": to_db(posted),
                "text": f"Statement {n}: air defences downed {n % 97} drones over the region.",
                "url": f"https://t.me/{channel}/{n}", "lang": "ru", "source": "bench", "version": 1,
                "edited_at": to_db(posted + timedelta(minutes=5)) if n % 50 == 0 else None,
                "deleted_at": to_db(posted + timedelta(hours=1)) if n % 200 == 0 else None,
                "ingested_at": to_db(posted)}).last_pk
            db.execute("INSERT INTO statement_parts (channel, ext_id, statement_id, text, deleted_at) "
                       "VALUES (?, ?, ?, '', ?)", (channel, str(n), sid,
                                                   to_db(posted + timedelta(hours=1)) if n % 200 == 0 else None))
            db.execute("INSERT INTO statement_versions (statement_id, version, text, recorded_at) "
                       "VALUES (?, 1, 'x', ?)", (sid, to_db(posted)))
            statements += 1
            for outlet in rng.sample(range(OUTLETS), rng.choice((0, 0, 1, 2, 3, 4, 6))):
                minutes = int(rng.lognormvariate(3.5, 1.2)) + 5
                nid = db["news"].insert({
                    "source": f"Outlet {outlet}", "guid": f"{outlet}/{n}", "url": f"https://o{outlet}.example/{n}",
                    "title": f"Report of {n}", "text": "...", "lang": LANGS[outlet % len(LANGS)],
                    "date": to_db(posted + timedelta(minutes=min(minutes, 2880))),
                    "ingested_at": to_db(posted)}).last_pk
                db.execute("INSERT INTO matches (statement_id, news_id, score, method, matched_at) "
                           "VALUES (?, ?, 0.9, 'lexical', ?)", (sid, nid, to_db(posted)))
                reports += 1
    return statements, reports


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"{label}: {time.perf_counter() - started:.2f} s")
    return result


def main() -> None:
    settings = load_settings(ROOT / "config" / "communique.toml")
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        statements, reports = fill(db, random.Random(7))
        print(f"{statements:,} statements over {DAYS} days, {reports:,} reports from {OUTLETS} outlets")
        timed("/stats, 30 days", lambda: last_days(db, now=NOW, settings=settings))
        week = NOW - timedelta(days=7)
        summary = timed("report, 7 days: summary", lambda: summarise(db, start=week, end=NOW, settings=settings))
        timed("report, 7 days: table", lambda: report_lines(summary))
        timed("report, 7 days: chart", lambda: render_speed_chart(summary.outlets, title="bench"))
        items = timed("export, 7 days: records", lambda: period_records(db, start=week, end=NOW, settings=settings))
        for fmt in ("csv", "jsonl", "xlsx"):
            data = timed(f"export, 7 days: {fmt}", lambda fmt=fmt: render(items, fmt))
            print(f"  {len(items):,} statements, {len(data) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
