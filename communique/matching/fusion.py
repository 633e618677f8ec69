"""How the lexical evidence and the embedding's cosine are combined, when embeddings are on.

Two numbers per candidate, fitted on the evaluation sets (tests/data/multilingual and
../shared/data/claims-en-dev; `communique evaluate --embeddings` prints the result):
- the ranking key orders a query's candidates: mostly the cosine, plus the lexical score and
  a small bonus for a high place in the lexical ranking (BM25 finds the exact wording);
- the score is an absolute probability that the candidate reports the query, from the cosine
  and the lexical score only (logistic regression on the multilingual set), shifted so that the
  lexical path's `COVERED_THRESHOLD` means the same here: precision of at least 0.95.
A candidate found only by the embedding has no lexical score or place (both count as 0).

One rule sits on top of the fit: a candidate whose numbers are all other than the statement's
is never "covered", whatever its cosine.  The embedding reads "31 drones over Bryansk" and "46
drones over Bryansk" as the same text (fused 0.58 on that pair, before the rule), and the
evaluation set's reports never carry only other numbers than their statement's (0 of the
reports scored covered), so the rule costs no recall there.
"""

from __future__ import annotations

import math

_RANK_COSINE, _RANK_LEXICAL, _RANK_PLACE = 16.0, 1.0, 0.5
_P_COSINE, _P_LEXICAL, _P_BIAS = 40.03, 10.23, -39.61
OTHER_NUMBERS_CAP = 0.5  # under matcher.COVERED_THRESHOLD (0.55)


def rank_key(cosine: float, lexical: float, lexical_place: int | None) -> float:
    """Higher is better; `lexical_place` is the 0-based place in the lexical ranking, None if absent."""
    place = 1.0 / (1 + lexical_place) if lexical_place is not None else 0.0
    return _RANK_COSINE * cosine + _RANK_LEXICAL * lexical + _RANK_PLACE * place


def fused_score(cosine: float, lexical: float, *, other_numbers: bool = False) -> float:
    """Probability-like score in [0, 1] that the pair is a report of the statement; `other_numbers`: both
    carry numbers and share none (then the score stays under the covered threshold)."""
    score = 1.0 / (1.0 + math.exp(-(_P_COSINE * cosine + _P_LEXICAL * lexical + _P_BIAS)))
    return min(score, OTHER_NUMBERS_CAP) if other_numbers else score
