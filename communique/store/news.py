"""News items from feeds and news channels, stored once per article."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz
from sqlite_utils import Database

from communique.models import NewsItem
from communique.normalise import fold, index_text
from communique.store.timefmt import to_db

NEAR_DUPLICATE_TITLE = 95.0


def find_existing(db: Database, item: NewsItem) -> int | None:
    """The stored id of the same article: same guid, same URL, or a near-identical title nearby in time."""
    row = db.execute("SELECT id FROM news WHERE source = ? AND guid = ?", (item.source, item.guid)).fetchone()
    if row is None and item.url:
        row = db.execute("SELECT id FROM news WHERE source = ? AND url = ?", (item.source, item.url)).fetchone()
    if row is not None:
        return row[0]
    title = fold(item.title)
    if len(title) < 20 or item.date is None:
        return None
    nearby = db.execute(
        "SELECT id, title FROM news WHERE source = ? AND date BETWEEN ? AND ?",
        (item.source, to_db(item.date - timedelta(days=2)), to_db(item.date + timedelta(days=2))),
    ).fetchall()
    for news_id, other in nearby:
        if fuzz.ratio(title, fold(other)) >= NEAR_DUPLICATE_TITLE:
            return news_id
    return None


def upsert_news(db: Database, item: NewsItem, *, now: datetime) -> tuple[int, bool]:
    """Store a news item unless it is already there; returns (id, is_new)."""
    existing = find_existing(db, item)
    if existing is not None:
        return existing, False
    news_id = db["news"].insert(
        {
            "source": item.source, "guid": item.guid, "feed": item.feed, "url": item.url, "title": item.title,
            "text": item.text, "lang": item.lang, "date": to_db(item.date), "ingested_at": to_db(now),
        }
    ).last_pk
    db.execute("INSERT INTO news_fts (rowid, terms) VALUES (?, ?)", (news_id, index_text(item.title, item.text)))
    return news_id, True


def get_news(db: Database, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {row["id"]: row for row in db.query(f"SELECT * FROM news WHERE id IN ({marks})", ids)}
