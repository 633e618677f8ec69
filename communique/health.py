"""`communique health`: is the service serving? Answered from the store alone, read-only, for a
container's HEALTHCHECK or a supervisor.

Healthy means three things a running `communique run` or `communique bot` makes true and keeps
true: the store opens (read-only, so the check can never create, migrate or lock it), its schema is
the one this version writes, and an outbox delivery worker holds a live lease (renewed every 10 s,
valid for 30 s: `communique.bot.delivery`). A stopped, hung or crashed bot lets its lease run out.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

from communique.errors import CommuniqueError
from communique.store.backup import open_read_only
from communique.store.schema import MIGRATIONS
from communique.store.sqlite import sqlite3
from communique.store.timefmt import from_db, to_db


class Unhealthy(CommuniqueError):
    """The store is there, but the service is not serving from it."""


def check(path: str | Path, *, now: datetime) -> str:
    """One line saying why the service is healthy; `Unhealthy` (or `StoreUnavailable`) saying why not."""
    with contextlib.closing(open_read_only(path)) as conn:
        try:
            version = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
            lease = conn.execute("SELECT worker, max(lease_until) FROM workers WHERE lease_until > ?",
                                 (to_db(now),)).fetchone()
        except sqlite3.Error as exc:
            raise Unhealthy(f"{path}: not a store this version has served ({exc})") from exc
    expected = MIGRATIONS[-1][0]
    if version != expected:
        raise Unhealthy(f"{path}: schema version {version}, this communique writes {expected}")
    worker, until = lease
    if worker is None:
        raise Unhealthy(f"{path}: no delivery worker holds a live lease (is `communique run` or `bot` running?)")
    until_time = from_db(until)
    assert until_time is not None
    return f"healthy: {path}: schema {version}, delivery worker {worker} alive until {until_time:%H:%M:%S} UTC"
