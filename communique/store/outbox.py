"""The alert outbox: monitors enqueue, the bot's delivery loop claims and settles.

One row per (dedupe_key, chat_id), so enqueuing the same event twice is a no-op.  A row
moves pending -> sending (claimed by one worker) -> sent, or back to pending with a later
`not_before` after a retryable failure, or to skipped when the chat is gone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from communique.models import Alert
from communique.store.timefmt import to_db


def enqueue(db: Database, alert: Alert, *, now: datetime) -> bool:
    """Add an alert to the outbox; returns False if this event was already queued for this chat."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO outbox (dedupe_key, chat_id, kind, statement_id, text, parse_mode, photo, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (alert.dedupe_key, alert.chat_id, alert.kind, alert.statement_id, alert.text, alert.parse_mode, alert.photo,
         to_db(now)),
    )
    return cursor.rowcount > 0


CLAIMED = ("id", "dedupe_key", "chat_id", "kind", "statement_id", "text", "parse_mode", "photo", "attempts",
           "message_ids", "failing_since")


def claim(db: Database, worker: str, *, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
    """Take up to `limit` due rows for `worker`, oldest first.

    Rows claimed by a worker that holds no live lease (`communique.store.workers`: it died mid-send)
    are taken over.  A row waits while an earlier row of its chat is held by another worker or
    deferred, so that each chat gets its messages in order.  The UPDATE ... RETURNING runs as one
    statement, so two processes never claim the same row.
    """
    rows = db.execute(
        f"""UPDATE outbox SET state = 'sending', claimed_by = :worker, claimed_at = :now
           WHERE id IN (
               SELECT id FROM outbox AS o
               WHERE ((state = 'pending' AND (not_before IS NULL OR not_before <= :now))
                      OR (state = 'sending' AND claimed_by != :worker AND NOT {_LIVE.format(row="o")}))
                 AND NOT EXISTS (
                     SELECT 1 FROM outbox AS e WHERE e.chat_id = o.chat_id AND e.id < o.id
                        AND ((e.state = 'pending' AND e.not_before > :now)
                             OR (e.state = 'sending' AND e.claimed_by != :worker AND {_LIVE.format(row="e")})))
               ORDER BY id LIMIT :limit)
           RETURNING {", ".join(CLAIMED)}""",
        {"worker": worker, "now": to_db(now), "limit": limit},
    ).fetchall()
    return sorted((dict(zip(CLAIMED, row, strict=True)) for row in rows), key=lambda r: r["id"])


# The worker that claimed a row is alive: it holds a lease that has not run out.
_LIVE = "EXISTS (SELECT 1 FROM workers AS w WHERE w.worker = {row}.claimed_by AND w.lease_until > :now)"


def mark_sent(db: Database, row_id: int, message_ids: list[int], *, now: datetime) -> None:
    db.execute("UPDATE outbox SET state = 'sent', sent_at = ?, message_ids = ?, error = NULL WHERE id = ?",
               (to_db(now), json.dumps(message_ids), row_id))


def retry_later(db: Database, row_id: int, not_before: datetime, error: str) -> None:
    """Back to the queue until `not_before`, for a reason that is not the row's fault (a rate limit, a 429)."""
    db.execute("UPDATE outbox SET state = 'pending', not_before = ?, claimed_by = NULL, error = ? WHERE id = ?",
               (to_db(not_before), error, row_id))


def failed_attempt(db: Database, row_id: int, not_before: datetime, error: str, *, now: datetime) -> None:
    """A send failed (network, an unexpected error): counted, timed from the first, and retried at `not_before`."""
    db.execute("UPDATE outbox SET state = 'pending', not_before = ?, claimed_by = NULL, error = ?, "
               "attempts = attempts + 1, failing_since = coalesce(failing_since, ?) WHERE id = ?",
               (to_db(not_before), error, to_db(now), row_id))


def mark_skipped(db: Database, row_id: int, error: str) -> None:
    db.execute("UPDATE outbox SET state = 'skipped', error = ? WHERE id = ?", (error, row_id))


def release(db: Database, worker: str) -> None:
    """Give back rows a worker claimed but did not send (clean shutdown)."""
    db.execute("UPDATE outbox SET state = 'pending', claimed_by = NULL WHERE state = 'sending' AND claimed_by = ?",
               (worker,))


def pending_for(db: Database, chat_id: int | None = None) -> list[dict[str, Any]]:
    where, params = ("AND chat_id = ?", [chat_id]) if chat_id is not None else ("", [])
    return list(db.query(f"SELECT * FROM outbox WHERE state = 'pending' {where} ORDER BY id", params))


def sent_recipients(db: Database, dedupe_key: str, *, queued: bool = True) -> list[int]:
    """Chats that received an event, or (`queued`) will (used to send follow-ups to the same people)."""
    states = "('pending', 'sending', 'sent')" if queued else "('sending', 'sent')"
    return [row[0] for row in db.execute(f"SELECT chat_id FROM outbox WHERE dedupe_key = ? AND state IN {states}",
                                         (dedupe_key,)).fetchall()]
