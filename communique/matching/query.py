"""The pieces of an FTS5 query: term statistics, the OR query itself, and the time window's rowids."""

from __future__ import annotations

import math
import weakref
from datetime import datetime

from sqlite_utils import Database

from communique.store.timefmt import to_db

_REFRESH_ROWS = 1000
_REFRESH_SHARE = 0.05
_CACHE_LIMIT = 500_000
_frequency_cache: weakref.WeakKeyDictionary[Database, dict[tuple[str, str], tuple[int, int]]] = (
    weakref.WeakKeyDictionary()
)


def document_frequencies(db: Database, vocab_table: str, words: list[str], total: int) -> dict[str, int]:
    """How many rows hold each word (words in no row are left out).

    fts5vocab counts a term's rows by walking its posting list, which takes milliseconds for a
    common word in a large archive, so counts are remembered per connection until the index
    (`total` rows) has grown by 1,000 rows or 5%: idf weights barely move meanwhile.  Absent
    words cost nothing to look up and are never remembered, so a new name is found at once.
    """
    cache = _frequency_cache.setdefault(db, {})
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    found: dict[str, int] = {}
    missing = []
    for word in dict.fromkeys(words):
        cached = cache.get((vocab_table, word))
        if cached is not None and total - cached[1] <= min(_REFRESH_ROWS, _REFRESH_SHARE * cached[1]):
            found[word] = cached[0]
        else:
            missing.append(word)
    if missing:
        marks = ",".join("?" * len(missing))
        counted = dict(db.execute(f"SELECT term, doc FROM {vocab_table} WHERE term IN ({marks})", missing).fetchall())
        for word, df in counted.items():
            cache[(vocab_table, word)] = (df, total)
        found.update(counted)
    return found


def has_rows(db: Database, fts_table: str, term: str) -> bool:
    """Whether any row holds the term (one step into its posting list)."""
    return db.execute(f"SELECT 1 FROM {fts_table} WHERE {fts_table} MATCH ? LIMIT 1",
                      (fts_query([term]),)).fetchone() is not None


def row_count(db: Database, fts_table: str) -> int:
    # max(rowid) stands in for the row count: O(log n) instead of a scan, and close enough for idf.
    return db.execute(f"SELECT max(rowid) FROM {fts_table}").fetchone()[0] or 1


def idf(total: int, df: int) -> float:
    return math.log(1 + (total - df + 0.5) / (df + 0.5))


def fts_idf(total: int, df: int) -> float:
    """The idf FTS5's bm25() gives a term (floored as FTS5 floors it): what a BM25 value is made of."""
    return max(math.log((total - df + 0.5) / (df + 0.5)), 1e-6)


def bm25_bound(total: int, df: int) -> float:
    """More than a term can add to FTS5's bm25() of a row, whatever its frequency in the row and the
    row's length: idf * (k1 + 1) with FTS5's k1 = 1.2.  The idf is raised by 10% and 0.1 since `df`
    and `total` may be remembered from a while ago (see `document_frequencies`)."""
    return 2.2 * (1.1 * fts_idf(total, df) + 0.1)


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
