"""Store functions the delivery loop needs beyond `communique.store.outbox`.

Each runs in the store thread (`await store.run(fn, ...)`), inside one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from communique import alert_coverage
from communique.process import is_dead_here
from communique.store import outbox, workers
from communique.store.subscribers import deactivate
from communique.store.timefmt import from_db, to_db


@dataclass(frozen=True, slots=True)
class Lease:
    """A worker's lease as a store call left it: renewed `at` until `until`; `unbroken` if it had not run out
    (if it had, rows the worker claimed before `at` may have been taken over)."""
    at: datetime
    until: datetime
    unbroken: bool


def hold(db: Database, worker: str, *, clock: Callable[[], datetime], seconds: float) -> Lease:
    """Renew `worker`'s lease for `seconds`.  The time is read here, in the transaction, not when the call was
    queued: a lease found live must be live now, whatever the caller's wait for the store."""
    now = clock()
    until = now + timedelta(seconds=seconds)
    unbroken = workers.hold(db, worker, now=now, until=until)
    return Lease(now, from_db(to_db(until)), unbroken)  # type: ignore[arg-type]  # as kept: whole seconds


def claim(db: Database, worker: str, *, clock: Callable[[], datetime], lease: float,
          limit: int) -> tuple[Lease, list[dict[str, Any]]]:
    """Renew the worker's lease and claim due rows in one transaction, so that no claim is ever without a live
    lease (another worker would take it over at once).  First the claims of dead processes of this host (a
    restart after kill -9), whose leases have not run out yet, are taken back.  Alerts get their coverage as it
    is now."""
    held = hold(db, worker, clock=clock, seconds=lease)
    workers.forget(db, [w for w in workers.claim_holders(db, besides=worker) if is_dead_here(w)])
    rows = outbox.claim(db, worker, now=held.at, limit=limit)
    for row in rows:
        row["text"] = alert_coverage.complete(db, row["text"])
    return held, rows


def confirm(db: Database, worker: str, row_id: int, *, clock: Callable[[], datetime],
            lease: float) -> tuple[Lease, bool]:
    """Whether `worker` still holds the row (another worker may have taken it over while this one's lease had
    run out), renewing the lease in the same transaction, so that it cannot run out while the row is sent."""
    held = hold(db, worker, clock=clock, seconds=lease)
    return held, bool(_held_by(db, worker, [row_id]))


def _held_by(db: Database, worker: str, row_ids: list[int]) -> list[int]:
    """Those of `row_ids` that `worker` holds: being sent, claimed by it (not taken over by another)."""
    if not row_ids:
        return []
    marks = ",".join("?" * len(row_ids))
    return [row[0] for row in db.execute(f"SELECT id FROM outbox WHERE id IN ({marks}) AND state = 'sending' "
                                         "AND claimed_by = ? ORDER BY id", [*row_ids, worker])]


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


def defer(db: Database, worker: str, row_ids: list[int], not_before: datetime, reason: str) -> None:
    """Give rows back to the queue until `not_before` (rate limits, 429): waiting is not a failure.  Only rows
    the worker still holds: one taken over by another worker is that worker's to send."""
    for row_id in _held_by(db, worker, row_ids):
        outbox.retry_later(db, row_id, not_before, reason)


def failed_attempt(db: Database, worker: str, row_id: int, not_before: datetime, error: str, *,
                   now: datetime) -> None:
    """A send failed: counted, and the row back to the queue, if the worker still holds it."""
    if _held_by(db, worker, [row_id]):
        outbox.failed_attempt(db, row_id, not_before, error, now=now)
