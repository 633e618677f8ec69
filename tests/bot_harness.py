"""Running the real bot (PTB Application, handlers, delivery loop) against the fake Bot API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from communique.bot.app import build_application, serve
from communique.bot.delivery import DeliveryOptions
from communique.bot.ratelimit import Limits
from fakebotapi import FakeBotAPI

from communique.settings import Secrets, Settings
from communique.store import StoreThread

ADMIN = 777
# Telegram's counts over windows ten times shorter, so a test waits 0.1 s where Telegram waits 1 s.
FAST = Limits(margin=0.2).scaled(10)


@dataclass
class Harness:
    fake: FakeBotAPI
    app: Any
    store: StoreThread
    settings: Settings

    async def say(self, chat_id: int, text: str, *, replies: int = 1, **kwargs: Any) -> list[str]:
        """Send `text` to the bot from `chat_id` and return the bot's next `replies` messages there."""
        before = len(self.fake.sent_messages(chat_id))
        self.fake.push_message(chat_id, text, **kwargs)
        messages = await self.fake.wait_for_messages(chat_id, before + replies)
        return [m.get("text", m.get("caption", "")) for m in messages[before:]]

    async def silence(self, chat_id: int, text: str, **kwargs: Any) -> None:
        """Send `text` and check that the bot does not answer it (once a later /help has been answered)."""
        before = len(self.fake.sent_messages(chat_id))
        self.fake.push_message(chat_id, text, **kwargs)
        self.fake.push_message(chat_id, "/help@" + self.fake.username, **kwargs)
        messages = await self.fake.wait_for_messages(chat_id, before + 1)
        assert messages[before]["text"].startswith("Commands"), messages[before]["text"]


@asynccontextmanager
async def running_bot(fake: FakeBotAPI, db_path: Path, settings: Settings, *,
                      options: DeliveryOptions | None = None, **kwargs: Any) -> AsyncIterator[Harness]:
    """The bot serving from start-up to shutdown, as `communique bot` runs it."""
    settings = replace(settings, admins=frozenset({ADMIN}))
    store = StoreThread(db_path)
    secrets = Secrets(bot_token=fake.token, bot_api_url=fake.base_url)
    options = options or DeliveryOptions(worker="test", limits=FAST, poll_interval=0.05, retry_backoff=0.1)
    app = build_application(settings, secrets, store, delivery=options, **kwargs)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop))
    try:
        await fake.wait_for(lambda: app.running or task.done())
        if task.done():
            task.result()
        yield Harness(fake, app, store, settings)
    finally:
        stop.set()
        await task
        store.close()
