"""Shared fixtures: a real SQLite store in a temporary file, the test configuration, the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakebotapi import fake_bot_api  # noqa: F401  (re-exported fixture)
from sqlite_utils import Database

from communique.catalogues import compile_catalogues
from communique.i18n import LOCALE_DIR
from communique.settings import Settings, load_settings
from communique.store import StoreThread, open_db

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "config" / "samples"
NOW = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Catalogues edited since the package was installed are compiled (as setup.py does at build), so the tests
    see the messages as they are now."""
    compile_catalogues(LOCALE_DIR)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "communique.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_db(db_path)
    yield database
    database.conn.close()


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[StoreThread]:
    """The store as async code uses it: one worker thread with its own connection to the test's file."""
    thread = StoreThread(db_path)
    yield thread
    thread.close()


@pytest.fixture
def settings() -> Settings:
    """The project's default configuration (channels, feeds, topics) as shipped in config/."""
    return load_settings(ROOT / "config" / "communique.toml")


UNOPENABLE_STORES = ["in a read-only folder", "under a file"]


def unopenable_store(tmp_path: Path, case: str) -> tuple[Path, str]:
    """A store path that cannot be opened for writing, and the problem the one-line error names.
    Root writes into a read-only folder regardless of its mode, so that case is skipped for root;
    a path under a regular file cannot be opened by anyone, root included."""
    if case == "under a file":
        plain = tmp_path / "notes.txt"
        plain.write_text("a file, not a folder")
        return plain / "communique.db", f"{plain} is a file, not a folder"
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        return folder / "communique.db", "read-only: the file and its folder must be writable"
    pytest.skip("this user (root) writes into a folder of mode 0o555; 'under a file' covers root")
