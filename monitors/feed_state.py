"""The `feeds` table: per-feed polling state (validators, errors, backoff, pause) in the store.

Plain store functions (`fn(db, ...)`), run on the StoreThread by the poller and directly by
the CLI.  The backoff policy decides when a failing feed is tried again and when it is paused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from communique.settings import FeedConfig
from communique.store.timefmt import from_db, to_db


@dataclass(frozen=True, slots=True)
class Backoff:
    """After the n-th failure in a row a feed waits interval * 2**n (at most `max_delay`);
    after `pause_after` failures it is paused: probed every `max_delay` until it answers again."""

    pause_after: int = 5
    max_delay: timedelta = timedelta(hours=2)

    def delay(self, interval: timedelta, failures: int) -> timedelta:
        if failures <= 0:
            return interval
        return min(interval * 2 ** min(failures, 20), max(self.max_delay, interval))


@dataclass(frozen=True, slots=True)
class FeedState:
    url: str
    outlet: str
    etag: str | None = None
    last_modified: str | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    error_count: int = 0
    paused: bool = False
    next_poll: datetime | None = None
    items: int = 0
    moved_to: str | None = None  # the address it answers at now, after a permanent redirect


def _state(row: dict) -> FeedState:
    return FeedState(
        url=row["url"], outlet=row["outlet"], etag=row["etag"], last_modified=row["last_modified"],
        last_success=from_db(row["last_success"]), last_error=row["last_error"],
        last_error_at=from_db(row["last_error_at"]), error_count=row["error_count"], paused=bool(row["paused"]),
        next_poll=from_db(row["next_poll"]), items=row["items"], moved_to=row["moved_to"],
    )


def sync_feeds(db: Database, feeds: Iterable[FeedConfig], *, now: datetime) -> None:
    """Make sure every configured feed has a row (new ones are due now); outlet names follow the config."""
    for feed in feeds:
        db.execute(
            "INSERT INTO feeds (url, outlet, next_poll) VALUES (?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET outlet = excluded.outlet",
            (feed.url, feed.outlet, to_db(now)),
        )


def get_feed(db: Database, url: str) -> FeedState | None:
    row = next(db.query("SELECT * FROM feeds WHERE url = ?", [url]), None)
    return _state(row) if row else None


def list_feeds(db: Database, urls: Iterable[str] | None = None) -> list[FeedState]:
    """Feeds in the store (only `urls`, in that order, if given)."""
    states = {row["url"]: _state(row) for row in db.query("SELECT * FROM feeds ORDER BY outlet, url")}
    if urls is None:
        return list(states.values())
    return [states[url] for url in urls if url in states]


def record_move(db: Database, url: str, moved_to: str) -> None:
    """Fetch the feed at `url` from `moved_to` from now on (it redirected there permanently)."""
    db.execute("UPDATE feeds SET moved_to = ? WHERE url = ?", (moved_to, url))


def record_success(db: Database, url: str, *, now: datetime, next_poll: datetime, added: int = 0,
                   etag: str | None = None, last_modified: str | None = None,
                   keep_validators: bool = False) -> FeedState:
    """A poll that got the feed (or a 304): errors reset, pause lifted.  Returns the state before.

    `keep_validators` keeps the stored ETag and Last-Modified (after a 304, or when an entry could not be
    stored and the next poll must fetch the whole document again).
    """
    before = get_feed(db, url)
    assert before is not None, f"feed {url} was not synced"
    validators = "" if keep_validators else ", etag = :etag, last_modified = :last_modified"
    db.execute(
        f"UPDATE feeds SET last_success = :now, error_count = 0, paused = 0, next_poll = :next_poll, "
        f"items = items + :added{validators} WHERE url = :url",
        {"now": to_db(now), "next_poll": to_db(next_poll), "added": added, "etag": etag,
         "last_modified": last_modified, "url": url},
    )
    return before


def record_failure(db: Database, url: str, error: str, *, now: datetime, interval: timedelta,
                   backoff: Backoff, at_least: timedelta | None = None) -> FeedState:
    """Count a failure in a row, back off (at least `at_least`, the wait the server asked for), pause at the
    limit.  Returns the state after."""
    before = get_feed(db, url)
    assert before is not None, f"feed {url} was not synced"
    failures = before.error_count + 1
    db.execute(
        "UPDATE feeds SET last_error = ?, last_error_at = ?, error_count = ?, paused = ?, next_poll = ? WHERE url = ?",
        (error, to_db(now), failures, int(failures >= backoff.pause_after),
         to_db(now + max(backoff.delay(interval, failures), at_least or timedelta(0))), url),
    )
    after = get_feed(db, url)
    assert after is not None
    return after


def describe(state: FeedState) -> list[str]:
    """Lines for `communique feeds`: the feed, its last success, last error, items and next poll."""

    def when(moment: datetime | None) -> str:
        return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "never"

    lines = [f"{state.outlet}  {state.url}{'  [paused]' if state.paused else ''}",
             f"  last success: {when(state.last_success)} · items: {state.items} · next poll: {when(state.next_poll)}"]
    if state.moved_to:
        lines.append(f"  moved permanently to {state.moved_to} (fetched from there; update the configuration)")
    if state.last_error:
        streak = f"{state.error_count} failure(s) in a row" if state.error_count else "recovered since"
        lines.append(f"  last error: {when(state.last_error_at)}: {state.last_error} ({streak})")
    return lines
