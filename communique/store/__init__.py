"""The SQLite store: one file (WAL) shared by the monitors and the bot."""

from communique.store.db import StoreThread, default_path, migrate, open_db, transaction

__all__ = ["StoreThread", "default_path", "migrate", "open_db", "transaction"]
