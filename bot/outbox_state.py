"""Store functions the delivery loop needs beyond `communique.store.outbox`.

Each runs in the store thread (`await store.run(fn, ...)`), inside one transaction.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from communique.store import outbox
from communique.store.subscribers import deactivate


def progress(db: Database, row_ids: list[int]) -> dict[int, list[int]]:
    """Message ids already sent for rows that were interrupted part-way (a photo and/or split text)."""
    if not row_ids:
        return {}
    marks = ",".join("?" * len(row_ids))
    rows = db.execute(f"SELECT id, message_ids FROM outbox WHERE id IN ({marks}) AND message_ids IS NOT NULL",
                      row_ids).fetchall()
    return {row_id: json.loads(ids) for row_id, ids in rows}


def save_progress(db: Database, row_id: int, message_ids: list[int]) -> None:
    """Remember the parts of a row sent so far, so a retry or a takeover sends only the rest."""
    db.execute("UPDATE outbox SET message_ids = ? WHERE id = ?", (json.dumps(message_ids), row_id))


def mark_failed(db: Database, row_id: int, error: str) -> None:
    """Telegram refused the message for good (a 400 we cannot fix); kept with its error for the admin."""
    db.execute("UPDATE outbox SET state = 'failed', error = ? WHERE id = ?", (error, row_id))


def chat_gone(db: Database, chat_id: int, row_ids: list[int], error: str) -> None:
    """403 (blocked, kicked, deactivated) or chat not found: stop sending there, skip its messages."""
    deactivate(db, chat_id)
    for row_id in row_ids:
        outbox.mark_skipped(db, row_id, error)


def defer(db: Database, row_ids: list[int], not_before: datetime, reason: str) -> None:
    """Give rows back to the queue until `not_before` (rate limits, 429, transient errors)."""
    for row_id in row_ids:
        outbox.retry_later(db, row_id, not_before, reason)
