"""Find the news that reports a statement, and the statements a news item reports.

Both directions run the same steps over the store's FTS5 indexes (see `normalise.index_terms`
for what is indexed: stems, numbers, numbers written as words, and the consonant skeletons of
names):
1. candidates, from two bounded OR queries ranked by BM25 and kept to the time window when
   both sides have dates: one of the query's rarest stems and numbers (finds reports in the
   same language), one of its numbers and name skeletons only (finds reports in other
   languages, where stems cannot meet); with a query vector (embeddings on, see
   `matching.embedder`), the nearest stored vectors in the same window too;
2. scoring: each list's best candidates get a score in [0, 1] (`evidence`).  At or above
   `COVERED_THRESHOLD` it is the pair's own evidence that the candidate reports the statement,
   from independent kinds (shared rare words, names and specific figures, the day the texts are
   about, the cosines of their embeddings), the same whatever else is stored; under it, the score
   also weighs the candidate's BM25 among the query's, to rank the rest;
3. from a statement: a candidate in another script than the statement that repeats one of its covered
   reports in its own script is covered through that report (`_relayed`, one hop);
4. ranking: by that score alone, best first, whatever the script.

Rows without a vector yet are scored on their words only in the fused pass (live, the lexical
pass at ingest has already seen them, and a news item's own pass follows once it is embedded).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from sqlite_utils import Database

from communique.matching.embedder import MEANING_DIMS, Similarity, similarity
from communique.matching.evidence import (
    COVERED_THRESHOLD,
    RELATED_FLOOR,
    Evidence,
    Lexical,
    Rarity,
    Side,
    covered_probability,
    evidence,
    fused_score,
    is_related,
    lexical_score,
    probability,
    under_threshold,
)
from communique.matching.query import (
    document_frequencies,
    fts_idf,
    fts_query,
    has_rows,
    idf,
    row_count,
    rowid_range,
)
from communique.matching.search import (
    NEWS,
    STATEMENTS,
    Index,
    Window,
    in_window,
    search,
    search_same_script,
    stored_terms,
)
from communique.matching.vectors import NEWS_VECTORS, STATEMENT_VECTORS, nearest, vectors_of
from communique.models import Candidate
from communique.normalise import SCRIPT_MARK, SCRIPT_MARKS, SKELETON_MARK, index_terms
from communique.places import names_other_regions, places
from communique.store.timefmt import from_db

__all__ = ["COVERED_THRESHOLD", "Assessment", "MatchOptions", "assess_news", "match_news", "match_statements",
           "similar_rows"]


@dataclass(frozen=True, slots=True)
class MatchOptions:
    """`top` results; `candidates` kept from each FTS query (and from the nearest vectors), of which
    the `rescored` best of each query are scored; the query's `query_terms` rarest stems and
    numbers, and `shared_terms` rarest numbers and name skeletons; news dated from `before` the
    statement to `after` it (a news item looks back at statements over the same span).

    Every Arabic and Hebrew word gets a name key (those scripts have no capitals), so a long post has
    dozens; at 24 shared terms the rarest of them, ordinary words of its copies in its own language,
    crowded out the names its reports in other languages share (cross-language recall@5 0.841 -> 0.874
    on the real dev set at 48)."""

    top: int = 5
    candidates: int = 50
    rescored: int = 25
    query_terms: int = 40
    shared_terms: int = 48
    # News may carry a slightly earlier timestamp than the post (clock skew, time zones).
    before: timedelta = timedelta(hours=2)
    after: timedelta = timedelta(hours=72)


def match_news(db: Database, text: str, *, date: datetime | None = None, vector: np.ndarray | None = None,
               options: MatchOptions = MatchOptions()) -> list[Candidate]:
    """News items that may report a statement, best first (`vector`: the statement's embedding); a report
    may be covered through another (`Candidate.via`, see `_relayed`)."""
    window = (date - options.before, date + options.after) if date else None
    found = _assess(db, NEWS, text, window, options, vector, date=date)
    return _ranked(found, options, vector, _relayed(db, found, vector is not None, options))


def match_statements(db: Database, title: str, text: str, *, date: datetime | None = None,
                     vector: np.ndarray | None = None, options: MatchOptions = MatchOptions(),
                     news_id: int | None = None) -> list[Candidate]:
    """Statements that a news item may report (those of the preceding window), best first.

    With the stored item's `news_id`, whether each one is covered is decided as `match_news` decides it,
    from the statement's side: a pair is covered or not whichever of the two arrived first.
    """
    window = (date - options.after, date + options.before) if date else None
    body = f"{title}\n{text}" if title else text
    found = _ranked(_assess(db, STATEMENTS, body, window, options, vector, date=date, query_is_statement=False),
                    options, vector)
    if news_id is None:
        return found
    decided = []
    for candidate in found:
        seen = _from_the_statement(db, candidate.row_id, news_id, vector, options)
        covered = 0.0 if seen is None else seen.covered()
        score = covered if covered >= COVERED_THRESHOLD else under_threshold(candidate.score)
        related = seen is not None and seen.related()
        relay = seen is not None and (_relayable(seen) if covered < COVERED_THRESHOLD
                                      else not seen.evidence.same_script)
        decided.append(Candidate(candidate.row_id, score, candidate.method, related, relay=relay))
    return sorted(decided, key=lambda c: (-c.score, c.row_id))


def _from_the_statement(db: Database, statement_id: int, news_id: int, vector: np.ndarray | None,
                        options: MatchOptions) -> Assessment | None:
    """The pair as the statement's own query against the news index sees it (its place unknown: 0)."""
    row = db.execute("SELECT text, date FROM statements WHERE id = ?", (statement_id,)).fetchone()
    docs = stored_terms(db, NEWS, [news_id])
    if row is None or news_id not in docs:
        return None
    similar = {}
    if vector is not None:
        stored = vectors_of(db, STATEMENT_VECTORS, [statement_id]).get(statement_id)
        if stored is not None:
            similar[news_id] = similarity(stored, vector)
    return _assess_rows(db, row[0], from_db(row[1]), docs, similar, options)[0]


def _assess_rows(db: Database, text: str, date: datetime | None,
                 docs: dict[int, tuple[list[str], datetime | None, str]], similar: dict[int, Similarity],
                 options: MatchOptions) -> list[Assessment]:
    """Given news rows (`stored_terms`) against `text` as a statement's query: each pair's evidence, its cosines
    if known, and the region check, as `match_news` would give them (their place unknown: 0)."""
    query = _Query(db, NEWS, text, options)
    _learn_frequencies(db, NEWS, query, [terms for terms, _, _ in docs.values()])
    assessed = [Assessment(row_id, query.evidence(date, terms, doc_date, same_script=mark == query.mark,
                                                  query_is_statement=True),
                           Lexical(0.0, 0.0), *_cosines_of(similar.get(row_id)), place=0)
                for row_id, (terms, doc_date, mark) in docs.items()]
    return _with_regions(db, NEWS, text, assessed, query_is_statement=True)


def similar_rows(db: Database, table: str, text: str, *, window: Window | None = None,
                 options: MatchOptions = MatchOptions()) -> list[Candidate]:
    """Rows of `table` ("news" or "statements") that share the most evidence with `text`, best first,
    dated inside `window` (or undated) when one is given."""
    side = {"news": NEWS, "statements": STATEMENTS}[table]
    return _ranked(_assess(db, side, text, window, options, query_is_statement=table == "news"), options)


def is_shared(term: str) -> bool:
    """Evidence that any language can share: a number or a name skeleton."""
    return term.isdigit() or (term.startswith(SKELETON_MARK) and not term.startswith(SCRIPT_MARK))


class _Query:
    """A text's index terms with their idf weights in one index, and which scripts the index holds."""

    def __init__(self, db: Database, side: Index, text: str, options: MatchOptions) -> None:
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
        self.rarity = Rarity(self.total, df)
        self.side = Side(self.terms[:-1], None)  # what is read of the query's terms, once for every candidate
        # Rows in the query's script, rows in others: a one-script index needs no script condition.
        self.same_script_rows = has_rows(db, side.fts, self.mark)
        self.other_script_rows = any(has_rows(db, side.fts, m) for m in SCRIPT_MARKS if m != self.mark)

    def learn(self, df: dict[str, int]) -> None:
        """Add the document frequencies of the candidates' terms (the rarities are read afresh)."""
        self.df.update(df)
        self.rarity = Rarity(self.total, self.df)

    def evidence(self, date: datetime | None, doc_terms: list[str], doc_date: datetime | None, *,
                 same_script: bool, query_is_statement: bool) -> Evidence:
        """The evidence of one candidate (its index terms and date) against this query dated `date`."""
        if self.side.date != date:
            self.side = Side(self.terms[:-1], date)
        return evidence(query=self.side, doc=Side(doc_terms, doc_date),
                        query_weights=self.own if same_script else self.shared, query_set=self.set,
                        rarity=self.rarity, same_script=same_script, query_is_statement=query_is_statement)


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the scoring sees of one candidate: its evidence, its BM25 place and, with a query vector, its cosine
    (and the cross-lingual check's, with a vector that has it)."""

    row_id: int
    evidence: Evidence
    lexical: Lexical
    cosine: float | None
    crosslingual: float | None
    place: int

    def score(self) -> float:
        if self.cosine is None:
            return lexical_score(self.evidence, self.lexical)
        return fused_score(self.evidence, self.lexical, self.cosine, self.crosslingual)

    def covered(self) -> float:
        return covered_probability(self.evidence, self.cosine, self.crosslingual)

    def probability(self) -> float:
        return probability(self.evidence, self.cosine, self.crosslingual)

    def related(self) -> bool:
        return is_related(self.evidence, self.cosine, self.crosslingual)


def _cosines_of(similar: Similarity | None, vector: np.ndarray | None = None) -> tuple[float | None, float | None]:
    """An Assessment's cosines: those known, else none without a query `vector` and 0 for a row not yet embedded."""
    if similar is not None:
        return similar
    if vector is None:
        return None, None
    return 0.0, (0.0 if len(vector) > MEANING_DIMS else None)


def assess_news(db: Database, text: str, *, date: datetime | None = None, vector: np.ndarray | None = None,
                options: MatchOptions = MatchOptions()) -> list[Assessment]:
    """Every candidate `match_news` scores, unscored (what `bench/fit_evidence.py` fits the weights on)."""
    window = (date - options.before, date + options.after) if date else None
    return _assess(db, NEWS, text, window, options, vector, date=date)


def _ranked(found: list[Assessment], options: MatchOptions, vector: np.ndarray | None = None,
            relayed: dict[int, tuple[float, int]] | None = None) -> list[Candidate]:
    """The `top` candidates by score, best first; `relayed`: candidates covered through a report (score, via)."""
    method = "lexical" if vector is None else "fused"
    relayed = relayed or {}
    scored = sorted(((relayed.get(a.row_id, (a.score(),))[0], -a.place, a) for a in found),
                    key=lambda item: (-item[0], -item[1], item[2].row_id))
    return [Candidate(a.row_id, score, method, a.related(), via=relayed.get(a.row_id, (0.0, None))[1])
            for score, _, a in scored[: options.top]]


def _assess(db: Database, side: Index, text: str, window: Window | None,
            options: MatchOptions, vector: np.ndarray | None = None, *, date: datetime | None = None,
            query_is_statement: bool = True) -> list[Assessment]:
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
        rows = query.total if ids is None else ids[1] - ids[0] + 1
        if query.other_script_rows and rows >= _PRUNED_ROWS:
            same = search_same_script(db, side, list(query.own), query.df, query.total, query.mark, window, ids,
                                      limit=options.candidates, kept=options.rescored)
        else:
            only_same = f"AND {mark}" if query.other_script_rows else ""
            same = search(db, side, query.own, only_same, window, ids, options.candidates)
    if query.other_script_rows:
        other = search(db, side, query.shared, f"NOT {mark}", window, ids, options.candidates)
    # Each list's best by BM25 are scored; the score alone orders the result, across scripts.
    lexical: dict[int, tuple[int, bool, Lexical]] = {}
    for found, weights, same_script in ((same, query.own, True), (other, query.shared, False)):
        norm = sum(fts_idf(query.total, query.df.get(t, 0)) for t in weights) or 1.0
        best = found[0][1] if found else 1.0
        for place, (row_id, bm25) in enumerate(found[: options.rescored]):
            lexical.setdefault(row_id, (place, same_script, Lexical(bm25 / -norm, bm25 / best)))
    similar: dict[int, Similarity] = {}
    if vector is not None:
        similar = _similar(db, side, list(lexical), vector, window, ids, options)
    if not lexical and not similar:
        return []
    docs = stored_terms(db, side, list(lexical.keys() | similar.keys()))
    _learn_frequencies(db, side, query, [terms for terms, _, _ in docs.values()])
    assessed = []
    for row_id, (terms, doc_date, doc_mark) in docs.items():
        place, same_script, bm25 = lexical.get(row_id, (options.rescored, doc_mark == query.mark, Lexical(0.0, 0.0)))
        ev = query.evidence(date, terms, doc_date, same_script=same_script, query_is_statement=query_is_statement)
        assessed.append(Assessment(row_id, ev, bm25, *_cosines_of(similar.get(row_id), vector), place=place))
    return _with_regions(db, side, text, assessed, query_is_statement=query_is_statement)


def _with_regions(db: Database, side: Index, text: str, assessed: list[Assessment], *,
                  query_is_statement: bool) -> list[Assessment]:
    """The candidates with evidence enough to be covered or shown as related (`RELATED_FLOOR`), checked for the
    regions they name: a report that names a region its statement does not ("22 drones over Kursk" against
    "22 over Bryansk"; "8 over Rostov and Bryansk" against Bryansk and Ryazan) reports another statement of
    the same kind, a conflict like another leading figure (`places.names_other_regions`).  Only those few
    candidates' texts are read; checking only the covered ones left such counts just under the threshold
    unmarked, and in the fit they held the threshold up (`bench/fit_evidence.py`)."""
    likely = [a.row_id for a in assessed if not a.evidence.conflict and a.probability() >= RELATED_FLOOR]
    said = places(text) if likely else []
    if not said:
        return assessed
    other = set()
    for row_id, content in _texts(db, side, likely).items():
        named = places(content)
        statement, report = (said, named) if query_is_statement else (named, said)
        if names_other_regions(statement, report):
            other.add(row_id)
    return [replace(a, evidence=replace(a.evidence, conflict=True)) if a.row_id in other else a for a in assessed]


def _texts(db: Database, side: Index, row_ids: list[int]) -> dict[int, str]:
    """The rows' texts, a news item's headline first."""
    marks = ",".join("?" * len(row_ids))
    body = "coalesce(title, '') || char(10) || text" if side.table == "news" else "text"
    return dict(db.execute(f"SELECT id, {body} FROM {side.table} WHERE id IN ({marks})", row_ids).fetchall())


def _similar(db: Database, side: Index, lexical: list[int], vector: np.ndarray,
             window: Window | None, ids: tuple[int, int] | None,
             options: MatchOptions) -> dict[int, Similarity]:
    """The similarity to `vector` of the stored vectors nearest in meaning in the window, and of the lexical
    candidates that have one."""
    near = [row_id for row_id, _ in nearest(db, side.vectors, vector, ids, options.candidates)]
    if window is not None:
        inside = in_window(db, side, near, window)
        near = [row_id for row_id in near if row_id in inside]
    stored = vectors_of(db, side.vectors, list(dict.fromkeys([*near, *lexical])))
    return {row_id: similarity(v, vector) for row_id, v in stored.items()}


def _relayable(candidate: Assessment) -> bool:
    """Whether a candidate not covered may be covered through a report in its own script: it is in another
    script than the statement, where words cannot meet, has no conflict with it, and has evidence enough to
    be shown as related (`RELATED_FLOOR`)."""
    return (not candidate.evidence.same_script and not candidate.evidence.conflict
            and candidate.probability() >= RELATED_FLOOR)


def _relayed(db: Database, found: list[Assessment], fused: bool, options: MatchOptions) -> dict[int, tuple[float, int]]:
    """The candidates covered through a covered report in their own script: {candidate: (score, report)}.

    An English outlet's report of an Arabic statement often shares little with it but the names, while it
    repeats, word for word, an English report that is covered.  Such a candidate (`_relayable`) is covered
    when the report's certainty times the pair's (the report as the query, the candidate as the document,
    with their cosine in the fused pass) reaches `COVERED_THRESHOLD`.  One hop only: a report covered
    this way carries no others.  The same rule for a candidate of the statement's own script added only
    wrong pairs on the real dev set, where the direct evidence already says what there is to say.
    """
    covered = {a.row_id: a.covered() for a in found if a.covered() >= COVERED_THRESHOLD}
    open_ = [a.row_id for a in found if a.row_id not in covered and _relayable(a)]
    if not covered or not open_:
        return {}
    terms = stored_terms(db, NEWS, [*covered, *open_])
    texts = _texts(db, NEWS, list(covered))
    vectors = vectors_of(db, NEWS_VECTORS, [*covered, *open_]) if fused else {}
    best: dict[int, tuple[float, int]] = {}
    for report, certainty in covered.items():
        _, report_date, report_mark = terms[report]
        mine = {row_id: terms[row_id] for row_id in open_ if terms[row_id][2] == report_mark}
        if not mine:
            continue
        similar = {row_id: similarity(vectors[report], vectors[row_id]) for row_id in mine
                   if report in vectors and row_id in vectors}
        for pair in _assess_rows(db, texts[report], report_date, mine, similar, options):
            score = certainty * pair.covered()
            if score >= COVERED_THRESHOLD and score > best.get(pair.row_id, (0.0,))[0]:
                best[pair.row_id] = (score, report)
    return best


_PRUNED_ROWS = 5000  # fewer rows in scope: scoring them all costs less than a second query when pruning fails


def _learn_frequencies(db: Database, side: Index, query: _Query, texts: list[list[str]]) -> None:
    """Look up the document frequencies of the scored candidates' terms in one query."""
    unknown = {t for terms in texts for t in terms} - query.df.keys()
    query.learn(document_frequencies(db, side.vocab, list(unknown), query.total))
