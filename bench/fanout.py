"""Benchmark: fan one alert out to many chats through the delivery loop and the fake Bot API server.

Prints messages per second as a fraction of Telegram's overall limit (30/s).  The fake server
enforces Telegram's limits (answering 429 when a send breaks one) and its log is checked
afterwards for any send that broke a sliding window.

    .venv/bin/python bench/fanout.py                  # 10,000 chats at Telegram's real limits (~6 min)
    .venv/bin/python bench/fanout.py --chats 1000     # the same rate in 35 s
    .venv/bin/python bench/fanout.py --scale 20       # windows 20x shorter: ceiling 600/s, reported as a fraction
    .venv/bin/python bench/fanout.py --latency 0.1    # with 100 ms per request, like a distant server
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from communique.bot.delivery import Delivery, DeliveryOptions  # noqa: E402
from communique.bot.ratelimit import Limits  # noqa: E402
from fakebotapi import FakeBotAPI, RateLimits  # noqa: E402
from telegram import Bot  # noqa: E402

from communique.models import Alert  # noqa: E402
from communique.store import StoreThread, open_db, outbox, transaction  # noqa: E402

TEXT = ("🔔 <b>Минобороны России</b> · 28 Nov 2026, 23:00 MSK\n\n<blockquote>Средствами ПВО перехвачены и "
        "уничтожены 24 беспилотника над Белгородской областью.</blockquote>\n\n"
        '<a href="https://t.me/mod_russia/51234">Source post</a>\n\n<i>No tracked outlet has reported this yet.</i>')


def chat_ids(count: int) -> list[int]:
    """Nine private chats for each group, as a bot with many subscribers would have."""
    return [-1_000_000_000_000 - i if i % 10 == 0 else 10_000 + i for i in range(count)]


def fill(db_path: Path, chats: list[int]) -> None:
    db = open_db(db_path)
    now = datetime.now(UTC)
    with transaction(db):
        for chat in chats:
            outbox.enqueue(db, Alert("alert:mod_russia/51234", chat, TEXT), now=now)
    db.conn.close()


def sent_count(db: object) -> int:
    return db.execute("SELECT count(*) FROM outbox WHERE state = 'sent'").fetchone()[0]  # type: ignore[attr-defined]


async def fan_out(db_path: Path, chats: int, scale: float, latency: float) -> None:
    limits = Limits().scaled(scale)
    with FakeBotAPI(enforce_rate_limits=True, limits=RateLimits().scaled(scale), latency=latency) as fake:
        store = StoreThread(db_path)
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            delivery = Delivery(bot, store, DeliveryOptions(worker="bench", limits=limits, poll_interval=0.05))
            started = time.perf_counter()
            delivery.start()
            while (done := await store.run(sent_count)) < chats:
                await asyncio.sleep(0.1)
            elapsed = time.perf_counter() - started
            await delivery.stop()
        store.close()
        violations = fake.rate_violations()
        throttled = sum(1 for c in fake.calls if c.status == 429)
    ceiling = limits.overall / limits.overall_window
    rate = done / elapsed
    print(f"chats: {chats:,}, windows scaled x{scale:g}, request latency {latency * 1000:.0f} ms")
    print(f"sent {done:,} messages in {elapsed:.1f} s: {rate:.1f} msg/s")
    print(f"ratio to the overall limit ({ceiling:g}/s{'' if scale == 1 else ', i.e. 30/s scaled'}): "
          f"{rate / ceiling:.3f}")
    print(f"429 answers: {throttled}, sliding-window violations: {len(violations)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--scale", type=float, default=1.0, help="make every limit window this many times shorter")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the fake server takes per request")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="communique-bench-") as tmp:
        db_path = Path(tmp) / "bench.db"
        fill(db_path, chat_ids(args.chats))
        asyncio.run(fan_out(db_path, args.chats, args.scale, args.latency))


if __name__ == "__main__":
    main()
