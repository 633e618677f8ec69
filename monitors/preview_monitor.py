"""Credential-free channel monitoring: poll each channel's public preview page (t.me/s/NAME).

Used for channels configured with `source = "preview"`, and for every channel when no
Telegram API credentials are set.  Each poll reads the posts after the store's last
message id for the channel (paging back with `?before=` as needed) and feeds them to
the same pipeline as Telethon: official channels give statements, news channels give
news items.  A post already read that the page now marks "edited" is stored again, so a
changed text becomes a new version with its edit follow-up (deletions are not visible
there); a post the page marks "edited" when it is first read is stored with the poll's
time as its `edited_at` (the page does not say when).  A channel read for the first time
keeps its latest posts (the configured backfill) without alerting anyone.  A channel whose
page cannot be read is reported to the admins and skipped until the next poll; odd markup
is logged and never stops the poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import httpx
from communique.monitors.channel_state import AdminNotifier, describe, note_channel, note_channel_error
from communique.monitors.preview_fetch import PreviewUnavailable, fetch_preview
from sqlite_utils import Database

from communique.models import NewsItem, Statement
from communique.pipeline import ingest_news, ingest_statement, still_news
from communique.settings import ChannelConfig, Settings
from communique.store import StoreThread
from communique.store.statements import advance_channel, last_message_id

log = logging.getLogger(__name__)
POSTS_PER_PAGE = 20  # about what one t.me/s page shows
PAGES_PER_POLL = 5


def _news_item(st: Statement, channel: ChannelConfig) -> NewsItem | None:
    if not st.text.strip():
        return None
    return NewsItem(source=channel.title, guid=st.ext_id, text=st.text, url=st.url, date=st.date,
                    lang=channel.language, feed=f"telegram:{channel.key}")


def _store_posts(db: Database, statements: list[Statement], channel: ChannelConfig, newest: int, *,
                 settings: Settings, now: datetime, alert: bool, edited: Sequence[Statement] = ()) -> int:
    """Store one poll's posts in order, and the new text of posts already read that t.me marks edited
    (the page does not say when: the poll's time stands in); returns the alerts and follow-ups queued."""
    queued = 0
    for st in edited if channel.role != "news" else ():
        if not db.execute("SELECT 1 FROM statement_parts WHERE channel = ? AND ext_id = ?",
                          (st.channel, st.ext_id)).fetchone():
            continue  # never stored (before a first read's backfill): an edit does not make it new
        st.lang = st.lang or channel.language
        queued += ingest_statement(db, replace(st, edit_date=now), settings=settings, now=now, alert=alert).alerts
    for st in statements:
        st.lang = st.lang or channel.language
        if channel.role == "news":
            item = _news_item(st, channel)
            if item is not None:
                queued += ingest_news(db, item, settings=settings, now=now, notify=alert).followups
        else:
            fresh = alert and still_news(st.date, now=now, settings=settings)
            queued += ingest_statement(db, st, settings=settings, now=now, alert=fresh).alerts
    if newest:
        advance_channel(db, channel.key, newest)
    return queued


class PreviewMonitor:
    """Polls the preview pages of `channels` every `settings.preview_interval` seconds."""

    def __init__(self, settings: Settings, store: StoreThread, *, channels: tuple[ChannelConfig, ...],
                 notify_admins: AdminNotifier, http: httpx.AsyncClient | None = None,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings, self.store, self.notify_admins = settings, store, notify_admins
        self.channels = channels
        self.http = http or httpx.AsyncClient(timeout=30)
        self.sleep, self.clock = sleep, clock

    async def run(self) -> None:
        """Poll forever (until cancelled)."""
        while True:
            await self.poll_once()
            await self.sleep(self.settings.preview_interval)

    async def poll_once(self) -> int:
        """One round over every channel; returns the alerts and follow-ups queued."""
        queued = 0
        for channel in self.channels:
            try:
                queued += await self._poll(channel)
            except Exception:
                log.exception("preview poll of %s failed", describe(channel))
        return queued

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _poll(self, channel: ChannelConfig) -> int:
        if not channel.username:
            await self._report(channel, "it has no username, and preview pages exist only for public channels "
                                        "with one (set API credentials to watch it with Telethon)")
            return 0
        after = await self.store.run(last_message_id, channel.key)
        first = after == 0
        backfill = self.settings.backfill
        pages = max(1, -(-backfill // POSTS_PER_PAGE)) if first else PAGES_PER_POLL
        try:
            page = await fetch_preview(self.http, self.settings.preview_base_url, channel.username,
                                       after_id=None if first else after, max_pages=pages)
        except PreviewUnavailable as exc:
            await self._report(channel, exc.reason)
            return 0
        for warning in page.warnings:
            log.warning("%s", warning)
        if page.warnings and not page.statements:
            await self._report(channel, page.warnings[0])
            return 0
        newest = max((st.message_id or 0 for st in page.statements), default=0)
        statements = (page.statements[-backfill:] if backfill > 0 else []) if first else page.statements
        now = self.clock()
        statements = [replace(st, edit_date=now) if st.message_id in page.edited else st for st in statements]
        queued = await self.store.run(_store_posts, statements, channel, newest, settings=self.settings,
                                      now=now, alert=not first, edited=page.seen_edited)
        await self.store.run(note_channel, channel, now=self.clock())
        if first:
            log.info("first read of %s from its preview page: stored its %d latest posts without alerts",
                     describe(channel), len(statements))
        return queued

    async def _report(self, channel: ChannelConfig, reason: str) -> None:
        await self.store.run(note_channel_error, channel, reason, now=self.clock())
        await self.notify_admins(f"Channel {describe(channel)} cannot be read from its preview page: {reason}. "
                                 "It is skipped until the next poll; the other channels are watched.")
