"""What the monitors record about each watched channel, and how they tell the admins.

Both channel sources (Telethon and preview pages) keep the `channels` row of each
configured channel up to date: its identity, and the last error that stopped it from
being read (cleared once it reads again).  Problems an admin must act on (a channel
gone private, a revoked session) go to the admins through the outbox, once a day per
distinct problem, so a channel failing at every poll does not flood them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlite_utils import Database

from communique.messages import esc
from communique.models import Alert
from communique.settings import ChannelConfig, Settings
from communique.store import StoreThread, outbox
from communique.store.timefmt import to_db

AdminNotifier = Callable[[str], Awaitable[None]]
Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


def note_channel(db: Database, channel: ChannelConfig, *, now: datetime, tg_id: int | None = None) -> None:
    """Record that `channel` was read successfully (and forget its last error)."""
    db.execute(
        "INSERT INTO channels (key, username, tg_id, title, lang, role, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET username = excluded.username, tg_id = coalesce(excluded.tg_id, channels.tg_id),"
        " title = excluded.title, lang = excluded.lang, role = excluded.role, updated_at = excluded.updated_at,"
        " last_error = NULL, last_error_at = NULL",
        (channel.key, channel.username, tg_id or channel.tg_id, channel.title, channel.language, channel.role,
         to_db(now)),
    )


def note_channel_error(db: Database, channel: ChannelConfig, error: str, *, now: datetime) -> None:
    """Record why `channel` could not be read; its position (last_message_id) is kept."""
    db.execute(
        "INSERT INTO channels (key, username, tg_id, title, lang, role, last_error, last_error_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at",
        (channel.key, channel.username, channel.tg_id, channel.title, channel.language, channel.role, error,
         to_db(now)),
    )


def enqueue_admin_notice(db: Database, admins: frozenset[int], text: str, *, now: datetime) -> int:
    """Queue `text` for every admin; the same text is queued at most once per UTC day."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    key = f"admin:{now.date().isoformat()}:{digest}"
    body = f"⚠️ {esc(text)}"
    return sum(outbox.enqueue(db, Alert(key, chat_id, body, kind="admin"), now=now) for chat_id in sorted(admins))


def outbox_notifier(store: StoreThread, settings: Settings, clock: Clock) -> AdminNotifier:
    """The default `notify_admins`: log the problem and queue it for the configured admins."""

    async def notify(text: str) -> None:
        log.warning("admin notice: %s", text)
        if settings.admins:
            await store.run(enqueue_admin_notice, settings.admins, text, now=clock())

    return notify


def describe(channel: ChannelConfig) -> str:
    """How admins know the channel: its title and its @username or id."""
    handle = f"@{channel.username}" if channel.username else f"id {channel.tg_id}"
    return f"{channel.title} ({handle})"
