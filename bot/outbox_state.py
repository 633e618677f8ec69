"""Store functions the delivery loop needs beyond `communique.store.outbox`.

Each runs in the store thread (`await store.run(fn, ...)`), inside one transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from communique import alert_coverage
from communique.process import is_dead_here
from communique.store import outbox, workers
from communique.store.subscribers import deactivate


def claim(db: Database, worker: str, *, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Claim due rows, first taking back at once the claims of dead processes of this host (a restart
    after kill -9), whose leases have not run out yet.  Alerts get their coverage as it is now."""
    workers.forget(db, [w for w in workers.claim_holders(db, besides=worker) if is_dead_here(w)])
    rows = outbox.claim(db, worker, now=now, limit=limit)
    for row in rows:
        row["text"] = alert_coverage.complete(db, row["text"])
    return rows


def save_progress(db: Database, row_id: int, message_ids: list[int]) -> None:
    """Remember the parts of a row sent so far, so a retry or a takeover sends only the rest."""
    db.execute("UPDATE outbox SET message_ids = ? WHERE id = ?", (json.dumps(message_ids), row_id))


def mark_failed(db: Database, row_id: int, error: str) -> None:
    """Telegram refused the message for good (a 400 we cannot fix), or sends failed for too long; kept with
    its error for the admin."""
    db.execute("UPDATE outbox SET state = 'failed', error = ? WHERE id = ?", (error, row_id))


def chat_gone(db: Database, chat_id: int, row_ids: list[int], error: str) -> None:
    """403 (blocked, kicked, deactivated) or chat not found: stop sending there, skip its messages."""
    deactivate(db, chat_id)
    for row_id in row_ids:
        outbox.mark_skipped(db, row_id, error)


def defer(db: Database, row_ids: list[int], not_before: datetime, reason: str) -> None:
    """Give rows back to the queue until `not_before` (rate limits, 429): waiting is not a failure."""
    for row_id in row_ids:
        outbox.retry_later(db, row_id, not_before, reason)
