"""Opening the one SQLite file (WAL) that monitors and bot share, and migrating it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from sqlite_utils import Database

from communique.errors import StoreUnavailable
from communique.store.index_state import ensure_current
from communique.store.schema import MIGRATIONS
from communique.store.sqlite import sqlite3

DEFAULT_PATH = "communique.db"
P = ParamSpec("P")
T = TypeVar("T")


def default_path() -> str:
    return os.environ.get("COMMUNIQUE_DB", "").strip() or DEFAULT_PATH


def open_db(path: str | Path, *, check_same_thread: bool = True) -> Database:
    """Open (creating if needed) the store at `path`, bring its schema up to date, and rebuild its
    full-text indexes if another version of the normaliser built them.

    A store that cannot be opened or written raises `StoreUnavailable`, naming the path and the problem,
    so that a command stops at once rather than failing later on every use.
    """
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=check_same_thread)
        db = Database(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        migrate(db)
        with transaction(db):
            ensure_current(db)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise StoreUnavailable(f"{path}: cannot open the store ({_problem(Path(path), exc)})") from exc
    return db


def _problem(path: Path, exc: sqlite3.Error) -> str:
    """What the user can fix, in words: SQLite says "unable to open database file" for several causes."""
    if path.parent.exists() and not path.parent.is_dir():
        return f"{path.parent} is a file, not a folder"
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    if path.is_dir():
        return "it is a folder"
    if "readonly" in str(exc) or not os.access(path.parent, os.W_OK):
        return "read-only: the file and its folder must be writable"
    return str(exc)


def schema_version(db: Database) -> int:
    if not db["schema_migrations"].exists():
        return 0
    return db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(db: Database) -> list[int]:
    """Apply the migrations this file has not seen yet; returns the versions applied."""
    conn = db.conn
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)"
    )
    applied: list[int] = []
    for version, name, sql in MIGRATIONS:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                conn.execute("COMMIT")
                continue
            for statement in _split_sql(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about quotes and triggers)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip().strip(";").strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


class StoreThread:
    """Runs store functions on one worker thread with its own connection.

    Async code (bot, monitors) awaits `run(fn, ...)` instead of touching SQLite on the event
    loop; every function gets the thread's `Database` as its first argument.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="communique-store")
        self._db: Database | None = None

    def open(self) -> None:
        """Open the store now (it is otherwise opened at first use); raises `StoreUnavailable`."""
        self._executor.submit(self._connection).result()

    def _connection(self) -> Database:
        if self._db is None:
            self._db = open_db(self.path)
        return self._db

    def _call(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        db = self._connection()
        with transaction(db):
            return fn(db, *args, **kwargs)

    async def run(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args, kwargs)

    def close(self) -> None:
        def _close() -> None:
            if self._db is not None:
                self._db.conn.close()
                self._db = None

        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)


class transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error; nested uses join the outer transaction."""

    def __init__(self, db: Database) -> None:
        self.conn = db.conn
        self.outer = False

    def __enter__(self) -> None:
        self.outer = not self.conn.in_transaction
        if self.outer:
            self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
