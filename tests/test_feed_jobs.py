"""Feeds polled on the bot's own job queue (PTB's JobQueue, APScheduler underneath): each feed at its
own pace, resumed at its stored schedule after a restart, and fifty of them at once without stalling
the event loop the bot answers on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from communique.monitors.feed_jobs import schedule_feeds
from communique.monitors.feed_state import sync_feeds
from communique.monitors.feeds import PollPolicy, new_client
from conftest import SAMPLES
from fakebotapi import FakeBotAPI
from feedsite import FeedSite, site_fixture  # noqa: F401  (the `site` fixture)
from sqlite_utils import Database
from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from communique.settings import FeedConfig, Settings
from communique.store import StoreThread, transaction

FEEDS = SAMPLES / "feeds"
POLICY = PollPolicy(timeout=2, concurrency=8)


def client_factory() -> Callable[[], httpx.AsyncClient]:
    return lambda: new_client(POLICY, trust_env=False)


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def jobs_by_name(app: Application) -> dict[str, datetime | None]:
    assert app.job_queue is not None
    return {job.name: job.next_t for job in app.job_queue.jobs() if job.name}


async def test_each_feed_is_polled_at_once_if_due_and_its_next_poll_is_scheduled_after_its_interval(
        site: FeedSite, db_path: Path, db: Database, settings: Settings) -> None:
    due = FeedConfig(site.serve("/due.xml", (FEEDS / "wire_en.xml").read_bytes()), "Due", interval=900)
    later = FeedConfig(site.serve("/later.xml", (FEEDS / "wire_ar.xml").read_bytes()), "Later", interval=600)
    resume_at = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=45)
    with transaction(db):  # as a previous run left it: backing off until resume_at
        sync_feeds(db, [later], now=resume_at)
    store = StoreThread(db_path)
    app = Application.builder().token("1:feeds-only").build()  # never connected: feeds need no bot
    assert app.job_queue is not None
    jobs = schedule_feeds(app.job_queue, replace(settings, feeds=(due, later)), store,
                          client_factory=client_factory())
    await app.job_queue.start()
    try:
        await wait_until(lambda: f"feed:{due.url}" in jobs_by_name(app) and bool(site.requests_to("/due.xml"))
                         and jobs_by_name(app)[f"feed:{due.url}"] > datetime.now(UTC) + timedelta(minutes=10))
        scheduled = jobs_by_name(app)
    finally:
        await app.job_queue.stop()
        await jobs.aclose()
        store.close()
    assert len(site.requests_to("/due.xml")) == 1 and site.requests_to("/later.xml") == []
    next_due = scheduled[f"feed:{due.url}"]
    assert next_due is not None and abs(next_due - datetime.now(UTC) - timedelta(minutes=15)) < timedelta(seconds=5)
    next_later = scheduled[f"feed:{later.url}"]
    assert next_later is not None and abs(next_later - resume_at) < timedelta(seconds=1)
    assert db.execute("SELECT count(*) FROM news").fetchone()[0] == 11


async def test_fifty_feeds_polled_at_once_never_stall_the_loop_and_the_bot_keeps_answering(
        site: FeedSite, db_path: Path, db: Database, settings: Settings, fake_bot_api: FakeBotAPI) -> None:
    docs = [(FEEDS / name).read_bytes() for name in ("wire_en.xml", "wire_ar.xml", "vesti_ru.atom")]
    # One in ten answers only after 0.3 s: a poller that waited for it on the loop would stall the bot.
    feeds = tuple(FeedConfig(site.serve(f"/f{n}.xml", docs[n % 3], delay=0.3 if n % 10 == 0 else 0), f"Outlet {n}")
                  for n in range(50))

    async def ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("pong")

    app = Application.builder().token(fake_bot_api.token).base_url(fake_bot_api.base_url).build()
    app.add_handler(CommandHandler("ping", ping))
    assert app.job_queue is not None
    store = StoreThread(db_path)
    jobs = schedule_feeds(app.job_queue, replace(settings, feeds=feeds), store, client_factory=client_factory())
    gaps: list[float] = []

    async def heartbeat() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    async def all_feeds_polled() -> int:
        # The fifty feeds serve three documents: an article is one row whichever feed brought it first.
        return await store.run(lambda d: d.execute(
            "SELECT count(*) FROM feeds WHERE last_success IS NOT NULL").fetchone()[0])

    beating = asyncio.create_task(heartbeat())
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await asyncio.sleep(0.05)  # the start job has fanned out into fifty polls
        fake_bot_api.push_message(42, "/ping")
        reply = await fake_bot_api.wait_for_messages(42, 1, timeout=5)
        deadline = time.monotonic() + 8
        while await all_feeds_polled() < 50:
            assert time.monotonic() < deadline, "the feeds were not all polled"
            await asyncio.sleep(0.05)
        await app.updater.stop()
        await app.stop()
    beating.cancel()
    await jobs.aclose()
    store.close()

    assert reply[0]["text"] == "pong"
    assert max(gaps) < 0.2, f"the event loop stalled for {max(gaps):.3f} s"
    assert db.execute("SELECT count(*) FROM news").fetchone()[0] == 11 + 10 + 10  # each article of the three once
    assert all(len(site.requests_to(f"/f{n}.xml")) == 1 for n in range(50))


async def test_a_store_that_cannot_be_opened_at_start_is_retried_instead_of_never_polling(
        site: FeedSite, tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    feed = FeedConfig(site.serve("/f.xml", (FEEDS / "wire_en.xml").read_bytes()), "Wire")
    store = StoreThread(tmp_path)  # a directory, not a database file
    app = Application.builder().token("1:feeds-only").build()
    assert app.job_queue is not None
    jobs = schedule_feeds(app.job_queue, replace(settings, feeds=(feed,)), store, client_factory=client_factory())
    await app.job_queue.start()
    try:
        await wait_until(lambda: any("trying again in 60 s" in r.getMessage() for r in caplog.records))
        retry = jobs_by_name(app)
    finally:
        await app.job_queue.stop()
        await jobs.aclose()
        store.close()
    start = retry["feeds:start"]
    assert start is not None and timedelta(seconds=55) < start - datetime.now(UTC) <= timedelta(seconds=60)
    assert site.requests_to("/f.xml") == []
