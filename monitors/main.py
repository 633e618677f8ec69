"""The channel side: Telethon for channels it can watch, preview pages for the rest.

The channels are the store's catalogue (seeded from the configuration, changed by admins in chat):
the running side looks at it again every `FOLLOW_EVERY` seconds and starts or stops watching.

`start_channel_side` starts both in the running event loop and returns a handle to stop
them; `communique monitor` runs it alone (the bot may run in another process on the same
database) and `communique run` starts it next to the bot.  The Telethon part reconnects
with exponential backoff when the connection drops for good, and catches up after every
reconnect; a session that stops being valid is reported to the admins and ends only the
Telethon part.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from communique.monitors.channel_state import AdminNotifier, describe, outbox_notifier
from communique.monitors.preview_monitor import PreviewMonitor
from communique.monitors.session import SessionProblem, build_client, explain, require_authorized, session_place
from communique.monitors.telethon_client import MonitorClient
from communique.monitors.telethon_monitor import TelethonMonitor
from telethon import TelegramClient, errors

from communique.settings import ChannelConfig, Secrets, Settings
from communique.store import StoreThread
from communique.store.catalogue import FOLLOW_EVERY, LiveSettings

log = logging.getLogger(__name__)
MAX_BACKOFF = 300.0
STABLE_AFTER = 60.0
Sleep = Callable[[float], Awaitable[object]]


def plan_sources(settings: Settings, secrets: Secrets) -> tuple[tuple[ChannelConfig, ...], tuple[ChannelConfig, ...]]:
    """(channels for Telethon, channels for preview pages): everything is preview without API credentials."""
    if not secrets.has_user_client:
        return (), settings.channels
    return (tuple(c for c in settings.channels if c.source != "preview"),
            tuple(c for c in settings.channels if c.source == "preview"))


@dataclass
class ChannelSide:
    """The running channel monitors; `await stop()` ends them.  `follow` keeps them on the catalogue's
    channels: new ones are watched, removed ones are let go, without a restart."""

    secrets: Secrets
    store: StoreThread
    notify: AdminNotifier
    clock: Callable[[], datetime]
    sleep: Sleep
    telethon: TelethonMonitor | None = None
    client: TelegramClient | None = None
    preview: PreviewMonitor | None = None
    fallback: PreviewMonitor | None = None  # Telethon's channels, read from preview pages once it stopped
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.telethon is not None:
            await self.telethon.stop()
        if self.client is not None:
            await self.client.disconnect()
        for preview in (self.preview, self.fallback):
            if preview is not None:
                await preview.aclose()

    def start_preview(self, settings: Settings, channels: tuple[ChannelConfig, ...]) -> None:
        self.preview = PreviewMonitor(settings, self.store, channels=channels, notify_admins=self.notify,
                                      clock=self.clock, sleep=self.sleep)
        self.tasks.append(asyncio.create_task(self.preview.run(), name="preview-polling"))

    def retarget(self, settings: Settings) -> None:
        """Watch the channels `settings` lists from now on; a channel meant for Telethon while Telethon is not
        reading is read from its preview page, like the channels of a revoked session."""
        telethon_channels, preview_channels = plan_sources(settings, self.secrets)
        if self.telethon is not None and self.fallback is None:
            self.telethon.settings = settings
            self.telethon.watch(telethon_channels)
        elif self.fallback is not None:
            self.fallback.settings = settings
            self.fallback.channels = tuple(c for c in telethon_channels if c.username)
        else:
            preview_channels += telethon_channels
        if self.preview is not None:
            self.preview.settings, self.preview.channels = settings, preview_channels
        elif preview_channels:
            self.start_preview(settings, preview_channels)

    async def follow(self, live: LiveSettings, every: float) -> None:
        """Look at the catalogue every `every` seconds (one query) and retarget when it changed."""
        while True:
            await asyncio.sleep(every)
            try:
                if await self.store.run(live.refresh):
                    self.retarget(live.current)
                    log.info("channels: the catalogue changed; now watching %d channel(s)",
                             len(live.current.channels))
            except Exception:  # a store outage must not end the following
                log.exception("channels: could not read the catalogue; trying again in %g s", every)


async def start_channel_side(settings: Settings, secrets: Secrets, store: StoreThread, *,
                             notify_admins: AdminNotifier | None = None,
                             client_class: type[TelegramClient] = MonitorClient,
                             clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                             sleep: Sleep = asyncio.sleep, follow_every: float = FOLLOW_EVERY) -> ChannelSide:
    """Start watching the catalogue's channels (`settings` seeds it); raises SessionProblem if the Telethon
    session is unusable.  Every `follow_every` seconds the catalogue is looked at again for channels added
    or removed in chat.

    `notify_admins(text)` receives problems an admin must act on (default: queued in the
    outbox for `settings.admins`).
    """
    notify = notify_admins if notify_admins is not None else outbox_notifier(store, settings, clock)
    live = LiveSettings(settings)
    settings = await store.run(live.start, now=clock())
    telethon_channels, preview_channels = plan_sources(settings, secrets)
    side = ChannelSide(secrets, store, notify, clock, sleep)
    if telethon_channels:
        side.client = build_client(settings, secrets, client_class=client_class)
        place = session_place(settings, secrets)
        try:
            await side.client.connect()
        except OSError as exc:
            log.warning("cannot reach Telegram yet (%s); will keep trying", exc)
        else:
            await require_authorized(side.client, place)
        side.telethon = TelethonMonitor(side.client, settings, store, channels=telethon_channels,
                                        notify_admins=notify, clock=clock, sleep=sleep)
        async def watch_then_fall_back() -> None:
            await keep_watching(side.client, side.telethon, place, notify, sleep)  # returns: the session is gone
            public = tuple(c for c in side.telethon.channels if c.username)
            if not public:
                return
            await notify(f"Until the session is fixed and the service restarted, {len(public)} channel(s) are "
                         "read from their public t.me/s/ preview pages (new posts and edits, no deletions): "
                         + ", ".join(describe(c) for c in public))
            side.fallback = PreviewMonitor(side.telethon.settings, store, channels=public, notify_admins=notify,
                                           clock=clock, sleep=sleep)
            await side.fallback.run()

        side.tasks.append(asyncio.create_task(watch_then_fall_back(), name="telethon-connection"))
    if preview_channels:
        side.start_preview(settings, preview_channels)
    side.tasks.append(asyncio.create_task(side.follow(live, follow_every), name="channels-follow"))
    log.info("watching %d channel(s) with Telethon and %d from preview pages", len(telethon_channels),
             len(preview_channels))
    return side


async def keep_watching(client: TelegramClient, monitor: TelethonMonitor, place: str, notify: AdminNotifier,
                        sleep: Sleep = asyncio.sleep) -> None:
    """Stay connected: (re)connect with backoff, catch up, and receive updates until cancelled.

    The wait before reconnecting doubles up to MAX_BACKOFF, and starts again from one
    second once a connection has lasted a minute.
    """
    loop = asyncio.get_running_loop()
    delay = 1.0
    while True:
        try:
            if not client.is_connected():
                await client.connect()
            await require_authorized(client, place)
            await monitor.start()
            connected_at = loop.time()
            await client.run_until_disconnected()
            log.warning("Telegram connection closed; reconnecting")
            if loop.time() - connected_at >= STABLE_AFTER:
                delay = 1.0
        except SessionProblem as exc:
            await notify(f"Telethon channel monitoring stopped: {exc}")
            return
        except errors.RPCError as exc:
            problem = explain(exc, place)
            if problem is not None:
                await notify(f"Telethon channel monitoring stopped: {problem}")
                return
            log.warning("Telegram error (%s: %s); reconnecting in %.0f s", type(exc).__name__, exc, delay)
        except OSError as exc:
            log.warning("cannot reach Telegram (%s); retrying in %.0f s", exc, delay)
        await sleep(delay)
        delay = min(delay * 2, MAX_BACKOFF)


async def run_monitor(settings: Settings, secrets: Secrets, db_path: str | Path) -> None:
    """`communique monitor`: the channel side alone, until SIGINT or SIGTERM."""
    store = StoreThread(db_path)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        side = await start_channel_side(settings, secrets, store)
        try:
            await stopping.wait()
        finally:
            await side.stop()
    finally:
        store.close()
