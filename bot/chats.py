"""Store functions behind the chat commands (run in the store thread via `await store.run(fn, ...)`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from communique.store.subscribers import (
    Subscription,
    ensure_subscriber,
    get_subscriber,
    subscribe,
    subscriptions_of,
    unsubscribe,
    update_subscriber,
)

MAX_SUBSCRIPTIONS = 100


def register(db: Database, chat_id: int, *, chat_type: str, title: str | None, digest_time: str,
             now: datetime, language: str = "en") -> bool:
    """Make sure the chat is a subscriber (new chats get the default digest time); True if it is new.
    A chat without a language takes `language` (that of the user who set it up), once."""
    new = get_subscriber(db, chat_id) is None
    ensure_subscriber(db, chat_id, now=now, chat_type=chat_type, title=title)
    if new:
        update_subscriber(db, chat_id, digest_time=digest_time)
    db.execute("UPDATE subscribers SET language = ? WHERE chat_id = ? AND language IS NULL", (language, chat_id))
    return new


def chat_languages(db: Database) -> dict[int, str]:
    """Every chat's language, by chat id."""
    return dict(db.execute("SELECT chat_id, language FROM subscribers WHERE language IS NOT NULL").fetchall())


def chat_language(db: Database, chat_id: int) -> str | None:
    """The language stored for the chat, or None for a chat not registered (or registered before languages)."""
    row = db.execute("SELECT language FROM subscribers WHERE chat_id = ?", (chat_id,)).fetchone()
    return row[0] if row else None


def follow(db: Database, chat_id: int, kind: str, value: str, *, now: datetime) -> str:
    """Add a subscription: 'added', 'already', or 'full' (the chat has MAX_SUBSCRIPTIONS)."""
    count = db.execute("SELECT count(*) FROM subscriptions WHERE chat_id = ?", (chat_id,)).fetchone()[0]
    if count >= MAX_SUBSCRIPTIONS:
        return "full"
    return "added" if subscribe(db, chat_id, kind, value, now=now) else "already"


def toggle_topic(db: Database, chat_id: int, topic: str, *, now: datetime) -> tuple[bool, set[str]]:
    """Follow the topic if the chat does not, else unfollow; returns (now following?, topics followed)."""
    following = not unsubscribe(db, chat_id, "topic", topic)
    if following:
        subscribe(db, chat_id, "topic", topic, now=now)
    return following, followed_topics(db, chat_id)


def followed_topics(db: Database, chat_id: int) -> set[str]:
    return {s.value for s in subscriptions_of(db, chat_id) if s.kind == "topic"}


def overview(db: Database, chat_id: int) -> tuple[dict[str, Any], list[Subscription]]:
    subscriber = get_subscriber(db, chat_id)
    assert subscriber is not None, "register the chat first"
    return subscriber, subscriptions_of(db, chat_id)
