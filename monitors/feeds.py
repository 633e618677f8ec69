"""Polling RSS and Atom feeds politely, and turning their entries into news items.

One `FeedPoller` serves every feed: conditional requests (ETag, Last-Modified), a size cap
read as a stream, one deadline per request, redirects capped (a loop is an error, not a
hang), at most `concurrency` feeds at once.  A feed that fails backs off exponentially; after
`Backoff.pause_after` failures in a row it is paused and the admins are told, and when it
answers again it resumes and they are told that too.

Nothing here blocks the event loop: HTTP is httpx.AsyncClient, feedparser runs in a worker
thread, the store is reached through `StoreThread.run`.  Every entry is stored in its own
transaction, so one entry the store rejects never costs the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from communique.monitors.channel_state import AdminNotifier, outbox_notifier
from communique.monitors.feed_parse import FeedError, parse_feed
from communique.monitors.feed_state import (
    Backoff,
    FeedState,
    get_feed,
    record_failure,
    record_move,
    record_success,
    sync_feeds,
)

from communique.errors import ConfigError
from communique.models import NewsItem
from communique.pipeline import ingest_news
from communique.settings import FeedConfig, Settings
from communique.store import StoreThread

log = logging.getLogger(__name__)
USER_AGENT = "Communique/0.1 (+feeds)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
MB = 1024 * 1024
MAX_RETRY_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    timeout: float = 20.0  # seconds for a whole request, first byte to last
    max_bytes: int = 5 * MB
    max_redirects: int = 5
    concurrency: int = 8  # feeds fetched at the same time
    per_host: int = 2  # of those, from one host (an outlet's many section feeds are not fetched all at once)
    backoff: Backoff = field(default_factory=Backoff)


DEFAULT_POLICY = PollPolicy()


class FeedUnavailable(Exception):
    """The feed could not be fetched; the message says why (status, timeout, size, redirects).

    `retry_after`: how long the server asked us to wait (Retry-After on a 429 or 503), if it did.
    """

    def __init__(self, message: str, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(slots=True)
class Fetched:
    status: int  # 200 or 304
    content: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # where a permanent redirect (301, 308) led, if one did


@dataclass(slots=True)
class StoredItem:
    item: NewsItem
    news_id: int
    reports: list[int]  # ids of the statements this article reports


@dataclass(slots=True)
class PollResult:
    feed: FeedConfig
    status: str  # updated, not-modified, failed
    new: list[StoredItem] = field(default_factory=list)
    seen: int = 0  # entries that were already stored
    followups: int = 0  # coverage follow-ups queued
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    paused: bool = False
    next_poll: datetime | None = None

    def line(self) -> str:
        name = self.feed.outlet
        if self.status == "failed":
            return f"{name}: failed: {self.error}{' (feed paused)' if self.paused else ''}"
        if self.status == "not-modified":
            return f"{name}: not modified since the last poll"
        reports = sum(len(s.reports) for s in self.new)
        extra = f", {reports} report(s) of statements" if reports else ""
        extra += f", {self.followups} coverage follow-up(s) queued" if self.followups else ""
        return f"{name}: {len(self.new)} new, {self.seen} already stored{extra}"


def new_client(policy: PollPolicy = DEFAULT_POLICY, **options: object) -> httpx.AsyncClient:
    """The HTTP client feeds are fetched with (extra `options` go to httpx.AsyncClient)."""
    return httpx.AsyncClient(
        timeout=policy.timeout, follow_redirects=True, max_redirects=policy.max_redirects,
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
        limits=httpx.Limits(max_connections=policy.concurrency * 2), **options,  # type: ignore[arg-type]
    )


async def fetch_feed(client: httpx.AsyncClient, url: str, *, etag: str | None = None,
                     last_modified: str | None = None, policy: PollPolicy = DEFAULT_POLICY) -> Fetched:
    """GET `url` conditionally; raises FeedUnavailable saying why there is no document."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with asyncio.timeout(policy.timeout), client.stream("GET", url, headers=headers) as response:
            moved_to = str(response.url) if any(r.status_code in (301, 308) for r in response.history) else None
            if response.status_code == 304:
                return Fetched(304, moved_to=moved_to)
            if not response.is_success:
                wait = retry_after(response) if response.status_code in (429, 503) else None
                asked = f" (asked to wait {_duration(wait)})" if wait else ""
                raise FeedUnavailable(f"HTTP {response.status_code} {response.reason_phrase}".rstrip() + asked,
                                      retry_after=wait)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > policy.max_bytes:
                raise FeedUnavailable(f"response of {int(declared) / MB:.1f} MB is over the "
                                      f"{policy.max_bytes / MB:g} MB limit; not read")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > policy.max_bytes:
                    raise FeedUnavailable(f"response is over the {policy.max_bytes / MB:g} MB limit; "
                                          "stopped reading")
            return Fetched(200, bytes(body), response.headers.get("content-type"), response.headers.get("etag"),
                           response.headers.get("last-modified"), moved_to)
    except (TimeoutError, httpx.TimeoutException):
        raise FeedUnavailable(f"no complete answer within {policy.timeout:g} s") from None
    except httpx.TooManyRedirects:
        raise FeedUnavailable(f"more than {policy.max_redirects} redirects (a redirect loop?)") from None
    except httpx.HTTPError as exc:
        raise FeedUnavailable(f"{type(exc).__name__}: {exc}") from None


def retry_after(response: httpx.Response) -> timedelta | None:
    """The wait a Retry-After header asks for: seconds, or an HTTP date read against the response's own Date
    (so neither clock needs to be right).  Absurd waits are capped at a day."""
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            wait = parsedate_to_datetime(value) - parsedate_to_datetime(response.headers.get("date", ""))
        except (TypeError, ValueError):
            return None
    return min(wait, MAX_RETRY_AFTER) if wait > timedelta(0) else None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FeedPoller:
    """Polls the configured feeds into the store.  Admin notices (feed paused, feed resumed) go to
    `notify_admins(text)`; by default they are queued in the outbox for `settings.admins`."""

    def __init__(self, store: StoreThread, settings: Settings, client: httpx.AsyncClient, *,
                 policy: PollPolicy = DEFAULT_POLICY, notify_admins: AdminNotifier | None = None,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.store, self.settings, self.client, self.policy = store, settings, client, policy
        self.notify_admins = notify_admins if notify_admins is not None else outbox_notifier(store, settings, clock)
        self.clock = clock
        self._gate = asyncio.Semaphore(policy.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def sync(self) -> None:
        """Give every configured feed its row in the store (new feeds are due at once)."""
        await self.store.run(sync_feeds, self.settings.feeds, now=self.clock())

    async def poll_all(self, feeds: Sequence[FeedConfig] | None = None) -> list[PollResult]:
        """Poll `feeds` (default: all configured) now, concurrently up to the policy's limit."""
        return list(await asyncio.gather(*(self.poll(feed) for feed in feeds or self.settings.feeds)))

    def _host_gate(self, url: str) -> asyncio.Semaphore:
        host = httpx.URL(url).host.lower()
        return self._hosts.setdefault(host, asyncio.Semaphore(self.policy.per_host))

    async def poll(self, feed: FeedConfig) -> PollResult:
        """Fetch one feed and store its new entries.  Feed problems are results, never exceptions."""
        async with self._host_gate(feed.url), self._gate:
            now = self.clock()
            state = await self.store.run(get_feed, feed.url)
            if state is None:
                await self.store.run(sync_feeds, [feed], now=now)
                state = FeedState(feed.url, feed.outlet)
            try:
                fetched = await fetch_feed(self.client, state.moved_to or feed.url, etag=state.etag,
                                           last_modified=state.last_modified, policy=self.policy)
                if fetched.moved_to is not None and fetched.moved_to != state.moved_to:
                    await self._moved(feed, fetched.moved_to)
                if fetched.status == 304:
                    result = PollResult(feed, "not-modified", next_poll=now + timedelta(seconds=feed.interval))
                    await self.store.run(record_success, feed.url, now=now, next_poll=result.next_poll,
                                         keep_validators=True)
                else:
                    parsed = await asyncio.to_thread(
                        parse_feed, fetched.content, outlet=feed.outlet, feed_url=feed.url, language=feed.language,
                        now=now, content_type=fetched.content_type)
                    result = await self._store(feed, parsed.items, fetched, now=now)
                    result.warnings[:0] = parsed.warnings
            except (FeedUnavailable, FeedError) as exc:
                wait = exc.retry_after if isinstance(exc, FeedUnavailable) else None
                return await self._failed(feed, state, str(exc).removeprefix(f"{feed.url}: "), now=now,
                                          at_least=wait)
        for warning in result.warnings:
            log.warning("feed %s: %s", feed.outlet, warning)
        log.info("feed %s", result.line())
        if state.paused:
            await self.notify_admins(f"Feed {feed.outlet} ({feed.url}) answers again after {state.error_count} "
                                     "failures; polling resumed.")
        return result

    async def _store(self, feed: FeedConfig, items: list[NewsItem], fetched: Fetched, *,
                     now: datetime) -> PollResult:
        result = PollResult(feed, "updated", next_poll=now + timedelta(seconds=feed.interval))
        complete = True
        for item in sorted(items, key=lambda i: i.date or now):
            try:
                outcome = await self.store.run(ingest_news, item, settings=self.settings, now=now)
            except Exception:  # one entry the store or matcher chokes on must not cost the others
                log.exception("feed %s: entry %r could not be stored; will retry next poll", feed.outlet, item.guid)
                result.warnings.append(f"{feed.url}: entry {item.guid!r} could not be stored")
                complete = False
                continue
            result.followups += outcome.followups  # a new article, or one the outlet has updated
            if outcome.is_new:
                result.new.append(StoredItem(item, outcome.news_id, outcome.reports))
            else:
                result.seen += 1
        await self.store.run(record_success, feed.url, now=now, next_poll=result.next_poll, added=len(result.new),
                             etag=fetched.etag, last_modified=fetched.last_modified, keep_validators=not complete)
        return result

    async def _moved(self, feed: FeedConfig, moved_to: str) -> None:
        await self.store.run(record_move, feed.url, moved_to)
        log.warning("feed %s (%s) has moved permanently to %s", feed.outlet, feed.url, moved_to)
        await self.notify_admins(f"Feed {feed.outlet} has moved permanently from {feed.url} to {moved_to}; "
                                 "it is fetched from there now. Update its url in the configuration.")

    async def _failed(self, feed: FeedConfig, state: FeedState, error: str, *, now: datetime,
                      at_least: timedelta | None = None) -> PollResult:
        after = await self.store.run(record_failure, feed.url, error, now=now,
                                     interval=timedelta(seconds=feed.interval), backoff=self.policy.backoff,
                                     at_least=at_least)
        log.warning("feed %s (%s): %s (failure %d in a row; next try at %s)", feed.outlet, feed.url, error,
                    after.error_count, f"{after.next_poll:%Y-%m-%d %H:%M:%S} UTC" if after.next_poll else "?")
        if after.paused and not state.paused:
            await self.notify_admins(
                f"Feed {feed.outlet} ({feed.url}) is paused after {after.error_count} failures in a row. "
                f"Last error: {error}. It is tried again every {_duration(self.policy.backoff.max_delay)} "
                "and resumes by itself when it answers.")
        return PollResult(feed, "failed", error=error, paused=after.paused, next_poll=after.next_poll)


@dataclass(frozen=True, slots=True)
class Probe:
    """What one fetch of a would-be feed found: the feed to add (named by its own title) and its entries."""

    feed: FeedConfig
    entries: int


async def probe_feed(url: str, *, policy: PollPolicy = DEFAULT_POLICY, now: datetime | None = None,
                     **client_options: object) -> Probe:
    """Fetch `url` once and read it as a feed (before an admin adds it in chat); raises FeedUnavailable or
    FeedError saying why it is no feed.  Nothing is stored."""
    async with new_client(policy, **client_options) as client:
        fetched = await fetch_feed(client, url, policy=policy)
    fallback = httpx.URL(url).host
    parsed = await asyncio.to_thread(parse_feed, fetched.content, outlet=fallback, feed_url=url,
                                     now=now or _utcnow(), content_type=fetched.content_type)
    return Probe(FeedConfig(url=url, outlet=parsed.title[:80] or fallback), len(parsed.items))


def select_feeds(settings: Settings, name: str | None) -> tuple[FeedConfig, ...]:
    """The configured feeds `name` designates: a URL, an outlet (any case), or part of either; all if None."""
    if name is None:
        return settings.feeds
    wanted = name.strip().casefold()
    for same in (lambda f: wanted in (f.url.casefold(), f.outlet.casefold()),
                 lambda f: wanted in f.url.casefold() or wanted in f.outlet.casefold()):
        chosen = tuple(f for f in settings.feeds if same(f))
        if chosen:
            return chosen
    known = ", ".join(f.outlet for f in settings.feeds) or "none configured"
    raise ConfigError(f"no configured feed matches {name!r} (feeds: {known})")


async def poll_now(settings: Settings, db_path: str, feeds: Sequence[FeedConfig], *,
                   policy: PollPolicy = DEFAULT_POLICY, **client_options: object) -> list[PollResult]:
    """Poll `feeds` once, now, whatever their schedule (`communique poll`)."""
    store = StoreThread(db_path)
    try:
        async with new_client(policy, **client_options) as client:
            poller = FeedPoller(store, settings, client, policy=policy)
            await poller.sync()
            return await poller.poll_all(feeds)
    finally:
        await asyncio.to_thread(store.close)


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 60:
        return f"{seconds} s"
    minutes = seconds // 60
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
