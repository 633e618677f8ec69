"""Daily digests through PTB's JobQueue: one one-shot job per chat, each scheduling the chat's next.

Why one job per chat rather than a minute tick that scans all chats: each job fires at the exact
instant `communique.digest_schedule` computes for the chat's HH:MM in its own zone, so the
daylight-saving rules live in one pure, tested function (APScheduler's daily triggers would skip
a time that does not exist that day); a quiet minute costs nothing, where a tick would read every
subscriber 1,440 times a day; and the queue can say when each chat's next digest is due.

At start the schedules are rebuilt from the store: a digest missed while the process was down is
sent at once if its time passed less than `digest_grace_hours` ago.  The digests table (one row
per chat and local day, written with the outbox rows) makes sure no day is ever sent twice, even
with two processes.  Reading the store happens on the StoreThread, drawing the chart on a worker
thread, so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from communique.bot.context import on_schedule_change
from sqlite_utils import Database
from telegram.ext import CallbackContext, ContextTypes, JobQueue

from communique.digest import DigestPlan, chat_zone, digest_done, plan_digest, record_digest
from communique.digest_chart import render_chart
from communique.digest_schedule import Occurrence, missed_occurrence, next_occurrence, parse_hhmm
from communique.settings import Settings
from communique.store import StoreThread
from communique.store.catalogue import LiveSettings
from communique.store.sqlite import sqlite3

log = logging.getLogger(__name__)
JOB_PREFIX = "digest:"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DigestJob:
    """What a chat's digest job carries: whose digest, which day's, and how to make it."""

    chat_id: int
    occurrence: Occurrence
    settings: Settings
    store: StoreThread
    clock: Clock
    live: LiveSettings | None = None  # the catalogue's topics, shared by the jobs of one schedule


def schedule_digests(job_queue: JobQueue[Any], settings: Settings, store: StoreThread, *,
                     clock: Clock = utc_now) -> None:
    """Rebuild every chat's digest schedule from the store (right away, in a job) and keep each chat's
    schedule in step with its /digest and /timezone changes (through `bot.context.on_schedule_change`)."""
    live = LiveSettings(settings)

    async def changed(chat_id: int) -> None:
        await reschedule_chat(job_queue, settings, store, chat_id, clock=clock, live=live)

    async def start(context: CallbackContext[Any, Any, Any, Any]) -> None:
        try:
            plans = await store.run(startup_plan, now=clock(), settings=settings)
        except sqlite3.Error as exc:
            log.warning("could not read the digest schedules (%s); trying again in a minute", exc)
            job_queue.run_once(start, when=60, name=f"{JOB_PREFIX}startup")
            return
        for chat_id, occurrence in plans:
            _add_job(job_queue, DigestJob(chat_id, occurrence, settings, store, clock, live))
        log.info("digests scheduled for %d chats", len(plans))

    on_schedule_change(job_queue.application, changed)
    job_queue.run_once(start, when=0, name=f"{JOB_PREFIX}startup")


async def reschedule_chat(job_queue: JobQueue[Any], settings: Settings, store: StoreThread, chat_id: int, *,
                          clock: Clock = utc_now, after: datetime | None = None,
                          live: LiveSettings | None = None) -> Occurrence | None:
    """Schedule the chat's next digest from its current settings (or none: digest off, chat gone or
    blocked).  Returns the digest now scheduled.  Never catches up: a time set to a minute ago
    means tomorrow."""
    row = await store.run(_chat_schedule, chat_id)
    for job in job_queue.get_jobs_by_name(f"{JOB_PREFIX}{chat_id}"):
        job.schedule_removal()
    if row is None:
        return None
    timezone, digest_time = row
    now = max(clock(), after) if after else clock()
    occurrence = next_occurrence(now, parse_hhmm(digest_time), chat_zone(timezone, settings))
    _add_job(job_queue, DigestJob(chat_id, occurrence, settings, store, clock, live))
    return occurrence


def scheduled_digests(job_queue: JobQueue[Any]) -> dict[int, Occurrence]:
    """Each chat's next digest, as the job queue holds it."""
    return {job.data.chat_id: job.data.occurrence for job in job_queue.jobs()
            if isinstance(job.data, DigestJob) and not job.removed}


def startup_plan(db: Database, *, now: datetime, settings: Settings) -> list[tuple[int, Occurrence]]:
    """For each chat with a digest: the one it missed within the grace period and has not had, else its next."""
    grace = timedelta(hours=settings.digest_grace_hours)
    plans = []
    for chat_id, timezone, digest_time in db.execute(
            "SELECT chat_id, timezone, digest_time FROM subscribers WHERE digest_time IS NOT NULL AND active = 1"):
        try:
            at, tz = parse_hhmm(digest_time), chat_zone(timezone, settings)
        except (ValueError, ZoneInfoNotFoundError) as exc:  # one bad row must not stop everyone's digest
            log.warning("chat %s: no digest scheduled: %s (time zone %r)", chat_id, exc, timezone)
            continue
        missed = missed_occurrence(now, at, tz, grace)
        due = missed if missed and not digest_done(db, chat_id, missed.local_date) else next_occurrence(now, at, tz)
        plans.append((chat_id, due))
    return plans


def _chat_schedule(db: Database, chat_id: int) -> tuple[str | None, str] | None:
    row = db.execute("SELECT timezone, digest_time FROM subscribers WHERE chat_id = ? AND active = 1 "
                     "AND digest_time IS NOT NULL", (chat_id,)).fetchone()
    return (row[0], row[1]) if row else None


def _add_job(job_queue: JobQueue[Any], job: DigestJob) -> None:
    delay = max(0.0, (job.occurrence.at - job.clock()).total_seconds())
    # No misfire limit: a digest due while the loop was busy is late, never skipped.
    job_queue.run_once(_run_digest, when=delay, data=job, name=f"{JOB_PREFIX}{job.chat_id}",
                       job_kwargs={"misfire_grace_time": None})


def _plan(db: Database, live: LiveSettings, chat_id: int, *, now: datetime, local_date: date) -> DigestPlan | None:
    """The digest with the topics as the catalogue has them now (an admin may have added one since the start)."""
    live.refresh(db)
    return plan_digest(db, chat_id, now=now, settings=live.current, local_date=local_date)


async def send_digest(job: DigestJob) -> int | None:
    """Queue the chat's digest for the job's day in the outbox (the delivery loop sends it).

    Returns the number of messages queued, or None when there was nothing to do (already sent,
    chat gone or blocked)."""
    now = job.clock()
    live = job.live or LiveSettings(job.settings)
    plan = await job.store.run(_plan, live, job.chat_id, now=now, local_date=job.occurrence.local_date)
    if plan is None:
        return None
    photo = await asyncio.to_thread(render_chart, plan.chart, plan.t) if plan.chart else None
    return await job.store.run(record_digest, plan, photo=photo, now=now)


async def _run_digest(context: ContextTypes.DEFAULT_TYPE) -> None:
    assert context.job is not None
    job: DigestJob = context.job.data  # type: ignore[assignment]
    try:
        queued = await send_digest(job)
        log.info("digest for chat %s, %s: %s", job.chat_id, job.occurrence.local_date,
                 "nothing to send" if queued is None else f"{queued} message(s) queued")
    finally:
        await reschedule_chat(context.job_queue, job.settings, job.store, job.chat_id, clock=job.clock,
                              after=job.occurrence.at, live=job.live)
