"""Statements: official posts, their edit history, album parts and deletions.

A statement is made of one or more parts (the messages of an album); its text is the
parts' texts joined in message order, and its `media` the parts' media: a kind ("photo"),
or for an album the kinds counted ("album: 8 photos"), so that an album without a caption
still says what it is.  A preview page shows an album as one post: its other messages are
recorded as parts too, so a later read of them from Telethon finds them stored.  Storing a
part that is already stored with the same text changes nothing, so imports and catch-up can
be replayed freely.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from communique.models import Statement
from communique.normalise import index_text
from communique.store.timefmt import to_db


@dataclass(frozen=True, slots=True)
class Stored:
    """What storing a statement did: `outcome` is new, unchanged, edited or merged (an album part)."""

    id: int
    outcome: str
    version: int = 1
    previous_text: str | None = None


def upsert_statement(db: Database, st: Statement, *, now: datetime) -> Stored:
    part = db.execute(
        "SELECT statement_id, text FROM statement_parts WHERE channel = ? AND ext_id = ?", (st.channel, st.ext_id)
    ).fetchone()
    if part is not None:
        statement_id, old_part_text = part
        _touch(db, statement_id, st)
        _insert_members(db, st, statement_id)
        if old_part_text == st.text:
            return Stored(statement_id, "unchanged", _version(db, statement_id))
        db.execute("UPDATE statement_parts SET text = ? WHERE channel = ? AND ext_id = ?",
                   (st.text, st.channel, st.ext_id))
        return _rewrite(db, statement_id, now=now, outcome="edited", edited_at=st.edit_date or now)
    if st.grouped_id is not None:
        row = db.execute("SELECT id FROM statements WHERE channel = ? AND grouped_id = ?",
                         (st.channel, st.grouped_id)).fetchone()
        if row is not None:
            _insert_part(db, st, row[0])
            _refresh_media(db, row[0])
            return _rewrite(db, row[0], now=now, outcome="merged")
    statement_id = db["statements"].insert(
        {
            "channel": st.channel, "ext_id": st.ext_id, "message_id": st.message_id, "date": to_db(st.date),
            "text": st.text, "url": st.link(), "lang": st.lang, "grouped_id": st.grouped_id,
            "forwarded_from": st.forwarded_from, "media": st.media, "views": st.views, "source": st.source,
            "version": 1, "edited_at": to_db(st.edit_date), "ingested_at": to_db(now),
        }
    ).last_pk
    _insert_part(db, st, statement_id)
    _insert_members(db, st, statement_id)
    db.execute("INSERT INTO statement_versions (statement_id, version, text, recorded_at) VALUES (?, 1, ?, ?)",
               (statement_id, st.text, to_db(st.edit_date or st.date or now)))
    db.execute("INSERT INTO statements_fts (rowid, terms) VALUES (?, ?)", (statement_id, index_text("", st.text)))
    if st.message_id is not None:
        advance_channel(db, st.channel, st.message_id)
    return Stored(statement_id, "new")


def _insert_part(db: Database, st: Statement, statement_id: int) -> None:
    db.execute("INSERT INTO statement_parts (channel, ext_id, statement_id, text, media) VALUES (?, ?, ?, ?, ?)",
               (st.channel, st.ext_id, statement_id, st.text, st.media))
    if st.message_id is not None:
        advance_channel(db, st.channel, st.message_id)


def _insert_members(db: Database, st: Statement, statement_id: int) -> None:
    """The album's other messages, as parts without text (a replay adds nothing)."""
    if not st.album:
        return
    for message_id, media in st.album:
        db.execute("INSERT OR IGNORE INTO statement_parts (channel, ext_id, statement_id, text, media) "
                   "VALUES (?, ?, ?, '', ?)", (st.channel, str(message_id), statement_id, media))
    db.execute("UPDATE statement_parts SET media = coalesce(media, ?) WHERE channel = ? AND ext_id = ?",
               (dict(st.album).get(st.message_id or 0), st.channel, st.ext_id))
    advance_channel(db, st.channel, max(message_id for message_id, _ in st.album))
    _refresh_media(db, statement_id)


def _refresh_media(db: Database, statement_id: int) -> None:
    kinds = [row[0] for row in db.execute("SELECT media FROM statement_parts WHERE statement_id = ? "
                                          "AND media IS NOT NULL ORDER BY CAST(ext_id AS INTEGER)", (statement_id,))]
    if kinds:
        db.execute("UPDATE statements SET media = ? WHERE id = ?", (media_label(kinds), statement_id))


def media_label(kinds: list[str]) -> str:
    """"photo" for one message's media; "album: 2 photos, 1 video" for several, counted by kind."""
    if len(kinds) == 1:
        return kinds[0]
    counted = Counter(kinds)
    return "album: " + ", ".join(f"{n} {kind}{'s' if n != 1 and kind != 'media' else ''}"
                                 for kind, n in counted.items())


def _touch(db: Database, statement_id: int, st: Statement) -> None:
    if st.views is not None:
        db.execute("UPDATE statements SET views = max(coalesce(views, 0), ?) WHERE id = ?", (st.views, statement_id))


def _version(db: Database, statement_id: int) -> int:
    return db.execute("SELECT version FROM statements WHERE id = ?", (statement_id,)).fetchone()[0]


def _rewrite(db: Database, statement_id: int, *, now: datetime, outcome: str,
             edited_at: datetime | None = None) -> Stored:
    """Recompute a statement's text from its parts; an edit records a new version."""
    old_text, version = db.execute("SELECT text, version FROM statements WHERE id = ?", (statement_id,)).fetchone()
    parts = db.execute(
        "SELECT text FROM statement_parts WHERE statement_id = ? ORDER BY CAST(ext_id AS INTEGER), ext_id",
        (statement_id,),
    ).fetchall()
    text = "\n\n".join(p[0] for p in parts if p[0].strip())
    if text == old_text:
        return Stored(statement_id, "unchanged", version)
    if outcome == "edited":
        version += 1
        db.execute("INSERT INTO statement_versions (statement_id, version, text, recorded_at) VALUES (?, ?, ?, ?)",
                   (statement_id, version, text, to_db(edited_at or now)))
        db.execute("UPDATE statements SET text = ?, version = ?, edited_at = ? WHERE id = ?",
                   (text, version, to_db(edited_at or now), statement_id))
    else:
        db.execute("UPDATE statements SET text = ? WHERE id = ?", (text, statement_id))
        db.execute("UPDATE statement_versions SET text = ? WHERE statement_id = ? AND version = ?",
                   (text, statement_id, version))
    db.execute("DELETE FROM statements_fts WHERE rowid = ?", (statement_id,))
    db.execute("INSERT INTO statements_fts (rowid, terms) VALUES (?, ?)", (statement_id, index_text("", text)))
    db.execute("DELETE FROM statement_vectors WHERE statement_id = ?", (statement_id,))  # embedded again
    return Stored(statement_id, outcome, version, old_text)


def mark_deleted(db: Database, channel: str, ext_ids: list[str], *, now: datetime) -> list[int]:
    """Mark parts deleted; returns the statements that this made deleted (all their parts gone)."""
    affected: set[int] = set()
    for ext_id in ext_ids:
        row = db.execute("SELECT statement_id FROM statement_parts WHERE channel = ? AND ext_id = ? "
                         "AND deleted_at IS NULL", (channel, ext_id)).fetchone()
        if row:
            db.execute("UPDATE statement_parts SET deleted_at = ? WHERE channel = ? AND ext_id = ?",
                       (to_db(now), channel, ext_id))
            affected.add(row[0])
    deleted = []
    for statement_id in sorted(affected):
        left = db.execute("SELECT count(*) FROM statement_parts WHERE statement_id = ? AND deleted_at IS NULL",
                          (statement_id,)).fetchone()[0]
        if left == 0:
            db.execute("UPDATE statements SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                       (to_db(now), statement_id))
            deleted.append(statement_id)
    return deleted


def advance_channel(db: Database, channel: str, message_id: int) -> None:
    """Remember the newest message id seen in a channel (catch-up starts after it)."""
    db.execute(
        "INSERT INTO channels (key, last_message_id) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET last_message_id = max(last_message_id, excluded.last_message_id)",
        (channel, message_id),
    )


def last_message_id(db: Database, channel: str) -> int:
    row = db.execute("SELECT last_message_id FROM channels WHERE key = ?", (channel,)).fetchone()
    return row[0] if row else 0


def get_statement(db: Database, statement_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM statements WHERE id = ?", [statement_id]))
    return rows[0] if rows else None


def versions(db: Database, statement_id: int) -> list[dict[str, Any]]:
    return list(db.query("SELECT version, text, recorded_at FROM statement_versions WHERE statement_id = ? "
                         "ORDER BY version", [statement_id]))


def latest(db: Database, *, channel: str | None = None, limit: int = 5) -> list[dict[str, Any]]:
    where, params = ("WHERE channel = ?", [channel]) if channel else ("", [])
    return list(db.query(f"SELECT * FROM statements {where} ORDER BY date DESC, id DESC LIMIT ?", [*params, limit]))
