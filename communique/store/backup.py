"""`communique backup PATH`: a consistent copy of the store, safe while the bot and monitors write to it.

SQLite's online backup API (`sqlite3.Connection.backup`) copies the pages under a read transaction:
in WAL mode writers go on meanwhile, and the copy is the store as of one moment. The copy is written
beside its destination under a temporary name and renamed when complete, so a failed backup leaves
nothing that looks like one.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from communique.errors import CommuniqueError, StoreUnavailable
from communique.store.sqlite import sqlite3

COUNTED = ("statements", "news", "subscribers")


class BackupError(CommuniqueError):
    """The backup cannot be written where asked."""


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    size: int
    counts: dict[str, int]

    def line(self, source: str | Path) -> str:
        counts = ", ".join(f"{n:,} {table}" for table, n in self.counts.items())
        return f"backed up {source} to {self.path} ({self.size / 1e6:.1f} MB: {counts})"


def open_read_only(path: str | Path) -> sqlite3.Connection:
    """The store, opened read-only: a missing file is an error, never created."""
    if not Path(path).is_file():
        raise StoreUnavailable(f"{path}: no store there (set --db or COMMUNIQUE_DB)")
    try:
        conn = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True, timeout=30)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"{path}: cannot open the store ({exc})") from exc
    return conn


def backup(source: str | Path, destination: Path) -> Backup:
    """Copy the store at `source` to the new file `destination`."""
    if destination.exists():
        raise BackupError(f"{destination} already exists; give a new file name")
    if not destination.parent.is_dir():
        raise BackupError(f"{destination}: the folder {destination.parent} does not exist")
    partial = destination.with_name(f".{destination.name}.partial")
    partial.unlink(missing_ok=True)  # left by a backup that was killed
    src = open_read_only(source)
    try:
        with contextlib.closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
            counts = {table: dst.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COUNTED}
        os.replace(partial, destination)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{destination}: backup failed ({exc})") from exc
    finally:
        src.close()
    return Backup(destination, destination.stat().st_size, counts)
