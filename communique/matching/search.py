"""The candidates' search: bounded FTS5 queries over one side's index, and the stored rows' terms.

`matcher` decides which words to search for and scores what comes back; this module only knows
the tables: each side (news, statements) has its rows, an FTS5 index of their terms (see
`normalise.index_terms`), that index's vocabulary, and a table of vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from communique.matching.query import bm25_bound, document_frequencies, fts_query
from communique.matching.vectors import NEWS_VECTORS, STATEMENT_VECTORS, VectorTable
from communique.normalise import SCRIPT_MARK
from communique.store.timefmt import from_db, to_db


@dataclass(frozen=True, slots=True)
class Index:
    table: str
    fts: str
    vocab: str
    vectors: VectorTable


NEWS = Index("news", "news_fts", "news_vocab", NEWS_VECTORS)
STATEMENTS = Index("statements", "statements_fts", "statements_vocab", STATEMENT_VECTORS)

Window = tuple[datetime, datetime]


def in_window(db: Database, index: Index, row_ids: list[int], window: Window) -> set[int]:
    """Those of the rows dated inside the window, or undated."""
    if not row_ids:
        return set()
    marks = ",".join("?" * len(row_ids))
    rows = db.execute(f"SELECT id FROM {index.table} WHERE id IN ({marks}) AND (date IS NULL OR date BETWEEN ? AND ?)",
                      [*row_ids, to_db(window[0]), to_db(window[1])]).fetchall()
    return {r[0] for r in rows}


def search(db: Database, index: Index, words: dict[str, float], script: str, window: Window | None,
           ids: tuple[int, int] | None, limit: int) -> list[tuple[int, float]]:
    """(rowid, bm25) of the rows matching any of the words and the script condition, best first (kept to
    the window and its rowid range `ids` when there is one)."""
    if not words:
        return []
    match = f"({fts_query(list(words))}) {script}"
    if window is None or ids is None:
        sql = f"SELECT rowid, bm25({index.fts}) FROM {index.fts} WHERE {index.fts} MATCH ?"
        params: list[object] = [match]
    else:
        sql = (f"SELECT f.rowid, bm25({index.fts}) FROM {index.fts} f JOIN {index.table} t ON t.id = f.rowid "
               f"WHERE {index.fts} MATCH ? AND f.rowid BETWEEN ? AND ? "
               f"AND (t.date IS NULL OR t.date BETWEEN ? AND ?)")
        params = [match, *ids, to_db(window[0]), to_db(window[1])]
    sql += f" ORDER BY bm25({index.fts}) LIMIT ?"
    params.append(limit)
    rows = db.execute(sql, params).fetchall()
    return [(row_id, bm25 or -1e-9) for row_id, bm25 in rows]


_PRUNED_SHARE = 0.25


def search_same_script(db: Database, index: Index, words: list[str], df: dict[str, int], total: int, mark: str,
                       window: Window | None, ids: tuple[int, int] | None, *, limit: int,
                       kept: int) -> list[tuple[int, float]]:
    """The `kept` best of `search` for `words` (rarest first, `df` their document frequencies among `total`
    rows) in the script `mark`, scoring fewer rows: those holding one of its rarer words (the max-score
    method of top-k retrieval).

    The commonest words whose bounds (`bm25_bound`, the script mark's too) add up to less than a quarter
    of all the words' bounds are only scored, not searched: the expression keeps every word in the same
    order, so FTS5 gives each row it finds the same bm25 as the whole query does, and a row holding none
    of the rarer words scores under their sum.  When the `kept`-th best found scores more than that
    sum, no row left out could have ranked among them (ties keep rowid order, as in one query);
    otherwise, or when the commonest words cannot be set apart, the whole query is run.  The rows of
    other scripts that this expression also finds (a rarer word and one of the commonest) are left out.
    """
    whole = f"AND {fts_query([mark])}"
    everything = dict.fromkeys(words, 0.0)
    bounds = [bm25_bound(total, df[w]) for w in words]
    mark_df = document_frequencies(db, index.vocab, [mark], total).get(mark, total)
    common = bm25_bound(total, mark_df)  # what a row holding only the commonest words can score at most
    cut = len(words)
    while cut > 1 and common + bounds[cut - 1] < _PRUNED_SHARE * sum(bounds):
        cut -= 1
        common += bounds[cut]
    if cut == len(words):
        return search(db, index, everything, whole, window, ids, limit)
    rarer, commonest = dict.fromkeys(words[:cut], 0.0), fts_query(words[cut:])
    found = search(db, index, rarer, f"AND ({commonest} OR {fts_query([mark])})", window, ids, limit)
    marks = stored_terms(db, index, [row_id for row_id, _ in found])
    best = [(row_id, bm25) for row_id, bm25 in found if marks[row_id][2] == mark][:kept]
    if best and len(best) == kept and -best[-1][1] > common:
        return best
    return search(db, index, everything, whole, window, ids, limit)


def stored_terms(db: Database, index: Index, row_ids: list[int]) -> dict[int, tuple[list[str], datetime | None, str]]:
    """Each row's index terms, date and script mark."""
    marks = ",".join("?" * len(row_ids))
    rows = db.execute(f"SELECT f.rowid, f.terms, t.date FROM {index.fts} f JOIN {index.table} t ON t.id = f.rowid "
                      f"WHERE f.rowid IN ({marks})", row_ids).fetchall()
    found = {}
    for row_id, text, day in rows:
        terms = text.split()
        mark = terms[-1] if terms and terms[-1].startswith(SCRIPT_MARK) else ""
        found[row_id] = ([t for t in terms if not t.startswith(SCRIPT_MARK)], from_db(day), mark)
    return found
