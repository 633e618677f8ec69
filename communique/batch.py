"""Batch matching of files: the engine behind `communique match` and `communique evaluate`.

The news is loaded into a throw-away store (in memory) through the same code that stores
live news, and each statement is matched with the same function live matching uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from communique.matching import MatchOptions, match_news
from communique.models import NewsItem, Statement
from communique.store import open_db, transaction
from communique.store.news import upsert_news


def match_all(statements: list[Statement], news: list[NewsItem], *, top: int = 5,
              now: datetime | None = None) -> Iterator[dict[str, object]]:
    """Yield `{"statement_id", "matches": [{"news_id", "score"}, ...]}` per statement, best first."""
    now = now or datetime.now(UTC)
    db = open_db(":memory:")
    ids: dict[int, str] = {}
    with transaction(db):
        for item in news:
            row_id, _ = upsert_news(db, item, now=now)
            ids.setdefault(row_id, item.guid)
        # One merged index segment instead of many small ones: faster queries after a bulk load.
        db.execute("INSERT INTO news_fts(news_fts) VALUES('optimize')")
    options = MatchOptions(top=top)
    for statement in statements:
        found = match_news(db, statement.text, date=statement.date, options=options)
        yield {
            "statement_id": statement.ext_id,
            "matches": [{"news_id": ids[c.row_id], "score": round(c.score, 4)} for c in found],
        }
    db.conn.close()
