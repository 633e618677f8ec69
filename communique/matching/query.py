"""Building a bounded FTS5 query from a text's rarest terms, and narrowing it to a time window."""

from __future__ import annotations

import math
from datetime import datetime

from sqlite_utils import Database

from communique.store.timefmt import to_db


def document_frequencies(db: Database, vocab_table: str, words: list[str]) -> dict[str, int]:
    if not words:
        return {}
    marks = ",".join("?" * len(words))
    rows = db.execute(f"SELECT term, doc FROM {vocab_table} WHERE term IN ({marks})", words).fetchall()
    return dict(rows)


def row_count(db: Database, fts_table: str) -> int:
    # max(rowid) stands in for the row count: O(log n) instead of a scan, and close enough for idf.
    return db.execute(f"SELECT max(rowid) FROM {fts_table}").fetchone()[0] or 1


def idf(total: int, df: int) -> float:
    return math.log(1 + (total - df + 0.5) / (df + 0.5))


def rarest_terms(db: Database, vocab_table: str, fts_table: str, words: list[str],
                 limit: int) -> list[tuple[str, float]]:
    """The `limit` rarest of a text's distinct terms that occur in the index, with their idf weight.

    Capping the query keeps an OR query over a large archive from visiting the posting lists
    of common words, which carry little evidence anyway.
    """
    distinct = list(dict.fromkeys(w for w in words if len(w) > 1 or w.isdigit()))
    df = document_frequencies(db, vocab_table, distinct)
    total = row_count(db, fts_table)
    present = [(w, idf(total, df[w])) for w in distinct if w in df]
    present.sort(key=lambda item: -item[1])
    return present[:limit]


def fts_query(words: list[str]) -> str:
    """An OR query of quoted terms (quotes keep FTS5 syntax characters literal)."""
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


def rowid_range(db: Database, table: str, window: tuple[datetime, datetime]) -> tuple[int, int] | None:
    """The smallest rowid range holding every row dated inside the window or undated.

    FTS5 restricts a MATCH to a rowid range cheaply, so this keeps a query over a large archive
    to the rows of a few days (rows are mostly stored in date order).  None: no such row.
    """
    low, high = db.execute(
        f"SELECT min(id), max(id) FROM (SELECT id FROM {table} WHERE date BETWEEN ? AND ? "
        f"UNION ALL SELECT id FROM {table} WHERE date IS NULL)",
        (to_db(window[0]), to_db(window[1])),
    ).fetchone()
    return None if low is None else (low, high)
