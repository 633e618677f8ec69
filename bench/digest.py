"""Benchmark: 10,000 chats whose digests are due at the same hour, against Telegram's own pace.

A store is filled with a week of generated statements from the default configuration's official
channels (Russian, Ukrainian, English and Arabic texts from `bench/matching.py`'s templates) and
news reports of about half of them, and with chats that follow channels, topics and keywords in a
few common patterns, in several time zones.  Then, for every chat, the work a digest job does:
build the digest on the store (`plan_digest`), draw its chart, and record it in the outbox
(`record_digest`).  The time is printed beside the time Telegram needs to deliver what was
queued at 30 messages a second, its global limit: while building is faster than that, a busy
hour is paced by Telegram, not by us.

    .venv/bin/python bench/digest.py                 # 10,000 chats (about 3 minutes)
    .venv/bin/python bench/digest.py --chats 2000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from matching import LANGS, _event, _fill  # noqa: E402

from communique.digest import plan_digest, record_digest  # noqa: E402
from communique.digest_chart import render_chart  # noqa: E402
from communique.models import NewsItem, Statement  # noqa: E402
from communique.pipeline import ingest_news, ingest_statement  # noqa: E402
from communique.settings import load_settings  # noqa: E402
from communique.store import open_db, transaction  # noqa: E402
from communique.store.subscribers import ensure_subscriber, subscribe, update_subscriber  # noqa: E402

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
DAYS = 7
PER_DAY = 40
ZONES = ("Europe/Moscow", "Europe/Kyiv", "Asia/Beirut", "Europe/Berlin", "UTC")
SEND_RATE = 30.0  # messages a second, Telegram's limit across chats


def fill_store(db_path: Path, chats: int) -> None:
    settings = load_settings(ROOT / "config" / "communique.toml")
    official = [c for c in settings.channels if c.role == "official"]
    rng = random.Random(3)
    db = open_db(db_path)
    with transaction(db):
        for n in range(DAYS * PER_DAY):
            event, lang = _event(rng), rng.choice(LANGS)
            title, text = _fill(rng, lang, event["kind"], event)  # type: ignore[arg-type]
            channel = official[n % len(official)]
            posted = NOW - timedelta(days=DAYS) + timedelta(minutes=n * DAYS * 24 * 60 // (DAYS * PER_DAY))
            ingest_statement(db, Statement(channel=channel.key, ext_id=str(n), message_id=n + 1, date=posted,
                                           text=f"{title}. {text}", lang=lang, source="bench"),
                             settings=settings, now=posted, alert=False)
            if n % 2 == 0:  # reported by an outlet 20 minutes later, in another language
                other = rng.choice([x for x in LANGS if x != lang])
                news_title, news_text = _fill(rng, other, event["kind"], event)  # type: ignore[arg-type]
                ingest_news(db, NewsItem(source=f"outlet{n % 7}", guid=f"n{n}", title=news_title, text=news_text,
                                         date=posted + timedelta(minutes=20), lang=other),
                            settings=settings, now=posted + timedelta(minutes=20), notify=False)
        patterns = [[("channel", c.key)] for c in official] + [[("topic", t.name)] for t in settings.topics]
        patterns += [[("channel", official[0].key), ("topic", "air-defence")], [("keyword", "Курск")],
                     [("keyword", "drone"), ("channel", official[-1].key)]]
        for chat in range(1, chats + 1):
            ensure_subscriber(db, chat, now=NOW - timedelta(days=DAYS + 1))
            update_subscriber(db, chat, timezone=ZONES[chat % len(ZONES)])
            for kind, value in patterns[chat % len(patterns)]:
                subscribe(db, chat, kind, value, now=NOW - timedelta(days=DAYS + 1))
    db.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=10_000)
    args = parser.parse_args()
    settings = load_settings(ROOT / "config" / "communique.toml")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        began = time.perf_counter()
        fill_store(path, args.chats)
        print(f"store: {DAYS * PER_DAY} statements over {DAYS} days, {args.chats:,} chats "
              f"({time.perf_counter() - began:.0f} s to fill)")
        db = open_db(path)
        build = chart = record = 0.0
        messages = photos = 0
        for chat in range(1, args.chats + 1):
            t0 = time.perf_counter()
            plan = plan_digest(db, chat, now=NOW, settings=settings)
            t1 = time.perf_counter()
            photo = render_chart(plan.chart) if plan is not None and plan.chart is not None else None
            t2 = time.perf_counter()
            with transaction(db):
                queued = record_digest(db, plan, photo=photo, now=NOW) if plan is not None else None
            t3 = time.perf_counter()
            build, chart, record = build + t1 - t0, chart + t2 - t1, record + t3 - t2
            messages += queued or 0
            photos += photo is not None
        db.conn.close()
    total = build + chart + record
    telegram = messages / SEND_RATE
    print(f"digests: {args.chats:,} chats, {messages:,} messages queued ({photos:,} with a chart)")
    print(f"  build  {build:7.1f} s  ({1000 * build / args.chats:5.1f} ms a chat)")
    print(f"  chart  {chart:7.1f} s  ({1000 * chart / max(photos, 1):5.1f} ms a chart)")
    print(f"  record {record:7.1f} s  ({1000 * record / args.chats:5.1f} ms a chat)")
    print(f"  all    {total:7.1f} s, against {telegram:.0f} s for Telegram to deliver them at {SEND_RATE:g}/s: "
          f"{telegram / total:.1f}x faster than delivery" if total else "")


if __name__ == "__main__":
    main()
