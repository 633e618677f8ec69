"""`communique backup` copies a store that is being written to; `communique health` says whether the bot serves."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from bot_harness import running_bot
from fakebotapi import FakeBotAPI
from sqlite_utils import Database

from communique.cli import main
from communique.settings import Settings
from communique.store import StoreThread, open_db
from communique.store.sqlite import sqlite3

SEEDED = 20_000


def seed_news(db: Database, count: int) -> None:
    rows = [("Sample Wire", f"guid-{i}", f"Headline {i}", "word " * 200, "2026-11-28T12:00:00+00:00")
            for i in range(count)]
    with db.conn:
        db.conn.execute("BEGIN")
        db.conn.executemany("INSERT INTO news (source, guid, title, text, ingested_at) VALUES (?, ?, ?, ?, ?)", rows)


class Writer(threading.Thread):
    """Another connection adding news one transaction at a time, as the monitors do while the bot runs."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.stop, self.written, self.errors = path, threading.Event(), 0, []

    def run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            while not self.stop.is_set():
                conn.execute("INSERT INTO news (source, guid, text, ingested_at) VALUES (?, ?, ?, ?)",
                             ("Live Wire", f"live-{self.written}", "live text", "2026-11-28T12:00:00+00:00"))
                self.written += 1
        except sqlite3.Error as exc:
            self.errors.append(exc)
        finally:
            conn.close()


def test_backup_while_another_connection_writes_is_a_whole_store_and_the_writes_go_on(db, db_path, tmp_path, capsys):
    seed_news(db, SEEDED)
    writer = Writer(db_path)
    writer.start()
    try:
        while writer.written < 10:
            pass
        before = writer.written
        assert main(["backup", "--db", str(db_path), str(tmp_path / "copy.db")]) == 0
        during = writer.written - before
    finally:
        writer.stop.set()
        writer.join()
    assert writer.errors == [] and during > 0
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    copied = copy.execute("SELECT count(*) FROM news").fetchone()[0]
    assert SEEDED + before <= copied <= SEEDED + writer.written
    copy.close()
    out = capsys.readouterr().out
    assert out.startswith(f"backed up {db_path} to {tmp_path / 'copy.db'}") and f"{copied:,} news" in out
    restored = open_db(tmp_path / "copy.db")  # a backup opens as a store again
    assert restored.execute("SELECT count(*) FROM news WHERE source = 'Sample Wire'").fetchone()[0] == SEEDED
    restored.conn.close()


def test_backup_never_overwrites_and_needs_an_existing_store(db_path, tmp_path, capsys):
    open_db(db_path).conn.close()
    (tmp_path / "taken.db").write_text("keep me")
    assert main(["backup", "--db", str(db_path), str(tmp_path / "taken.db")]) == 2
    assert (tmp_path / "taken.db").read_text() == "keep me"
    assert main(["backup", "--db", str(tmp_path / "none.db"), str(tmp_path / "b.db")]) == 2
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "b.db").exists()
    assert capsys.readouterr().err.splitlines() == [
        f"communique: error: {tmp_path / 'taken.db'} already exists; give a new file name",
        f"communique: error: {tmp_path / 'none.db'}: no store there (set --db or COMMUNIQUE_DB)"]


async def test_health_is_ok_while_the_bot_delivers_and_fails_once_it_stops(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, capsys) -> None:
    health = ["health", "--db", str(db_path)]
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        await asyncio.wait_for(_lease_taken(bot.store), 5)
        assert await asyncio.to_thread(main, health) == 0
        assert capsys.readouterr().out.startswith(f"healthy: {db_path}: schema ")
    assert await asyncio.to_thread(main, health) == 2
    assert capsys.readouterr().err == (f"communique: error: {db_path}: no delivery worker holds a live lease "
                                       "(is `communique run` or `bot` running?)\n")


async def _lease_taken(store: StoreThread) -> None:
    """Until the delivery worker has taken its lease (it does so as the bot starts)."""
    while not await store.run(lambda db: db.execute("SELECT count(*) FROM workers").fetchone()[0]):
        await asyncio.sleep(0.01)


def test_health_of_a_store_whose_bot_died_long_ago_fails(db, db_path, capsys):
    db.execute("INSERT INTO workers (worker, lease_until) VALUES ('gone', '2026-01-01T00:00:00+00:00')")
    assert main(["health", "--db", str(db_path)]) == 2
    assert "no delivery worker holds a live lease" in capsys.readouterr().err
