"""`communique run` and `communique bot`: the parts that share one event loop and one scheduler.

The bot's Application owns the loop and the job queue (APScheduler underneath); its start-up
hook schedules the digests and the feed polling and starts the channel monitors; its
shutdown hook stops them again.  `communique bot` runs the bot side alone (commands,
delivery, digests); `communique run` adds the monitors and the feeds.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from communique.bot.app import App, Hook, run_bot
from communique.bot.context import STORE
from communique.bot.digest_jobs import schedule_digests
from communique.embedding_worker import EmbeddingWorker, configured_embedder
from communique.matching.embedder import Embedder
from communique.monitors.feed_jobs import schedule_feeds
from communique.monitors.main import start_channel_side
from communique.settings import Secrets, Settings


def service_hooks(settings: Settings, secrets: Secrets, *, monitors: bool,
                  embedder: Embedder | None = None) -> tuple[list[Hook], list[Hook]]:
    """Start-up and shutdown hooks for the bot's Application: digests, and with `monitors` feeds and channels
    (and the embedding pass, given an `embedder`)."""
    running: dict[str, Any] = {}

    async def start(application: App) -> None:
        store = application.bot_data[STORE]
        schedule_digests(application.job_queue, settings, store)
        if monitors:
            running["feeds"] = schedule_feeds(application.job_queue, settings, store)
            running["channels"] = await start_channel_side(settings, secrets, store)
            if embedder is not None:
                worker = EmbeddingWorker(store, embedder, settings)
                running["embedding"] = asyncio.create_task(worker.run(), name="embedding-pass")

    async def stop(application: App) -> None:
        if "embedding" in running:
            task = running.pop("embedding")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if "channels" in running:
            await running.pop("channels").stop()
        if "feeds" in running:
            await running.pop("feeds").aclose()

    return [start], [stop]


def run_bot_side(settings: Settings, secrets: Secrets, db_path: str | Path) -> int:
    """The bot alone: commands, outbox delivery and the daily digests."""
    secrets.require_bot()
    on_startup, on_shutdown = service_hooks(settings, secrets, monitors=False)
    return run_bot(settings, secrets, db_path, on_startup=on_startup, on_shutdown=on_shutdown)


def run_service(settings: Settings, secrets: Secrets, db_path: str | Path) -> int:
    """Everything in one process: bot, digests, feed polling, channel monitors and the embedding pass."""
    secrets.require_bot()
    on_startup, on_shutdown = service_hooks(settings, secrets, monitors=True, embedder=configured_embedder(settings))
    return run_bot(settings, secrets, db_path, on_startup=on_startup, on_shutdown=on_shutdown)
