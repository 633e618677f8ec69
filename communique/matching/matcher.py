"""Find the news that reports a statement, and the statements a news item reports.

Both directions run the same steps over the store's FTS5 indexes (see `normalise.index_terms`
for what is indexed: stems, numbers and the consonant skeletons of names):
1. candidates, from two bounded OR queries ranked by BM25 and kept to the time window when
   both sides have dates: one of the query's rarest stems and numbers (finds reports in the
   same language), one of its numbers and name skeletons only (finds reports in other
   languages, where stems cannot meet);
2. ranking: a candidate written in the query's script is ranked by the first query's BM25,
   one in another script by the second's, each relative to the best of its list;
3. scoring: an absolute score in [0, 1], the same for a pair whatever else is stored, from
   how much of the query's evidence the candidate holds and how much of the candidate's
   evidence the query explains (both idf-weighted, over the evidence the two scripts can share)
   and whether the candidate's numbers are the statement's.  Its logistic weights were fitted
   on the multilingual evaluation set (tests/data/multilingual), and `COVERED_THRESHOLD` was
   chosen there so that "covered" is right at least 95% of the time (`communique evaluate`
   prints that precision and the lowest threshold that keeps it).

With a query vector (embeddings on, see `matching.embedder`), the candidates of the lexical
ranking and the nearest stored vectors in the same window are ranked together and scored by
`fusion`; rows without a vector yet are left out of that pass (live, the lexical pass at ingest
has already seen them, and a news item's own pass follows once it is embedded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlite_utils import Database

from communique.matching import fusion
from communique.matching.query import document_frequencies, fts_query, has_rows, idf, row_count, rowid_range
from communique.matching.vectors import NEWS_VECTORS, STATEMENT_VECTORS, VectorTable, nearest, vectors_of
from communique.models import Candidate
from communique.normalise import SCRIPT_MARK, SCRIPT_MARKS, SKELETON_MARK, index_terms
from communique.store.timefmt import to_db

COVERED_THRESHOLD = 0.55

# Logistic weights of the score (see the module docstring).
_W_QUERY, _W_DOC, _W_NUMBERS, _W_SAME_SCRIPT, _BIAS = 2.17, 2.09, 2.22, -0.41, -2.99


@dataclass(frozen=True, slots=True)
class MatchOptions:
    """`top` results; `candidates` kept from each FTS query; the query's `query_terms` rarest stems
    and numbers, and `shared_terms` rarest numbers and name skeletons; news dated from `before`
    the statement to `after` it (a news item looks back at statements over the same span)."""

    top: int = 5
    candidates: int = 50
    query_terms: int = 40
    shared_terms: int = 24
    # News may carry a slightly earlier timestamp than the post (clock skew, time zones).
    before: timedelta = timedelta(hours=2)
    after: timedelta = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class _Side:
    table: str
    fts: str
    vocab: str
    vectors: VectorTable


_NEWS = _Side("news", "news_fts", "news_vocab", NEWS_VECTORS)
_STATEMENTS = _Side("statements", "statements_fts", "statements_vocab", STATEMENT_VECTORS)


def match_news(db: Database, text: str, *, date: datetime | None = None, vector: np.ndarray | None = None,
               options: MatchOptions = MatchOptions()) -> list[Candidate]:
    """News items that may report a statement, best first (`vector`: the statement's embedding)."""
    window = (date - options.before, date + options.after) if date else None
    return _match(db, _NEWS, text, window, options, vector)


def match_statements(db: Database, title: str, text: str, *, date: datetime | None = None,
                     vector: np.ndarray | None = None, options: MatchOptions = MatchOptions()) -> list[Candidate]:
    """Statements that a news item may report (those of the preceding window), best first."""
    window = (date - options.after, date + options.before) if date else None
    body = f"{title}\n{text}" if title else text
    return _match(db, _STATEMENTS, body, window, options, vector)


def similar_rows(db: Database, table: str, text: str, *, window: tuple[datetime, datetime] | None = None,
                 options: MatchOptions = MatchOptions()) -> list[Candidate]:
    """Rows of `table` ("news" or "statements") that share the most evidence with `text`, best first,
    dated inside `window` (or undated) when one is given."""
    side = {"news": _NEWS, "statements": _STATEMENTS}[table]
    return _match(db, side, text, window, options)


def is_shared(term: str) -> bool:
    """Evidence that any language can share: a number or a name skeleton."""
    return term.isdigit() or (term.startswith(SKELETON_MARK) and not term.startswith(SCRIPT_MARK))


class _Query:
    """A text's index terms with their idf weights in one index, and which scripts the index holds."""

    def __init__(self, db: Database, side: _Side, text: str, options: MatchOptions) -> None:
        self.terms = index_terms(text)
        self.mark = self.terms[-1]
        self.set = set(self.terms[:-1])
        self.total = row_count(db, side.fts)
        df = document_frequencies(db, side.vocab, list(self.set), self.total)
        present = sorted((t for t in self.set if t in df), key=lambda t: (df[t], t))
        own = [t for t in present if not t.startswith(SKELETON_MARK)][: options.query_terms]
        shared = [t for t in present if is_shared(t)][: options.shared_terms]
        self.own = {t: idf(self.total, df[t]) for t in own}
        self.shared = {t: idf(self.total, df[t]) for t in shared}
        self.df = df
        self.numbers = {t for t in self.set if t.isdigit()}
        # Rows in the query's script, rows in others: a one-script index needs no script condition.
        self.same_script_rows = has_rows(db, side.fts, self.mark)
        self.other_script_rows = any(has_rows(db, side.fts, m) for m in SCRIPT_MARKS if m != self.mark)


def _match(db: Database, side: _Side, text: str, window: tuple[datetime, datetime] | None,
           options: MatchOptions, vector: np.ndarray | None = None) -> list[Candidate]:
    query = _Query(db, side, text, options)
    if not query.own and not query.shared and vector is None:
        return []
    ids = None
    if window is not None:
        ids = rowid_range(db, side.table, window)
        if ids is None:
            return []
    mark = fts_query([query.mark])
    same, other = [], []
    if query.same_script_rows or not query.other_script_rows:  # (an index without marks: search it all)
        only_same = f"AND {mark}" if query.other_script_rows else ""
        same = _search(db, side, query.own, only_same, window, ids, options.candidates)
    if query.other_script_rows:
        other = _search(db, side, query.shared, f"NOT {mark}", window, ids, options.candidates)
    ranked = [(bm25 / same[0][1], row_id, True) for row_id, bm25 in same]
    ranked += [(bm25 / other[0][1], row_id, False) for row_id, bm25 in other]
    ranked.sort(key=lambda item: (-item[0], item[1]))
    if vector is not None:
        return _fused(db, side, query, ranked[: options.candidates], vector, window, ids, options)
    top = ranked[: options.top]
    if not top:
        return []
    docs = _terms(db, side, [row_id for _, row_id, _ in top])
    _learn_frequencies(db, side, query, list(docs.values()))
    return [Candidate(row_id, _score(query, docs[row_id], same_script)) for _, row_id, same_script in top]


def _fused(db: Database, side: _Side, query: _Query, lexical: list[tuple[float, int, bool]], vector: np.ndarray,
           window: tuple[datetime, datetime] | None, ids: tuple[int, int] | None,
           options: MatchOptions) -> list[Candidate]:
    """The lexical candidates and the nearest vectors, ranked and scored together (see `fusion`)."""
    cosine = dict(nearest(db, side.vectors, vector, ids, options.candidates))
    if window is not None:
        inside = _in_window(db, side, list(cosine), window)
        cosine = {row_id: c for row_id, c in cosine.items() if row_id in inside}
    unseen = [row_id for _, row_id, _ in lexical if row_id not in cosine]
    cosine.update((row_id, float(v @ vector)) for row_id, v in vectors_of(db, side.vectors, unseen).items())
    places = {row_id: (place, same) for place, (_, row_id, same) in enumerate(lexical) if row_id in cosine}
    docs = _terms(db, side, list(cosine))
    _learn_frequencies(db, side, query, [docs[row_id] for row_id in places])
    scored = []
    for row_id, c in cosine.items():
        place, same_script = places.get(row_id, (None, False))
        lexical_score = _score(query, docs[row_id], same_script) if place is not None else 0.0
        doc_numbers = {t for t in docs[row_id] if t.isdigit()}
        other_numbers = bool(doc_numbers and query.numbers) and doc_numbers.isdisjoint(query.numbers)
        scored.append((fusion.rank_key(c, lexical_score, place), row_id,
                       fusion.fused_score(c, lexical_score, other_numbers=other_numbers)))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [Candidate(row_id, score, "fused") for _, row_id, score in scored[: options.top]]


def _in_window(db: Database, side: _Side, row_ids: list[int], window: tuple[datetime, datetime]) -> set[int]:
    if not row_ids:
        return set()
    marks = ",".join("?" * len(row_ids))
    rows = db.execute(f"SELECT id FROM {side.table} WHERE id IN ({marks}) AND (date IS NULL OR date BETWEEN ? AND ?)",
                      [*row_ids, to_db(window[0]), to_db(window[1])]).fetchall()
    return {r[0] for r in rows}


def _search(db: Database, side: _Side, words: dict[str, float], script: str,
            window: tuple[datetime, datetime] | None, ids: tuple[int, int] | None,
            limit: int) -> list[tuple[int, float]]:
    """(rowid, bm25) of the rows matching any of the words and the script condition, best first."""
    if not words:
        return []
    match = f"({fts_query(list(words))}) {script}"
    if window is None or ids is None:
        sql = f"SELECT rowid, bm25({side.fts}) FROM {side.fts} WHERE {side.fts} MATCH ?"
        params: list[object] = [match]
    else:
        sql = (f"SELECT f.rowid, bm25({side.fts}) FROM {side.fts} f JOIN {side.table} t ON t.id = f.rowid "
               f"WHERE {side.fts} MATCH ? AND f.rowid BETWEEN ? AND ? "
               f"AND (t.date IS NULL OR t.date BETWEEN ? AND ?)")
        params = [match, *ids, to_db(window[0]), to_db(window[1])]
    sql += f" ORDER BY bm25({side.fts}) LIMIT ?"
    params.append(limit)
    rows = db.execute(sql, params).fetchall()
    return [(row_id, bm25 or -1e-9) for row_id, bm25 in rows]


def _terms(db: Database, side: _Side, row_ids: list[int]) -> dict[int, list[str]]:
    marks = ",".join("?" * len(row_ids))
    rows = db.execute(f"SELECT rowid, terms FROM {side.fts} WHERE rowid IN ({marks})", row_ids).fetchall()
    return {row_id: [t for t in terms.split() if not t.startswith(SCRIPT_MARK)] for row_id, terms in rows}


def _learn_frequencies(db: Database, side: _Side, query: _Query, docs: list[list[str]]) -> None:
    """Look up the document frequencies of the scored candidates' terms in one query."""
    unknown = {t for terms in docs for t in terms} - query.df.keys()
    query.df.update(document_frequencies(db, side.vocab, list(unknown), query.total))


def _score(query: _Query, doc_terms: list[str], same_script: bool) -> float:
    """Absolute evidence in [0, 1] that the document reports the query (see the module docstring)."""
    doc = set(doc_terms)
    weights = query.own if same_script else query.shared
    total = sum(weights.values())
    query_covered = sum(w for t, w in weights.items() if t in doc) / total if total else 0.0
    comparable = doc if same_script else {t for t in doc if is_shared(t)}
    doc_weights = {t: idf(query.total, query.df.get(t, 1)) for t in comparable}
    doc_total = sum(doc_weights.values())
    doc_explained = sum(w for t, w in doc_weights.items() if t in query.set) / doc_total if doc_total else 0.0
    doc_numbers = {t for t in doc if t.isdigit()}
    numbers = len(doc_numbers & query.numbers) / len(doc_numbers) if doc_numbers else 0.5
    logit = (_W_QUERY * query_covered + _W_DOC * doc_explained + _W_NUMBERS * numbers
             + _W_SAME_SCRIPT * same_script + _BIAS)
    return 1.0 / (1.0 + math.exp(-logit))
