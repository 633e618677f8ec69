"""What the bot's handlers share, kept in `application.bot_data` (no module globals).

- `settings`: the `LiveSettings`: the configuration read at start, with the channels, feeds and topics of
  the store's catalogue (read again whenever it changes; `settings_of` gives the current `Settings`);
- `secrets`: the `Secrets` (the token is also inside PTB's Bot);
- `store`: the `StoreThread` every handler goes through for SQLite;
- `pending_changes`: catalogue changes an admin asked for and has not yet confirmed, by a short id;
- `schedule_listeners`: coroutines `listener(chat_id)` told when a chat's digest time, time
  zone or existence changed (the digest scheduler subscribes with `on_schedule_change`);
- `chat_languages`: each chat's language, read from the store at start and kept as it changes, so a
  reply never waits for the store to know its language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram.ext import Application, ContextTypes

from communique.settings import Settings
from communique.store import StoreThread
from communique.store.catalogue import LiveSettings

SETTINGS = "settings"
SECRETS = "secrets"
STORE = "store"
DELIVERY = "delivery"
SCHEDULE_LISTENERS = "schedule_listeners"
CHAT_LANGUAGES = "chat_languages"
PENDING_CHANGES = "pending_changes"

ScheduleListener = Callable[[int], Awaitable[None]]
Context = ContextTypes.DEFAULT_TYPE


def settings_of(context: Context) -> Settings:
    return live_settings_of(context).current


def live_settings_of(context: Context) -> LiveSettings:
    return context.bot_data[SETTINGS]


def store_of(context: Context) -> StoreThread:
    return context.bot_data[STORE]


def languages_of(context: Context) -> dict[int, str]:
    return context.bot_data.setdefault(CHAT_LANGUAGES, {})


def on_schedule_change(application: Application[Any, Any, Any, Any, Any, Any], listener: ScheduleListener) -> None:
    """Call `listener(chat_id)` after a chat changes its digest time or time zone, or is forgotten."""
    application.bot_data.setdefault(SCHEDULE_LISTENERS, []).append(listener)


async def schedule_changed(context: Context, chat_id: int) -> None:
    for listener in context.bot_data.get(SCHEDULE_LISTENERS, []):
        await listener(chat_id)
