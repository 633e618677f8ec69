"""Archive search (/search and free text): the statements some words find, best first.

The words are read as a keyword is (`communique.audience`), so a search finds what a
subscription to the same words would have been sent: a statement is found when each word
meets one of its words, by the same stem, a longer form of a stem of five letters or more
("Белгород" finds "Белгородской"), a near spelling ("беспилотник" finds "беспилотных"), or a
name's skeleton.  The indexed terms that meet each word are picked from the FTS vocabulary
(those sharing the stem's first letters; a near spelling that differs in them is not looked
for), so the search is one FTS5 query ranked by BM25.  Words that no statement meets all
together, such as a sentence sent as free text, fall back to the matcher's ranking of the
statements that share the most evidence with them.
"""

from __future__ import annotations

from sqlite_utils import Database

from communique.audience import MIN_PREFIX_STEM, Keyword, word_meets
from communique.matching import MatchOptions, match_statements
from communique.matching.query import fts_query
from communique.normalise import STOPWORDS, fold

_PREFIX = 3  # letters a meeting term shares with the stem, to bound the vocabulary read
_END = "\U0010ffff"


def search_statements(db: Database, words: str, *, limit: int) -> list[int]:
    """Ids of the statements the words find, best first, at most `limit`."""
    keyword = Keyword.parse(" ".join(w for w in fold(words).split() if w not in STOPWORDS))
    groups = [_meeting_terms(db, s, k) for s, k in zip(keyword.stems, keyword.skeletons, strict=True)]
    if groups and all(groups):
        query = " AND ".join(f"({fts_query(sorted(group))})" for group in groups)
        found = [row[0] for row in db.execute(
            "SELECT rowid FROM statements_fts WHERE statements_fts MATCH ? ORDER BY rank LIMIT ?", (query, limit))]
        if found:
            return found
    options = MatchOptions(top=limit, candidates=200)
    return [c.row_id for c in match_statements(db, "", words, options=options)]


def _meeting_terms(db: Database, stem: str, skeletons: frozenset[str]) -> set[str]:
    """The statement index's terms that one word of the search meets."""
    exact = [stem, *skeletons]
    rows = db.execute(f"SELECT term FROM statements_vocab WHERE term IN ({','.join('?' * len(exact))})",
                      exact).fetchall()
    found = {row[0] for row in rows}
    if len(stem) >= MIN_PREFIX_STEM:
        start = stem[:_PREFIX]
        nearby = db.execute("SELECT term FROM statements_vocab WHERE term >= ? AND term < ?",
                            (start, start + _END)).fetchall()
        found.update(term for (term,) in nearby if word_meets(stem, skeletons, {term}))
    return found
