"""Leases of the workers delivering the outbox: who is alive, so that a dead worker's claims are taken back.

A worker renews its lease while it runs (`renew`) and gives it up when it stops (`retire`).
A row in `sending` whose worker holds no live lease is claimable by any other worker
(`communique.store.outbox.claim`); a worker known to be dead sooner (a process of this host
that no longer runs) is `forget`-ten at once, without waiting for its lease to run out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlite_utils import Database

from communique.store.timefmt import to_db


def renew(db: Database, worker: str, until: datetime) -> None:
    db.execute("INSERT INTO workers (worker, lease_until) VALUES (?, ?) "
               "ON CONFLICT(worker) DO UPDATE SET lease_until = excluded.lease_until", (worker, to_db(until)))


def hold(db: Database, worker: str, *, now: datetime, until: datetime) -> bool:
    """Renew `worker`'s lease until `until`; whether the lease was unbroken (live at `now`).  When it was not
    (it ran out, or the worker had none yet), other workers may have taken over rows it claimed before."""
    before = db.execute("SELECT lease_until FROM workers WHERE worker = ?", (worker,)).fetchone()
    renew(db, worker, until)
    return before is not None and before[0] > to_db(now)


def retire(db: Database, worker: str) -> None:
    db.execute("DELETE FROM workers WHERE worker = ?", (worker,))


def claim_holders(db: Database, *, besides: str) -> list[str]:
    """Workers other than `besides` that hold rows in `sending`."""
    return [row[0] for row in db.execute("SELECT DISTINCT claimed_by FROM outbox WHERE state = 'sending' "
                                         "AND claimed_by != ?", (besides,))]


def forget(db: Database, workers: Iterable[str]) -> None:
    """Drop the leases of workers known to be dead: their claims become claimable now."""
    db.conn.executemany("DELETE FROM workers WHERE worker = ?", [(w,) for w in workers])
