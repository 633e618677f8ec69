"""When digests go out: each chat at its own local hour, exactly once a day, across DST changes and restarts."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from time import monotonic
from zoneinfo import ZoneInfo

import pytest
from communique.bot.context import schedule_changed
from communique.bot.digest_jobs import schedule_digests, scheduled_digests
from telegram.ext import Application, CallbackContext

from communique.digest_schedule import Occurrence, missed_occurrence, next_occurrence, parse_hhmm
from communique.models import Statement
from communique.store import StoreThread
from communique.store.statements import upsert_statement
from communique.store.subscribers import ensure_subscriber, subscribe, update_subscriber

BERLIN, BEIRUT, NEW_YORK, MOSCOW = (ZoneInfo(z) for z in ("Europe/Berlin", "Asia/Beirut", "America/New_York",
                                                          "Europe/Moscow"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fired(start: datetime, count: int, at: time, tz: ZoneInfo) -> list[Occurrence]:
    """The chat's next `count` digests from `start`: each one, once sent, schedules the next."""
    sent, now = [], start
    for _ in range(count):
        sent.append(next_occurrence(now, at, tz))
        now = sent[-1].at
    return sent


# -- the schedule, as pure time arithmetic ----------------------------------------------------------

def test_two_chats_in_different_zones_are_due_at_their_own_local_hours():
    now = utc(2026, 11, 30, 3, 0)
    beirut = next_occurrence(now, time(7, 30), BEIRUT)
    new_york = next_occurrence(now, time(7, 30), NEW_YORK)
    assert beirut == Occurrence(date(2026, 11, 30), utc(2026, 11, 30, 5, 30))
    assert new_york == Occurrence(date(2026, 11, 30), utc(2026, 11, 30, 12, 30))


@pytest.mark.parametrize(("zone", "hhmm", "night", "local_times"), [
    # clocks spring forward over 02:30: that day's digest comes once, at 03:30
    (BERLIN, "02:30", date(2026, 3, 29), ["02:30 CET", "03:30 CEST", "02:30 CEST"]),
    # clocks fall back over 02:30: it happens twice, the digest comes once, the first time
    (BERLIN, "02:30", date(2026, 10, 25), ["02:30 CEST", "02:30 CEST", "02:30 CET"]),
    # Beirut changes at midnight: 00:30 does not exist in spring; 23:30 happens twice in autumn
    (BEIRUT, "00:30", date(2026, 3, 29), ["00:30 EET", "01:30 EEST", "00:30 EEST"]),
    (BEIRUT, "23:30", date(2026, 10, 24), ["23:30 EEST", "23:30 EEST", "23:30 EET"]),
])
def test_a_night_with_a_daylight_saving_change_gets_exactly_one_digest(zone, hhmm, night, local_times):
    sent = fired(datetime.combine(night - timedelta(days=1), time(0), tzinfo=zone), 3, parse_hhmm(hhmm), zone)
    assert Counter(o.local_date for o in sent) == {night - timedelta(days=1): 1, night: 1, night + timedelta(days=1): 1}
    assert [o.at.astimezone(zone).strftime("%H:%M %Z") for o in sent] == local_times
    assert all(later.at - earlier.at >= timedelta(hours=23) for earlier, later in pairwise(sent))


def test_a_missed_digest_counts_within_the_grace_period_only():
    at, grace = time(8, 0), timedelta(hours=6)
    assert missed_occurrence(utc(2026, 11, 30, 6, 0), at, MOSCOW, grace) == Occurrence(date(2026, 11, 30),
                                                                                       utc(2026, 11, 30, 5, 0))
    assert missed_occurrence(utc(2026, 11, 30, 15, 0), at, MOSCOW, grace) is None


@pytest.mark.parametrize("text", ["24:00", "7.30", "0730", "12:60", ""])
def test_a_digest_time_must_be_hh_mm(text):
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm(text)


# -- the schedule, kept by PTB's job queue ----------------------------------------------------------

class Clock:
    """A fixed starting instant that then moves with real time, so the job queue's real delays line up."""

    def __init__(self, start: datetime) -> None:
        self.start, self.t0 = start, monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=monotonic() - self.t0)


def chat(db, chat_id: int, zone: str, hhmm: str) -> None:
    """A chat following @mod_russia, which posted the day before."""
    ensure_subscriber(db, chat_id, now=utc(2026, 1, 1, 0, 0))
    update_subscriber(db, chat_id, timezone=zone, digest_time=hhmm)
    subscribe(db, chat_id, "channel", "mod_russia", now=utc(2026, 1, 1, 0, 0))


def posted_on(db, day: date) -> None:
    """A post in the evening (UTC) before `day`: in every chat's digest of that day."""
    at = datetime.combine(day, time(20), tzinfo=UTC) - timedelta(days=1)
    upsert_statement(db, Statement(channel="mod_russia", ext_id=str(day), message_id=day.toordinal(),
                                   text="Сводка за сутки", date=at), now=at)


def digests(db) -> dict[int, list[tuple[str, str]]]:
    """Per chat: (local date, when it was queued) of each digest."""
    found: dict[int, list[tuple[str, str]]] = {}
    for chat_id, local_date, created in db.execute("SELECT chat_id, local_date, created_at FROM digests "
                                                   "ORDER BY created_at"):
        found.setdefault(chat_id, []).append((local_date, created[:16]))
    return found


@asynccontextmanager
async def bot_running(fake, settings, db_path, start: datetime):
    """One run of the bot process from `start`: a real Application on the fake Bot API, digests scheduled."""
    store = StoreThread(db_path)
    app = Application.builder().token(fake.token).base_url(fake.base_url).build()
    try:
        async with app:
            await app.start()
            schedule_digests(app.job_queue, settings, store, clock=Clock(start))
            await until(lambda: len(scheduled_digests(app.job_queue)) > 0)
            try:
                yield app
            finally:
                await app.stop()
    finally:
        store.close()


def due(app, chat_id: int) -> datetime | None:
    """When the job queue will next send this chat its digest (None while its job runs)."""
    occurrence = scheduled_digests(app.job_queue).get(chat_id)
    return occurrence.at if occurrence else None


async def until(condition, timeout: float = 5.0) -> None:
    deadline = monotonic() + timeout
    while not condition():
        assert monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_two_chats_in_different_zones_get_their_digests_at_their_local_hours(db, db_path, settings,
                                                                                   fake_bot_api):
    chat(db, 1, "Asia/Beirut", "07:30")
    chat(db, 2, "America/New_York", "07:30")
    posted_on(db, date(2026, 11, 30))

    async with bot_running(fake_bot_api, settings, db_path, utc(2026, 11, 30, 5, 29, 59) + timedelta(seconds=0.7)) \
            as app:  # 07:29:59.7 in Beirut, 00:29:59.7 in New York
        await until(lambda: due(app, 1) == utc(2026, 12, 1, 5, 30))
        assert digests(db) == {1: [("2026-11-30", "2026-11-30T05:30")]}
        assert scheduled_digests(app.job_queue) == {
            1: Occurrence(date(2026, 12, 1), utc(2026, 12, 1, 5, 30)),  # tomorrow, 07:30 in Beirut
            2: Occurrence(date(2026, 11, 30), utc(2026, 11, 30, 12, 30))}  # today, 07:30 in New York

    async with bot_running(fake_bot_api, settings, db_path, utc(2026, 11, 30, 12, 29, 59) + timedelta(seconds=0.7)) \
            as app:
        await until(lambda: due(app, 2) == utc(2026, 12, 1, 12, 30))
    assert digests(db) == {1: [("2026-11-30", "2026-11-30T05:30")], 2: [("2026-11-30", "2026-11-30T12:30")]}
    assert [row[0] for row in db.execute("SELECT chat_id FROM outbox WHERE kind = 'digest'")] == [1, 2]


@pytest.mark.parametrize(("start", "local_date", "next_due"), [
    # Berlin, 02:30, the night clocks spring forward: once, at 03:30 CEST; the next night at 02:30 CEST
    (utc(2026, 3, 29, 1, 29, 59), "2026-03-29", utc(2026, 3, 30, 0, 30)),
    # the night clocks fall back: once, at the first 02:30; the next at 02:30 CET, not the second 02:30
    (utc(2026, 10, 25, 0, 29, 59), "2026-10-25", utc(2026, 10, 26, 1, 30)),
])
async def test_a_chat_in_a_zone_changing_clocks_that_night_gets_exactly_one_digest(
        db, db_path, settings, fake_bot_api, start, local_date, next_due):
    chat(db, 3, "Europe/Berlin", "02:30")
    async with bot_running(fake_bot_api, settings, db_path, start + timedelta(seconds=0.7)) as app:
        await until(lambda: due(app, 3) == next_due)
        assert [day for day, _ in digests(db)[3]] == [local_date]


async def test_a_restart_an_hour_after_a_missed_digest_sends_it_once(db, db_path, settings, fake_bot_api):
    chat(db, 4, "Europe/Moscow", "08:00")
    posted_on(db, date(2026, 11, 30))
    for restart in (utc(2026, 11, 30, 6, 0), utc(2026, 11, 30, 6, 5)):  # 09:00 and 09:05 in Moscow
        async with bot_running(fake_bot_api, settings, db_path, restart) as app:
            await until(lambda: due(app, 4) == utc(2026, 12, 1, 5, 0))
    assert digests(db) == {4: [("2026-11-30", "2026-11-30T06:00")]}
    assert db.execute("SELECT count(*) FROM outbox WHERE chat_id = 4 AND kind = 'digest'").fetchone()[0] == 1


async def test_a_restart_ten_hours_after_a_missed_digest_does_not_send_it(db, db_path, settings, fake_bot_api):
    chat(db, 5, "Europe/Moscow", "08:00")
    posted_on(db, date(2026, 11, 30))
    async with bot_running(fake_bot_api, settings, db_path, utc(2026, 11, 30, 15, 0)) as app:  # 18:00 in Moscow
        assert scheduled_digests(app.job_queue) == {5: Occurrence(date(2026, 12, 1), utc(2026, 12, 1, 5, 0))}
    assert digests(db) == {}


async def test_a_new_hour_or_zone_reschedules_the_chat_and_off_unschedules_it(db, db_path, settings, fake_bot_api):
    chat(db, 6, "Europe/Moscow", "08:00")
    async with bot_running(fake_bot_api, settings, db_path, utc(2026, 11, 30, 12, 0)) as app:  # 15:00 in Moscow
        assert due(app, 6) == utc(2026, 12, 1, 5, 0)
        update_subscriber(db, 6, timezone="Asia/Beirut", digest_time="16:30")  # /timezone, /digest 16:30
        await schedule_changed(CallbackContext(app), 6)
        assert due(app, 6) == utc(2026, 11, 30, 14, 30)  # today, 16:30 in Beirut
        update_subscriber(db, 6, digest_time="13:00")  # an hour already past today: tomorrow, no catch-up
        await schedule_changed(CallbackContext(app), 6)
        assert due(app, 6) == utc(2026, 12, 1, 11, 0)
        update_subscriber(db, 6, digest_time=None)  # /digest off
        await schedule_changed(CallbackContext(app), 6)
        assert due(app, 6) is None and app.job_queue.get_jobs_by_name("digest:6") == ()
    assert digests(db) == {}


async def test_a_chat_with_an_unusable_time_zone_does_not_stop_the_others(db, db_path, settings, fake_bot_api):
    chat(db, 7, "Mars/Olympus_Mons", "08:00")
    chat(db, 8, "Europe/Moscow", "08:00")
    async with bot_running(fake_bot_api, settings, db_path, utc(2026, 11, 30, 15, 0)) as app:
        assert scheduled_digests(app.job_queue) == {8: Occurrence(date(2026, 12, 1), utc(2026, 12, 1, 5, 0))}
