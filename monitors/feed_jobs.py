"""Feed polling on PTB's JobQueue, so one scheduler (APScheduler underneath) serves the bot,
the feeds and the digests.

Each feed is a chain of one-shot jobs named `feed:<url>`: a poll schedules the next one at the
time its result asks for (the feed's interval, or later while it backs off).  A start job
seeds the store's catalogue from the configuration, syncs its feeds into the store and resumes each
chain at its stored `next_poll`, so a restart neither hammers a backed-off feed nor forgets a due one.
A repeating job (`feeds:follow`) looks at the catalogue again: a feed added in chat gets its chain,
one removed in chat loses it, whether the bot runs in this process or in another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from communique.monitors.channel_state import AdminNotifier
from communique.monitors.feed_state import list_feeds, sync_feeds
from communique.monitors.feeds import DEFAULT_POLICY, FeedPoller, PollPolicy, new_client
from telegram.ext import CallbackContext, JobQueue

from communique.settings import FeedConfig, Settings
from communique.store import StoreThread
from communique.store.catalogue import FOLLOW_EVERY, LiveSettings

log = logging.getLogger(__name__)
# A chain must never break: a job that fires late (busy loop, suspended laptop) still runs.
_JOB_KWARGS = {"misfire_grace_time": None, "coalesce": True}
START_RETRY = 60  # seconds


@dataclass(slots=True)
class FeedJobs:
    """What `schedule_feeds` set up; `aclose()` closes the HTTP client once the job queue has stopped."""

    poller: FeedPoller
    client: httpx.AsyncClient

    async def aclose(self) -> None:
        await self.client.aclose()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def schedule_feeds(job_queue: JobQueue, settings: Settings, store: StoreThread, *,
                   client_factory: Callable[[], httpx.AsyncClient] | None = None,
                   notify_admins: AdminNotifier | None = None, policy: PollPolicy = DEFAULT_POLICY,
                   clock: Callable[[], datetime] = _utcnow, follow_every: float = FOLLOW_EVERY) -> FeedJobs:
    """Poll every feed of the catalogue on `job_queue`, from when the queue starts, until it stops.

    `settings` seeds the store's catalogue; every `follow_every` seconds the catalogue is looked at
    again (one query), and feeds added or removed in chat start or stop being polled.
    `job_queue` needs an application set (any PTB Application; the feeds never use its bot).
    `client_factory` makes the HTTP client (default: `new_client(policy)`); `notify_admins(text)`
    replaces queueing the paused/resumed notices in the outbox for the configured admins.
    """
    live = LiveSettings(settings)
    client = client_factory() if client_factory is not None else new_client(policy)
    poller = FeedPoller(store, settings, client, policy=policy, notify_admins=notify_admins, clock=clock)
    polled: dict[str, FeedConfig] = {}  # the feeds with a chain of polls, by URL, as the catalogue has them

    def schedule(feed: FeedConfig, at: datetime | None) -> None:
        delay = max(0.0, (at - clock()).total_seconds()) if at is not None else 0.0
        job_queue.run_once(poll_job, when=delay, data=feed.url, name=f"feed:{feed.url}", job_kwargs=_JOB_KWARGS)

    async def follow(*, first: bool) -> None:
        """Start the chains of feeds new to the catalogue and end those of feeds it no longer has."""
        if first:
            await store.run(live.start, now=clock())
        elif not await store.run(live.refresh):
            return
        poller.settings = live.current
        feeds = {feed.url: feed for feed in live.current.feeds}
        for url in [url for url in polled if url not in feeds]:
            del polled[url]
            for job in job_queue.get_jobs_by_name(f"feed:{url}"):
                job.schedule_removal()
            log.info("feed %s: removed from the catalogue; no longer polled", url)
        new = [feed for url, feed in feeds.items() if url not in polled]
        polled.update(feeds)  # the others may have a new interval or outlet name
        if new:
            await store.run(sync_feeds, new, now=clock())
            states = {s.url: s for s in await store.run(list_feeds, [f.url for f in new])}
            for feed in new:
                schedule(feed, states[feed.url].next_poll)
            log.info("polling %d feed(s)%s", len(new), "" if first else " new to the catalogue")

    async def start_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
        try:
            await follow(first=True)
        except Exception:  # the store is unavailable: try again rather than never poll
            log.exception("feeds: could not read their state; trying again in %d s", START_RETRY)
            job_queue.run_once(start_job, when=START_RETRY, name="feeds:start", job_kwargs=_JOB_KWARGS)
            return
        job_queue.run_repeating(follow_job, interval=follow_every, first=follow_every, name="feeds:follow",
                                job_kwargs=_JOB_KWARGS)

    async def follow_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
        try:
            await follow(first=False)
        except Exception:
            log.exception("feeds: could not read the catalogue; trying again in %g s", follow_every)

    async def poll_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
        assert context.job is not None
        feed = polled.get(context.job.data)  # type: ignore[arg-type]
        if feed is None:  # removed from the catalogue since this poll was scheduled
            return
        try:
            at = (await poller.poll(feed)).next_poll
        except Exception:  # a bug or a store outage must not end this feed's chain of polls
            at = clock() + timedelta(seconds=feed.interval)
            log.exception("feed %s (%s): poll failed unexpectedly; next try at %s", feed.outlet, feed.url, at)
        if feed.url in polled:
            schedule(polled[feed.url], at)

    job_queue.run_once(start_job, when=0, name="feeds:start", job_kwargs=_JOB_KWARGS)
    return FeedJobs(poller, client)
