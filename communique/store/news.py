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


def by_guid(db: Database, item: NewsItem) -> int | None:
    """The stored id of the entry the outlet gave this guid."""
    row = db.execute("SELECT id FROM news WHERE source = ? AND guid = ?", (item.source, item.guid)).fetchone()
    return row[0] if row is not None else None


def find_existing(db: Database, item: NewsItem) -> int | None:
    """The stored id of the same article: same guid, same URL, or a near-identical title nearby in time."""
    row = by_guid(db, item)
    if row is None and item.url:
        found = db.execute("SELECT id FROM news WHERE source = ? AND url = ?", (item.source, item.url)).fetchone()
        row = found[0] if found is not None else None
    if row is not None:
        return row
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


def update_article(db: Database, news_id: int, item: NewsItem) -> bool:
    """Store an entry's new title and text (the outlet updated it under the same guid); False if they are
    what is stored.  Another entry that only shares the URL or the title (a teaser, an AMP copy) is not an update.

    Its vector, if the embedding made one, is kept: the news vectors are append-only (see
    `matching.vectors`), and an update rarely changes what an article is about.
    """
    stored = db.execute("SELECT title, text FROM news WHERE id = ?", (news_id,)).fetchone()
    if stored is None or (stored[0], stored[1]) == (item.title, item.text):
        return False
    db.execute("UPDATE news SET title = ?, text = ? WHERE id = ?", (item.title, item.text, news_id))
    db.execute("DELETE FROM news_fts WHERE rowid = ?", (news_id,))
    db.execute("INSERT INTO news_fts (rowid, terms) VALUES (?, ?)", (news_id, index_text(item.title, item.text)))
    return True


def get_news(db: Database, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {row["id"]: row for row in db.query(f"SELECT * FROM news WHERE id IN ({marks})", ids)}
