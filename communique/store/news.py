"""News items from feeds and news channels: one row per article, near-duplicates linked, never merged.

An article's identity is its outlet and its guid, or its (canonical) URL: the same URL is the
same article whichever source brought it (a feed that is polled and also imported from a file
under another name).  Anything else is another article and gets its own row, however alike its
headline: two daily reports "… shot down 12 drones" and "… 47 drones" are two articles.

A near-duplicate (an AMP copy, a wire story run by another outlet, a teaser) has the same
headline up to case, punctuation and spacing (`normalise.fold`) within `NEAR_DUPLICATE_DAYS`.
It is stored as the article it is, with `duplicate_of` pointing at the first such article; the
folded headline (`title_key`) is indexed, so finding it costs one index lookup, not a scan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from communique.models import NewsItem
from communique.normalise import fold, index_text
from communique.store.timefmt import to_db

NEAR_DUPLICATE_DAYS = 2
MIN_TITLE_KEY = 20  # shorter headlines ("Молния", "Main news") say nothing about which article it is


def title_key(title: str) -> str | None:
    """The headline as near-duplicates share it, or None if it is too short to tell articles apart."""
    key = fold(title)
    return key if len(key) >= MIN_TITLE_KEY else None


def by_guid(db: Database, item: NewsItem) -> int | None:
    """The stored id of the entry the outlet gave this guid."""
    row = db.execute("SELECT id FROM news WHERE source = ? AND guid = ?", (item.source, item.guid)).fetchone()
    return row[0] if row is not None else None


def find_existing(db: Database, item: NewsItem) -> int | None:
    """The stored id of the same article: the outlet's guid, or the same URL from any source."""
    found = by_guid(db, item)
    if found is None and item.url:
        row = db.execute("SELECT id FROM news WHERE url = ? ORDER BY id LIMIT 1", (item.url,)).fetchone()
        found = row[0] if row is not None else None
    return found


def original_of(db: Database, key: str | None, date: datetime | None) -> int | None:
    """The first stored article with this headline key within `NEAR_DUPLICATE_DAYS` of `date`."""
    if key is None or date is None:
        return None
    span = timedelta(days=NEAR_DUPLICATE_DAYS)
    row = db.execute(
        "SELECT coalesce(duplicate_of, id) FROM news WHERE title_key = ? AND date BETWEEN ? AND ? "
        "ORDER BY date, id LIMIT 1",
        (key, to_db(date - span), to_db(date + span)),
    ).fetchone()
    return row[0] if row is not None else None


def upsert_news(db: Database, item: NewsItem, *, now: datetime) -> tuple[int, bool]:
    """Store a news item unless the same article is already there; returns (id, is_new)."""
    existing = find_existing(db, item)
    if existing is not None:
        return existing, False
    key = title_key(item.title)
    news_id = db["news"].insert(
        {
            "source": item.source, "guid": item.guid, "feed": item.feed, "url": item.url, "title": item.title,
            "text": item.text, "lang": item.lang, "date": to_db(item.date), "ingested_at": to_db(now),
            "title_key": key, "duplicate_of": original_of(db, key, item.date),
        }
    ).last_pk
    db.execute("INSERT INTO news_fts (rowid, terms) VALUES (?, ?)", (news_id, index_text(item.title, item.text)))
    return news_id, True


def update_article(db: Database, news_id: int, item: NewsItem) -> bool:
    """Store an entry's new title and text (the outlet updated it under the same guid); False if they are
    what is stored.  Another entry that only shares the URL (an imported copy of a polled feed) is not an
    update, and a near-duplicate is another row.

    Its vector, if the embedding made one, is kept: the news vectors are append-only (see
    `matching.vectors`), and an update rarely changes what an article is about.
    """
    stored = db.execute("SELECT title, text FROM news WHERE id = ?", (news_id,)).fetchone()
    if stored is None or (stored[0], stored[1]) == (item.title, item.text):
        return False
    db.execute("UPDATE news SET title = ?, text = ?, title_key = ? WHERE id = ?",
               (item.title, item.text, title_key(item.title), news_id))
    db.execute("DELETE FROM news_fts WHERE rowid = ?", (news_id,))
    db.execute("INSERT INTO news_fts (rowid, terms) VALUES (?, ?)", (news_id, index_text(item.title, item.text)))
    return True


def get_news(db: Database, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {row["id"]: row for row in db.query(f"SELECT * FROM news WHERE id IN ({marks})", ids)}
