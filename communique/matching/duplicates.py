"""Near-duplicates: one statement reposted by several channels, one wire story run by several outlets.

Alerts and digests show such a group once, with all its sources.  Two texts are near-duplicates
when, once folded (`normalise.fold`), one is nearly all of the other: rapidfuzz's token-set
ratio (word order and a repost's added line do not matter) of at least `NEAR_DUPLICATE`, the
shorter at least `MIN_LENGTH_SHARE` of the longer (a headline is not a duplicate of its article),
and every number of the shorter also in the longer (the same report with other figures is news).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Hashable, Iterable
from datetime import timedelta
from typing import TypeVar

from rapidfuzz import fuzz
from sqlite_utils import Database

from communique.matching.matcher import MatchOptions, similar_rows
from communique.normalise import fold, terms
from communique.store.timefmt import from_db

NEAR_DUPLICATE = 90.0
MIN_LENGTH_SHARE = 0.6
_SIGNATURE_TERMS = 4
_NUMBER = re.compile(r"\b\d+\b")

K = TypeVar("K", bound=Hashable)


def _similar_folded(a: str, b: str, threshold: float) -> bool:
    if not a or not b or min(len(a), len(b)) < MIN_LENGTH_SHARE * max(len(a), len(b)):
        return False
    shorter, longer = sorted((a, b), key=len)
    if not set(_NUMBER.findall(shorter)) <= set(_NUMBER.findall(longer)):  # 46 drones is no repost of 29
        return False
    return fuzz.token_set_ratio(a, b, score_cutoff=threshold) >= threshold


def near_duplicate(a: str, b: str, *, threshold: float = NEAR_DUPLICATE) -> bool:
    """Whether two texts are the same post or story, up to spelling, punctuation, links and small edits."""
    return _similar_folded(fold(a), fold(b), threshold)


def group_near_duplicates(items: Iterable[tuple[K, str]], *, threshold: float = NEAR_DUPLICATE) -> list[list[K]]:
    """Partition `(key, text)` items into groups of near-duplicates, in the order the items came.

    Every key is in exactly one group (most groups have one member).  Only texts that share
    one of each other's rarest words are compared, so a batch of thousands stays fast.
    """
    keys: list[K] = []
    folded: list[str] = []
    stems: list[list[str]] = []
    for key, text in items:
        keys.append(key)
        folded.append(fold(text))
        stems.append(list(dict.fromkeys(terms(text))))
    frequency: dict[str, int] = defaultdict(int)
    for words in stems:
        for word in words:
            frequency[word] += 1
    signatures = [sorted(words, key=lambda w: (frequency[w], w))[:_SIGNATURE_TERMS] for words in stems]
    by_signature: dict[str, list[int]] = defaultdict(list)
    for index, signature in enumerate(signatures):
        for word in signature:
            by_signature[word].append(index)
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for index, signature in enumerate(signatures):
        candidates = {j for word in signature for j in by_signature[word] if j > index}
        for other in sorted(candidates):
            first, second = root(index), root(other)
            if first != second and _similar_folded(folded[index], folded[other], threshold):
                parent[max(first, second)] = min(first, second)
    groups: dict[int, list[K]] = defaultdict(list)
    for index, key in enumerate(keys):
        groups[root(index)].append(key)
    return list(groups.values())


def duplicate_of(db: Database, table: str, row_id: int, *, within: timedelta = timedelta(hours=48),
                 threshold: float = NEAR_DUPLICATE) -> int | None:
    """The earliest stored row of `table` ("statements" or "news") that `row_id` is a near-duplicate of.

    Looks at rows dated up to `within` before it (all rows if it is undated); None when it is
    the first of its kind.  The store's full-text index finds the candidates.
    """
    text_sql = "title || char(10) || text" if table == "news" else "text"
    row = db.execute(f"SELECT {text_sql}, date FROM {table} WHERE id = ?", (row_id,)).fetchone()
    if row is None:
        return None
    text, date = row[0], from_db(row[1])
    window = (date - within, date) if date else None
    found = [c.row_id for c in similar_rows(db, table, text, window=window, options=MatchOptions(top=20))]
    marks = ",".join("?" * len(found))
    earlier = db.execute(
        f"SELECT id, {text_sql} FROM {table} WHERE id IN ({marks}) "
        f"AND (coalesce(date, ''), id) < (coalesce(?, ''), ?) ORDER BY coalesce(date, ''), id",
        [*found, row[1], row_id],
    ).fetchall() if found else []
    mine = fold(text)
    return next((other for other, other_text in earlier if _similar_folded(mine, fold(other_text), threshold)), None)
