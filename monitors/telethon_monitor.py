"""Live monitoring of the configured channels with a Telethon user client.

Event handlers only queue work; one worker task does it in arrival order, so the store
sees posts in the order Telegram sent them.  A catch-up is a queued job too: on start
and after every reconnect each channel is read forward from the last message id the
store has seen (`iter_messages(min_id=...)`), and the live events that arrive meanwhile
wait behind it.  A channel read for the first time gets a bounded backfill that is
stored without alerts.  Album parts are held for a moment and handled as one post.

A FloodWait sleeps as long as Telegram asks and resumes from the store's position, so
nothing is skipped.  A channel that cannot be read (private, renamed, banned) is
reported to the admins and skipped; the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from communique.monitors.channel_state import AdminNotifier, describe, note_channel, note_channel_error
from communique.monitors.telethon_client import MonitorClient, broken_reason, channel_target
from communique.monitors.telethon_convert import album_statements, group_albums, is_post, to_news_item, to_statement
from communique.monitors.telethon_ingest import store_edit, store_news, store_statements
from telethon import TelegramClient, errors, events, utils
from telethon.tl import types

from communique.channel_identity import adopt_imported
from communique.pipeline import ingest_deletions, still_news
from communique.settings import ChannelConfig, Settings
from communique.store import StoreThread
from communique.store.statements import advance_channel, last_message_id

log = logging.getLogger(__name__)
PROGRESS_EVERY = 100


@dataclass(frozen=True, slots=True)
class Watched:
    """A configured channel resolved to its Telegram peer."""

    config: ChannelConfig
    peer: types.InputPeerChannel

    @property
    def key(self) -> str:
        return self.config.key


@dataclass(slots=True)
class _Post:
    peer_id: int
    parts: list[types.Message]


@dataclass(slots=True)
class _Edit:
    peer_id: int
    message: types.Message


@dataclass(slots=True)
class _Deletion:
    peer_id: int
    ids: list[int]


@dataclass(slots=True)
class _CatchUp:
    """Read channels forward from the store's position: these, or all the watched ones."""

    channels: tuple[ChannelConfig, ...] | None = None


class TelethonMonitor:
    """Watches `channels` through `client` (connected and authorized by the caller)."""

    def __init__(self, client: TelegramClient, settings: Settings, store: StoreThread, *,
                 channels: tuple[ChannelConfig, ...], notify_admins: AdminNotifier,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), album_delay: float = 1.0) -> None:
        self.client, self.settings, self.store = client, settings, store
        self.channels = channels
        self.notify_admins = notify_admins
        self.sleep, self.clock, self.album_delay = sleep, clock, album_delay
        self.watched: dict[int, Watched] = {}
        self._behind: set[str] = set()  # channels whose last catch-up did not finish
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._started_at = clock()
        self._albums: dict[tuple[int, int], list[types.Message]] = {}
        self._album_timers: dict[tuple[int, int], asyncio.TimerHandle] = {}
        self._handlers = ((self._on_new, events.NewMessage()), (self._on_edit, events.MessageEdited()),
                          (self._on_delete, events.MessageDeleted()))

    async def start(self) -> None:
        """Listen for new posts, edits and deletions, and queue a catch-up of every channel."""
        if self._worker is None:
            self._started_at = self.clock()
            self._worker = asyncio.create_task(self._work(), name="telethon-monitor")
            for callback, builder in self._handlers:
                self.client.add_event_handler(callback, builder)
            if isinstance(self.client, MonitorClient):
                self.client.reconnect_listeners.append(self.catch_up)
        self.catch_up()

    def catch_up(self) -> None:
        """Queue a catch-up; events that arrive after this call are handled after it."""
        self._flush_albums()
        self._queue.put_nowait(_CatchUp())

    def watch(self, channels: tuple[ChannelConfig, ...]) -> None:
        """Watch `channels` from now on: a new one is caught up (its first read, the backfill), the live
        events of one no longer listed are ignored, and a changed one (say, its role) is read as it is now."""
        listed = {c.key: c for c in channels}
        added = tuple(c for c in channels if c.key not in {known.key for known in self.channels})
        self.channels = channels
        for peer_id, watched in list(self.watched.items()):
            if watched.key not in listed:
                del self.watched[peer_id]
            elif listed[watched.key] != watched.config:
                self.watched[peer_id] = Watched(listed[watched.key], watched.peer)
        self._behind &= set(listed)
        if added and self._worker is not None:
            self._flush_albums()
            self._queue.put_nowait(_CatchUp(added))

    async def idle(self) -> None:
        """Wait until every queued event and catch-up has been handled."""
        await self._queue.join()

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Stop listening; finish queued work for up to `drain_timeout` seconds.

        New posts cut short are not lost: they are in the channel's history past the store's
        position, and the next start's catch-up reads them (edits and deletions cut short are).
        """
        for callback, builder in self._handlers:
            self.client.remove_event_handler(callback, builder)
        if isinstance(self.client, MonitorClient) and self.catch_up in self.client.reconnect_listeners:
            self.client.reconnect_listeners.remove(self.catch_up)
        self._flush_albums()
        if self._worker is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), drain_timeout)
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None

    # --- live events -------------------------------------------------------------------

    async def _on_new(self, event: events.NewMessage.Event) -> None:
        message = event.message
        if message.grouped_id is None:
            self._flush_albums(event.chat_id)
            self._queue.put_nowait(_Post(event.chat_id, [message]))
            return
        key = (event.chat_id, message.grouped_id)
        self._flush_albums(event.chat_id, keep=key)
        self._albums.setdefault(key, []).append(message)
        if key in self._album_timers:
            self._album_timers[key].cancel()
        self._album_timers[key] = asyncio.get_running_loop().call_later(self.album_delay, self._flush_album, key)

    async def _on_edit(self, event: events.MessageEdited.Event) -> None:
        self._flush_albums(event.chat_id)
        self._queue.put_nowait(_Edit(event.chat_id, event.message))

    async def _on_delete(self, event: events.MessageDeleted.Event) -> None:
        if event.chat_id is None:  # deletions outside channels name no chat
            return
        self._flush_albums(event.chat_id)
        self._queue.put_nowait(_Deletion(event.chat_id, list(event.deleted_ids)))

    def _flush_album(self, key: tuple[int, int]) -> None:
        timer = self._album_timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        parts = self._albums.pop(key, None)
        if parts:
            self._queue.put_nowait(_Post(key[0], sorted(parts, key=lambda m: m.id)))

    def _flush_albums(self, peer_id: int | None = None, keep: tuple[int, int] | None = None) -> None:
        """Queue held albums (of one channel, or all) so that later events of it come after them."""
        for key in [k for k in self._albums if (peer_id is None or k[0] == peer_id) and k != keep]:
            self._flush_album(key)

    # --- the worker --------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._handle(job)
            except (errors.RPCError, OSError) as exc:
                log.warning("could not handle %s (%s: %s); the next catch-up will read what was missed",
                            type(job).__name__, type(exc).__name__, exc)
            except Exception:
                log.exception("failed to handle %s", job)
            finally:
                self._queue.task_done()

    async def _handle(self, job: object) -> None:
        if isinstance(job, _CatchUp):
            for channel in self.channels if job.channels is None else job.channels:
                await self._catch_up_channel(channel)
            return
        watched = self.watched.get(getattr(job, "peer_id", 0))
        if watched is None:
            return
        if watched.key in self._behind:  # its last catch-up failed: read the gap first, in order
            await self._catch_up_channel(watched.config)
        if isinstance(job, _Post):
            await self._ingest(watched, job.parts, alert=True)
        elif isinstance(job, _Edit) and watched.config.role == "official":
            statement = to_statement(job.message, channel=watched.key, lang=watched.config.language)
            if statement is not None:
                await self.store.run(store_edit, statement, settings=self.settings, now=self.clock())
        elif isinstance(job, _Deletion) and watched.config.role == "official":
            await self.store.run(ingest_deletions, watched.key, [str(i) for i in job.ids], settings=self.settings,
                                 now=self.clock())

    async def _ingest(self, watched: Watched, parts: list[types.Message], *, alert: bool) -> int:
        cfg = watched.config
        if cfg.role == "news":
            item = to_news_item(parts, channel=cfg.key, outlet=cfg.title, lang=cfg.language)
            return await self.store.run(store_news, item, cfg.key, max(m.id for m in parts), settings=self.settings,
                                        now=self.clock(), alert=alert)
        statements = album_statements(parts, channel=cfg.key, lang=cfg.language)
        return await self.store.run(store_statements, statements, settings=self.settings, now=self.clock(),
                                    alert=alert)

    # --- catch-up ----------------------------------------------------------------------

    async def _catch_up_channel(self, channel: ChannelConfig) -> None:
        """Read one channel forward; if that fails, it stays behind and is retried before its next event."""
        self._behind.add(channel.key)
        while True:
            try:
                watched = await self._resolve(channel)
                await self.store.run(adopt_imported, channel.key, watched.peer.channel_id)
                after = await self.store.run(last_message_id, channel.key)
                if after == 0:
                    await self._backfill(watched)
                else:
                    await self._read_forward(watched, after)
                await self.store.run(note_channel, channel, now=self.clock(), tg_id=watched.peer.channel_id)
                self._behind.discard(channel.key)
                return
            except errors.FloodWaitError as exc:
                log.warning("Telegram asks to wait %d s (FloodWait) while reading %s; waiting, then resuming",
                            exc.seconds, describe(channel))
                await self.sleep(exc.seconds)
            except (errors.RPCError, ValueError) as exc:  # this channel, not the connection (that is OSError)
                await self._report_broken(channel, broken_reason(exc))
                return

    async def _resolve(self, channel: ChannelConfig) -> Watched:
        known = next((w for w in self.watched.values() if w.config == channel), None)
        if known is not None:
            return known
        target = channel_target(channel)
        peer = await self.client.get_input_entity(target)
        if not isinstance(peer, types.InputPeerChannel):
            raise ValueError(f"{target} is a {type(peer).__name__.removeprefix('InputPeer').lower()}, not a channel")
        watched = Watched(channel, peer)
        self.watched[utils.get_peer_id(peer)] = watched
        return watched

    async def _backfill(self, watched: Watched) -> None:
        """First read of a channel: store its latest posts (settings.backfill) without alerting anyone.

        Posts dated after the monitor started are alerted all the same: they are news, and
        their live events, queued behind this read, would find them already stored.
        """
        limit = self.settings.backfill
        newest_first = [m async for m in self.client.iter_messages(watched.peer, limit=max(limit, 1), wait_time=0)]
        messages = list(reversed(newest_first))
        posts = group_albums(messages) if limit > 0 else []
        for parts in posts:
            await self._ingest(watched, parts, alert=parts[0].date >= self._started_at)
        if messages:
            await self.store.run(advance_channel, watched.key, messages[-1].id)
        log.info("first read of %s: stored its %d latest posts", describe(watched.config), len(posts))

    async def _read_forward(self, watched: Watched, after: int) -> None:
        """Read the posts after message `after`, oldest first, storing and alerting each once."""
        pending: list[types.Message] = []
        seen = 0
        async for message in self.client.iter_messages(watched.peer, min_id=after, reverse=True, wait_time=0):
            same_album = pending and message.grouped_id is not None and pending[-1].grouped_id == message.grouped_id
            if pending and not same_album:
                await self._ingest(watched, pending, alert=self._still_news(pending[0]))
                pending = []
            if is_post(message):
                pending.append(message)
            else:
                await self.store.run(advance_channel, watched.key, message.id)
            seen += 1
            if seen % PROGRESS_EVERY == 0:
                log.info("catching up %s: %d messages read, up to id %d", describe(watched.config), seen, message.id)
        if pending:
            await self._ingest(watched, pending, alert=self._still_news(pending[0]))
        if seen:
            log.info("caught up %s: %d messages after id %d", describe(watched.config), seen, after)

    def _still_news(self, message: types.Message) -> bool:
        return still_news(message.date, now=self.clock(), settings=self.settings)

    async def _report_broken(self, channel: ChannelConfig, reason: str) -> None:
        text = (f"Channel {describe(channel)} cannot be read: {reason}. It is skipped for now (tried again after a "
                "reconnect and before its next post); the other channels are watched.")
        log.warning("%s", text)
        await self.store.run(note_channel_error, channel, reason, now=self.clock())
        await self.notify_admins(text)

