"""Benchmark: store time for one statement's alerts to a large audience, and for a report arriving while
they wait.

A store holds `--chats` subscribers (default 100,000) in a few patterns: half follow the channel that
posts, a quarter a topic the post meets, a quarter a keyword it does not; in five time zones.  Then one
statement is ingested (matched and queued for every chat it concerns), and news items that report it
arrive one by one while every alert still waits its turn in the outbox.  Each step is one transaction,
the store time during which nothing else is stored.  Printed beside the time Telegram needs to deliver
the alerts at 30 messages a second, its global limit.

    .venv/bin/python bench/audience.py                  # 100,000 chats (about a minute)
    .venv/bin/python bench/audience.py --chats 10000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from communique.models import NewsItem, Statement  # noqa: E402
from communique.pipeline import ingest_news, ingest_statement  # noqa: E402
from communique.settings import load_settings  # noqa: E402
from communique.store import open_db, transaction  # noqa: E402

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
ZONES = ("Europe/Moscow", "Europe/Kyiv", "Europe/Berlin", "Asia/Beirut", "UTC")
POST = Statement("mod_russia", "90001", "Средствами ПВО над территорией Белгородской области перехвачены и "
                 "уничтожены 24 беспилотника.", date=NOW - timedelta(minutes=5), message_id=90001, lang="ru")


def fill(db: object, chats: int) -> None:
    rows, follows = [], []
    for i in range(chats):
        chat = 1_000_000 + i
        rows.append((chat, "private", ZONES[i % len(ZONES)], NOW.isoformat()))
        follows.append((chat, *(("channel", "mod_russia"), ("channel", "mod_russia"), ("topic", "air-defence"),
                                ("keyword", "Женева"))[i % 4], NOW.isoformat()))
    conn = db.conn  # type: ignore[attr-defined]
    conn.executemany("INSERT INTO subscribers (chat_id, chat_type, timezone, created_at) VALUES (?, ?, ?, ?)", rows)
    conn.executemany("INSERT INTO subscriptions (chat_id, kind, value, created_at) VALUES (?, ?, ?, ?)", follows)


def report(n: int) -> NewsItem:
    return NewsItem(source=f"Outlet {n}", guid=f"r{n}", title="Над Белгородской областью сбиты 24 беспилотника",
                    text="Минобороны сообщило, что средствами ПВО над Белгородской областью уничтожены 24 "
                         "беспилотника.", url=f"https://outlet{n}.example/1", date=NOW + timedelta(minutes=n),
                    lang="ru")


def timed(db: object, step: object) -> tuple[float, object]:
    started = time.perf_counter()
    with transaction(db):  # type: ignore[arg-type]
        result = step()  # type: ignore[operator]
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--reports", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings(ROOT / "config" / "communique.toml")
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        with transaction(db):
            fill(db, args.chats)
        queue_time, outcome = timed(db, lambda: ingest_statement(db, POST, settings=settings, now=NOW))
        alerts = outcome.alerts  # type: ignore[attr-defined]
        report_times = [timed(db, lambda n=n: ingest_news(db, report(n), settings=settings, now=NOW))[0]
                        for n in range(1, args.reports + 1)]
        waiting = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    delivery = alerts / 30
    print(f"chats: {args.chats:,}; alerts queued for one statement: {alerts:,} (still waiting: {waiting:,})")
    print(f"queuing them: {queue_time:.2f} s of store time; Telegram needs {delivery:,.0f} s to deliver them "
          f"at 30/s ({delivery / queue_time:,.0f}x longer)")
    for n, seconds in enumerate(report_times, 1):
        print(f"report {n} arriving while they wait: {seconds * 1000:.1f} ms of store time")


if __name__ == "__main__":
    main()
