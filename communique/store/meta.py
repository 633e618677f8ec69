"""The `meta` table: store-wide facts, one value per key (which normaliser built the indexes, which
embedding model made the vectors, how far the embedding pass has got)."""

from __future__ import annotations

from sqlite_utils import Database


def get_meta(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(db: Database, key: str, value: str) -> None:
    db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               (key, value))
