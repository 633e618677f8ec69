"""Subscribers (chats) and what each follows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from communique.store.timefmt import to_db

SETTINGS = ("timezone", "digest_time", "paused", "edit_followups", "coverage_followups", "empty_digest", "title",
            "language")


@dataclass(frozen=True, slots=True)
class Subscription:
    chat_id: int
    kind: str  # topic, keyword or channel
    value: str


def ensure_subscriber(db: Database, chat_id: int, *, now: datetime, chat_type: str = "private",
                      title: str | None = None) -> None:
    """Create the subscriber if new; a returning chat that had blocked the bot becomes active again."""
    db.execute(
        "INSERT INTO subscribers (chat_id, chat_type, title, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(chat_id) DO UPDATE SET active = 1, chat_type = excluded.chat_type, "
        "title = coalesce(excluded.title, subscribers.title)",
        (chat_id, chat_type, title, to_db(now)),
    )


def update_subscriber(db: Database, chat_id: int, **values: Any) -> None:
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown subscriber settings: {sorted(unknown)}")
    sets = ", ".join(f"{name} = ?" for name in values)
    db.execute(f"UPDATE subscribers SET {sets} WHERE chat_id = ?", [*values.values(), chat_id])


def get_subscriber(db: Database, chat_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM subscribers WHERE chat_id = ?", [chat_id]))
    return rows[0] if rows else None


def subscribe(db: Database, chat_id: int, kind: str, value: str, *, now: datetime) -> bool:
    """Add a subscription; returns False if the chat already had it."""
    cursor = db.execute("INSERT OR IGNORE INTO subscriptions (chat_id, kind, value, created_at) VALUES (?, ?, ?, ?)",
                        (chat_id, kind, value, to_db(now)))
    return cursor.rowcount > 0


def unsubscribe(db: Database, chat_id: int, kind: str, value: str) -> bool:
    cursor = db.execute("DELETE FROM subscriptions WHERE chat_id = ? AND kind = ? AND value = ?",
                        (chat_id, kind, value))
    return cursor.rowcount > 0


def subscriptions_of(db: Database, chat_id: int) -> list[Subscription]:
    rows = db.execute("SELECT chat_id, kind, value FROM subscriptions WHERE chat_id = ? ORDER BY kind, value",
                      (chat_id,)).fetchall()
    return [Subscription(*row) for row in rows]


def active_subscriptions(db: Database) -> list[Subscription]:
    """Subscriptions of chats that receive alerts now (active and not paused)."""
    rows = db.execute(
        "SELECT s.chat_id, s.kind, s.value FROM subscriptions s JOIN subscribers c ON c.chat_id = s.chat_id "
        "WHERE c.active = 1 AND c.paused = 0 ORDER BY s.chat_id"
    ).fetchall()
    return [Subscription(*row) for row in rows]


def deactivate(db: Database, chat_id: int) -> None:
    """The bot was blocked or removed: stop sending to this chat, keep its settings."""
    db.execute("UPDATE subscribers SET active = 0 WHERE chat_id = ?", (chat_id,))


def forget(db: Database, chat_id: int) -> None:
    """/stop: remove the chat, its subscriptions and its undelivered messages."""
    db.execute("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))
    db.execute("DELETE FROM outbox WHERE chat_id = ? AND state IN ('pending', 'failed')", (chat_id,))
    db.execute("DELETE FROM digests WHERE chat_id = ?", (chat_id,))
    db.execute("DELETE FROM subscribers WHERE chat_id = ?", (chat_id,))


def migrate_chat(db: Database, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: move the subscriber, its subscriptions, pending messages and digests.

    The new subscriber row is made first and the old one removed last, so the subscriptions'
    foreign key holds at every step.
    """
    columns = [c.name for c in db["subscribers"].columns if c.name not in ("chat_id", "chat_type")]
    names = ", ".join(columns)
    db.execute(f"INSERT OR IGNORE INTO subscribers (chat_id, chat_type, {names}) "
               f"SELECT ?, 'supergroup', {names} FROM subscribers WHERE chat_id = ?", (new_chat_id, old_chat_id))
    db.execute("UPDATE OR IGNORE subscriptions SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id))
    db.execute("UPDATE OR IGNORE outbox SET chat_id = ? WHERE chat_id = ? AND state IN ('pending', 'sending')",
               (new_chat_id, old_chat_id))
    db.execute("UPDATE OR IGNORE digests SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id))
    db.execute("DELETE FROM subscriptions WHERE chat_id = ?", (old_chat_id,))
    db.execute("DELETE FROM subscribers WHERE chat_id = ?", (old_chat_id,))
