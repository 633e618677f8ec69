"""Who gets what: which subscribers a statement concerns, and why.

A subscription is met by a statement when
- `channel:<key>`: the statement comes from that channel;
- `keyword:<words>`: every word of the keyword meets a word of the statement;
- `topic:<name>`: any of the topic's configured keywords is met.

A keyword word meets a statement word when their stems are equal, or, for stems of five
letters or more, when the statement's stem extends the keyword's ("белгород" meets
"Белгородской", "drone" meets "drones") or the two are near-identical spellings
(rapidfuzz ratio >= 90: "Belgorod" / "Bilgorod").  A name typed in another script meets
by its consonant skeleton of four or more sounds, against the statement's names only
(capitalised words, or Arabic and Hebrew words): "Kursk" meets "Курской", "Belousov"
meets "بيلاوسوف", but "Baltic" does not meet "политики".  Short stems must be equal, so
"ПВО" does not meet "ПВОС..." and "war" does not meet "warm".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from communique.normalise import SKELETON_MARK, fold, name_skeletons, stem, terms, word_skeletons

MIN_PREFIX_STEM = 5
NEAR_SPELLING = 90.0
MIN_SKELETON = 4


@dataclass(frozen=True, slots=True)
class Keyword:
    """A keyword as typed, and for each of its words the stem and the skeleton keys."""

    text: str
    stems: tuple[str, ...]
    skeletons: tuple[frozenset[str], ...]

    @classmethod
    def parse(cls, text: str) -> Keyword:
        words = fold(text).split()
        skeletons = tuple(frozenset(k for k in word_skeletons(w) if len(k) - len(SKELETON_MARK) >= MIN_SKELETON)
                          for w in words)
        return cls(text=text, stems=tuple(stem(w) for w in words), skeletons=skeletons)


def word_meets(keyword_stem: str, skeletons: frozenset[str], statement_words: set[str]) -> bool:
    """Whether one word of a keyword (its stem and skeleton keys) meets any of `statement_words`."""
    if keyword_stem in statement_words or not skeletons.isdisjoint(statement_words):
        return True
    if len(keyword_stem) < MIN_PREFIX_STEM:
        return False
    for candidate in statement_words:
        if candidate.startswith(keyword_stem) and len(candidate) - len(keyword_stem) <= 4:
            return True
        if abs(len(candidate) - len(keyword_stem)) <= 2 and fuzz.ratio(candidate, keyword_stem) >= NEAR_SPELLING:
            return True
    return False


def keyword_meets(keyword: Keyword, statement_words: set[str]) -> bool:
    return bool(keyword.stems) and all(
        word_meets(s, k, statement_words) for s, k in zip(keyword.stems, keyword.skeletons, strict=True))


@lru_cache(maxsize=65536)
def _meets(keyword: str, statement_words: frozenset[str]) -> bool:
    """`keyword_meets` for a keyword as typed, remembered: a digest asks it of the same statements and
    topics once for every chat (`bench/digest.py`: 3 ms a chat instead of 31)."""
    return keyword_meets(_parsed(keyword), statement_words)


@lru_cache(maxsize=4096)
def _parsed(keyword: str) -> Keyword:
    return Keyword.parse(keyword)


def statement_stems(text: str) -> set[str]:
    """What keywords are matched against: the stems of a statement's words and its names' skeleton keys."""
    return set(terms(text, keep_stopwords=True)) | name_skeletons(text)


def reasons_by_chat(
    *,
    channel: str,
    stems: set[str],
    subscriptions: Iterable[tuple[int, str, str]],
    topics: Mapping[str, Iterable[str]],
) -> dict[int, list[str]]:
    """Map each chat the statement concerns to the subscriptions it meets ("topic:air-defence", ...)."""
    words = stems if isinstance(stems, frozenset) else frozenset(stems)
    topic_hits: dict[str, bool] = {}
    result: dict[int, list[str]] = {}
    for chat_id, kind, value in subscriptions:
        if kind == "channel":
            met = value == channel
        elif kind == "keyword":
            met = _meets(value, words)
        elif kind == "topic":
            if value not in topic_hits:
                topic_hits[value] = any(_meets(w, words) for w in topics.get(value, ()))
            met = topic_hits[value]
        else:
            met = False
        if met:
            result.setdefault(chat_id, []).append(f"{kind}:{value}")
    return result
