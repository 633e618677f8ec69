"""The channel side: Telethon for channels it can watch, preview pages for the rest.

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
    """The running channel monitors; `await stop()` ends them."""

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


async def start_channel_side(settings: Settings, secrets: Secrets, store: StoreThread, *,
                             notify_admins: AdminNotifier | None = None,
                             client_class: type[TelegramClient] = MonitorClient,
                             clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                             sleep: Sleep = asyncio.sleep) -> ChannelSide:
    """Start watching the configured channels; raises SessionProblem if the Telethon session is unusable.

    `notify_admins(text)` receives problems an admin must act on (default: queued in the
    outbox for `settings.admins`).
    """
    notify = notify_admins if notify_admins is not None else outbox_notifier(store, settings, clock)
    telethon_channels, preview_channels = plan_sources(settings, secrets)
    side = ChannelSide()
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
            public = tuple(c for c in telethon_channels if c.username)
            if not public:
                return
            await notify(f"Until the session is fixed and the service restarted, {len(public)} channel(s) are "
                         "read from their public t.me/s/ preview pages (new posts and edits, no deletions): "
                         + ", ".join(describe(c) for c in public))
            side.fallback = PreviewMonitor(settings, store, channels=public, notify_admins=notify, clock=clock,
                                           sleep=sleep)
            await side.fallback.run()

        side.tasks.append(asyncio.create_task(watch_then_fall_back(), name="telethon-connection"))
    if preview_channels:
        side.preview = PreviewMonitor(settings, store, channels=preview_channels, notify_admins=notify, clock=clock,
                                      sleep=sleep)
        side.tasks.append(asyncio.create_task(side.preview.run(), name="preview-polling"))
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
