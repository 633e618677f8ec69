"""Building a bounded FTS5 query from a text's rarest terms."""

from __future__ import annotations

import math

from sqlite_utils import Database


def document_frequencies(db: Database, vocab_table: str, words: list[str]) -> dict[str, int]:
    if not words:
        return {}
    marks = ",".join("?" * len(words))
    rows = db.execute(f"SELECT term, doc FROM {vocab_table} WHERE term IN ({marks})", words).fetchall()
    return dict(rows)


def rarest_terms(db: Database, vocab_table: str, words: list[str], limit: int) -> list[tuple[str, float]]:
    """The `limit` rarest of a text's distinct terms that occur in the index, with their idf weight."""
    distinct = list(dict.fromkeys(w for w in words if len(w) > 1 or w.isdigit()))
    df = document_frequencies(db, vocab_table, distinct)
    # max(rowid) stands in for the row count: O(log n) instead of a scan, and close enough for idf.
    total = db.execute(f"SELECT max(rowid) FROM {vocab_table.replace('_vocab', '_fts')}").fetchone()[0] or 1
    present = [(w, math.log(1 + (total - df[w] + 0.5) / (df[w] + 0.5))) for w in distinct if w in df]
    present.sort(key=lambda item: -item[1])
    return present[:limit]


def fts_query(words: list[str]) -> str:
    """An OR query of quoted terms (quotes keep FTS5 syntax characters literal)."""
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
