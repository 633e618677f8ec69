"""The store side of the Telethon monitor: functions run on the store thread, one transaction each."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from communique.models import NewsItem, Statement
from communique.pipeline import ingest_news, ingest_post, ingest_statement
from communique.settings import Settings
from communique.store.statements import advance_channel, last_message_id


def store_statements(db: Database, statements: list[Statement], *, settings: Settings, now: datetime,
                     alert: bool) -> int:
    """Store the parts of one post (an album has several); returns the alerts queued."""
    return ingest_post(db, statements, settings=settings, now=now, alert=alert).alerts


def store_news(db: Database, item: NewsItem | None, channel: str, newest_id: int, *, settings: Settings,
               now: datetime, alert: bool) -> int:
    """Store a news outlet's post (None: it had no text) and move the channel's position past it."""
    followups = ingest_news(db, item, settings=settings, now=now, notify=alert).followups if item else 0
    advance_channel(db, channel, newest_id)
    return followups


def store_edit(db: Database, st: Statement, *, settings: Settings, now: datetime) -> str:
    """Store an edited post.

    An edit of a post never stored and older than the channel's position (published
    before the backfill reached) is kept without alerting: it is not news.
    """
    known = db.execute("SELECT 1 FROM statement_parts WHERE channel = ? AND ext_id = ?",
                       (st.channel, st.ext_id)).fetchone()
    alert = known is not None or (st.message_id or 0) > last_message_id(db, st.channel)
    return ingest_statement(db, st, settings=settings, now=now, alert=alert).outcome
