"""Find the news that reports a statement, and the statements a news item reports.

Both directions run the same two steps over the store's FTS5 indexes:
1. candidates: a bounded OR query of the query text's rarest terms, ranked by BM25,
   restricted to the time window when both sides have dates;
2. re-ranking: an absolute score in [0, 1] from how much of each side's idf weight the
   other side covers, agreement on numbers, and rapidfuzz similarity of the folded texts.

The score is absolute (not relative to the other candidates), so one threshold,
`COVERED_THRESHOLD`, decides whether a news item "reports" a statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlite_utils import Database

from communique.matching.query import fts_query, rarest_terms
from communique.models import Candidate
from communique.normalise import fold, numbers, terms
from communique.store.timefmt import to_db

COVERED_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class MatchOptions:
    top: int = 5
    candidates: int = 100
    query_terms: int = 32
    # News may carry a slightly earlier timestamp than the post (clock skew, time zones).
    before: timedelta = timedelta(hours=2)
    after: timedelta = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class _Side:
    table: str
    fts: str
    vocab: str
    text_sql: str


_NEWS = _Side("news", "news_fts", "news_vocab", "t.title || char(10) || t.text")
_STATEMENTS = _Side("statements", "statements_fts", "statements_vocab", "t.text")


def match_news(db: Database, text: str, *, date: datetime | None = None,
               options: MatchOptions = MatchOptions()) -> list[Candidate]:
    """News items that may report a statement, best first."""
    window = (date - options.before, date + options.after) if date else None
    return _match(db, _NEWS, text, window, options)


def match_statements(db: Database, title: str, text: str, *, date: datetime | None = None,
                     options: MatchOptions = MatchOptions()) -> list[Candidate]:
    """Statements that a news item may report (those of the preceding window), best first."""
    window = (date - options.after, date + options.before) if date else None
    body = f"{title}\n{text}" if title else text
    return _match(db, _STATEMENTS, body, window, options)


def _match(db: Database, side: _Side, text: str, window: tuple[datetime, datetime] | None,
           options: MatchOptions) -> list[Candidate]:
    query_terms = terms(text)
    weighted = rarest_terms(db, side.vocab, query_terms, options.query_terms)
    if not weighted:
        return []
    params: list[object] = [fts_query([w for w, _ in weighted])]
    date_filter = ""
    if window is not None:
        date_filter = " AND (t.date IS NULL OR t.date BETWEEN ? AND ?)"
        params += [to_db(window[0]), to_db(window[1])]
    params.append(options.candidates)
    rows = db.execute(
        f"SELECT f.rowid, f.terms, {side.text_sql}, bm25({side.fts}) FROM {side.fts} f "
        f"JOIN {side.table} t ON t.id = f.rowid WHERE {side.fts} MATCH ?{date_filter} "
        f"ORDER BY bm25({side.fts}) LIMIT ?",
        params,
    ).fetchall()
    if not rows:
        return []
    idf = dict(weighted)
    query = _Profile(text, query_terms)
    best_bm25 = rows[0][3] or -1.0
    ranked = []
    for row_id, doc_terms, doc_text, bm25 in rows:
        doc = _Profile(doc_text, doc_terms.split())
        similarity = fuzz.token_set_ratio(query.folded, doc.folded) / 100.0
        rank_key = bm25 / best_bm25 + 0.5 * similarity
        ranked.append((rank_key, Candidate(row_id, _score(query, doc, idf, similarity))))
    ranked.sort(key=lambda item: -item[0])
    return [candidate for _, candidate in ranked[: options.top]]


class _Profile:
    __slots__ = ("folded", "numbers", "terms")

    def __init__(self, text: str, text_terms: list[str]) -> None:
        self.folded = fold(text)
        self.terms = set(text_terms)
        self.numbers = numbers(text)


def _score(query: _Profile, doc: _Profile, idf: dict[str, float], similarity: float) -> float:
    """Absolute evidence that `doc` reports `query`: idf-weighted term recall, text similarity, numbers."""
    total = sum(idf.values())
    recall = sum(weight for term, weight in idf.items() if term in doc.terms) / total if total else 0.0
    score = 0.6 * recall + 0.4 * similarity
    if query.numbers and doc.numbers:
        shared = len(query.numbers & doc.numbers) / len(query.numbers | doc.numbers)
        score = score * (0.85 + 0.3 * shared)
    return max(0.0, min(1.0, score))
