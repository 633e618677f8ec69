"""The days a text mentions ("6 декабря", "December 6", "6 ديسمبر", "ב-6 בדצמבר"), read from its index terms.

Official bodies publish the same kind of statement every day (overnight drone counts, loss
tables, evacuation warnings), and the reports say which day they are about.  A report that
names only days far from the statement's is about another day's statement: the strongest
evidence against a match that shares everything else.

Month names come from the CLDR data that Babel ships (format and stand-alone forms, so
"декабря" and "декабрь"; names of two words, such as the Levant's "تشرين الثاني"), in each
language we read, read as the index reads them, and RIA Novosti's "5 ноя"; a day is a number
from 1 to 31 ("23rd" too) beside a month, and a four-digit year right after it is read too, as
is the Chinese "2026年1月16日".  Without a year, the day is taken in the year that puts it
nearest the reference date.  A weekday ("On Friday", "الأربعاء", "у п'ятницю") is the day of
that name nearest the reference date ("היום (רביעי)", today (Wednesday), as Israeli outlets
write); it can only tell against a match (`days_agree`), and weekday names that are also common
words are not read.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, timedelta
from functools import lru_cache

LOCALES = ("en", "ru", "uk", "ar", "ar_SY", "he", "tr", "fr", "de", "es", "it", "pt", "pl")


class Names:
    """Names that are runs of index terms, found at a position of a text's terms."""

    def __init__(self, names: dict[tuple[str, ...], int]) -> None:
        self.names = names
        self.starts: dict[str, list[tuple[str, ...]]] = {}
        for name in names:
            self.starts.setdefault(name[0], []).append(name)

    def at(self, terms: list[str], i: int) -> tuple[int, int] | None:
        """The value and length of the name that begins at `terms[i]`, if one does."""
        single = self.names.get((terms[i],))
        if single is not None:
            return single, 1
        for name in self.starts.get(terms[i], ()):
            if len(name) > 1 and tuple(terms[i:i + len(name)]) == name:
                return self.names[name], len(name)
        return None


def _index_words(name: str) -> tuple[str, ...]:
    """A name as the index reads it, without name keys ("שני", second, is 2 there)."""
    from communique.normalise import SKELETON_MARK, index_terms

    return tuple(t for t in index_terms(name) if not t.startswith(SKELETON_MARK))


@lru_cache(maxsize=1)
def month_stems() -> dict[str, int]:
    """Stemmed month name -> month number, in every locale read."""
    from babel.dates import get_month_names

    from communique.normalise import terms

    stems: dict[str, int] = {}
    for locale in LOCALES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for month, name in get_month_names(width, context=context, locale=locale).items():
                    words = terms(name, keep_stopwords=True)
                    if len(words) == 1 and len(words[0]) >= 3 and not words[0].isdigit():
                        stems.setdefault(words[0], month)
    # RIA Novosti's datelines shorten the Russian months to three letters, unlike CLDR: "МОСКВА, 5 ноя".
    for month, name in get_month_names("wide", context="stand-alone", locale="ru").items():
        stems.setdefault(terms(name[:3], keep_stopwords=True)[0], month)
    return stems


@lru_cache(maxsize=1)
def _month_runs() -> Names:
    """Month names of several words: the Levant's "تشرين الثاني" (November), "كانون الثاني" (January)."""
    from babel.dates import get_month_names

    names: dict[tuple[str, ...], int] = {}
    for locale in LOCALES:
        for month, name in get_month_names("wide", locale=locale).items():
            if len(words := _index_words(name)) > 1:
                names.setdefault(words, month)
    return Names(names)


def is_month(term: str) -> bool:
    """Whether a month's name is or begins with the term ("декабря"; "تشرين" of "تشرين الثاني")."""
    return term in month_words()


@lru_cache(maxsize=1)
def month_words() -> frozenset[str]:
    """The terms a month's name is or begins with: a text holding none of them names no day."""
    return frozenset(month_stems()) | frozenset(_month_runs().starts) | {_HAN_MONTH}


@lru_cache(maxsize=1)
def weekday_words() -> frozenset[str]:
    """The terms a weekday's name begins with: a text holding none of them names no weekday."""
    return frozenset(weekday_names().starts)


# Weekday stems that are also common words: Arabic "one" (الأحد), "two" (الاثنين), "gather" (الجمعة), Russian
# and Ukrainian "among" (среди, серед: Wednesday's stem), Turkish March and market (mart, pazar), French moon.
_NOT_ONLY_WEEKDAYS = frozenset({"احد", "اثن", "جمع", "сред", "серед", "mart", "pazar", "lune"})


@lru_cache(maxsize=1)
def weekday_names() -> Names:
    """Weekday names -> weekday (Monday 0), in every locale read, but for those that are common words.  A
    name may be several words: Hebrew names a weekday "day fourth" (יום רביעי), which "היום (רביעי)", today
    (Wednesday), also reads as."""
    from babel.dates import get_day_names

    names: dict[tuple[str, ...], int] = {}
    for locale in LOCALES:
        for context in ("format", "stand-alone"):
            for weekday, name in get_day_names("wide", context=context, locale=locale).items():
                words = _index_words(name)
                if len(words) > 1 or (words and len(words[0]) >= 3 and words[0] not in _NOT_ONLY_WEEKDAYS):
                    names.setdefault(words, weekday)
    return Names(names)


def _year(term: str) -> int | None:
    return int(term) if len(term) == 4 and term.isdigit() and 1990 <= int(term) <= 2100 else None


def _nearest(day: int, month: int, reference: date) -> date | None:
    best = None
    for year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if best is None or abs(candidate - reference) < abs(best - reference):
            best = candidate
    return best


def mentioned_weekday(terms: list[str], reference: date) -> date | None:
    """The first weekday a text names ("on Friday", "الأربعاء"), as the day of that weekday nearest `reference`."""
    days = weekday_names()
    for i in range(len(terms)):
        if (found := days.at(terms, i)) is not None:
            ahead = (found[0] - reference.weekday()) % 7
            return reference + timedelta(days=ahead if ahead <= 3 else ahead - 7)
    return None


_HAN_YEAR, _HAN_MONTH, _HAN_DAY = "年", "月", frozenset({"日", "号"})
_DAY_OF_MONTH = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th|er)?")  # "23", "23rd", "1er"


def _day_of(term: str) -> int:
    """The day of the month a term gives ("23", "23rd", "1er"), or 0."""
    match = _DAY_OF_MONTH.fullmatch(term)
    return int(match.group(1)) if match and 1 <= int(match.group(1)) <= 31 else 0


def mentioned_days(terms: list[str], reference: date) -> list[date]:
    """The days named in a text's index terms, in order; `reference` chooses the year when none is written."""
    months, runs = month_stems(), _month_runs()
    found: list[date] = []

    def add(year: int | None, month: int, day_of_month: int) -> None:
        try:
            day = date(year, month, day_of_month) if year else _nearest(day_of_month, month, reference)
        except ValueError:
            return
        if day is not None and day not in found:
            found.append(day)

    for i, term in enumerate(terms):
        if term == _HAN_MONTH:  # "2026年1月16日"
            if 0 < i < len(terms) - 2 and terms[i + 2] in _HAN_DAY and terms[i - 1].isdigit() and (
                    1 <= int(terms[i - 1]) <= 12 and (day_of_month := _day_of(terms[i + 1]))):
                add(_year(terms[i - 3]) if i >= 3 and terms[i - 2] == _HAN_YEAR else None, int(terms[i - 1]),
                    day_of_month)
            continue
        month, length = months.get(term), 1
        if month is None and (run := runs.at(terms, i)) is not None:
            month, length = run
        if month is None:
            continue
        last = i + length - 1
        for j in (i - 1, last + 1):
            if 0 <= j < len(terms) and (day_of_month := _day_of(terms[j])):
                after = terms[max(last, j) + 1] if max(last, j) + 1 < len(terms) else ""
                add(_year(after), month, day_of_month)
                break
    return found


SAME_DAY = timedelta(days=1)
RECENT = timedelta(days=200)


BACKGROUND = timedelta(days=7)


def statement_days_of(named: list[date], posted: date | None) -> tuple[set[date], set[date]]:
    """The days a statement is about (the day it was posted and the days it names within a week of it) and the
    days it names only as background (further from it: "the massacre of 7 October")."""
    if posted is None:
        return set(named), set()
    background = {day for day in named if abs(day - posted) > BACKGROUND}
    return {posted, *(set(named) - background)}, background


def days_agree(statement_days: set[date], report_days: list[date], report_weekday: date | None = None, *,
               background: Collection[date] = ()) -> bool | None:
    """Whether the report is about the statement's day, judged by the first day it names.

    True: that day is within a day of one of the statement's days (its date, or the days it names).
    False: it is another day of the same days or weeks (a report of the same kind of statement, made
    on another day).  None: the report names no day, or only days long past (background such as
    "since 24 February 2022") or days the statement recalls as `background` too (`statement_days_of`),
    which say nothing either way.  (A day both recall had counted as agreement: an IDF statement of
    13 December and a report of another strike in February, both recalling 7 October, agreed.)

    A report that names no such day may name a weekday (`mentioned_weekday`): one two or three days
    from the statement's is False; otherwise still None, since three weekdays in seven are within a
    day of any date (on the real dev set, counting them as agreement let same-body reports of other
    days through: cross-validated busy-window precision 0.97 -> 0.93).
    """
    if not statement_days:
        return None
    for day in report_days:
        distance = min(abs(day - s) for s in statement_days)
        if distance <= SAME_DAY:
            return True
        if day in background:
            continue  # a day both name as background (the October 7 that a strike's statement recalls)
        if distance <= RECENT:
            return False
    if report_weekday is not None and min(abs(report_weekday - s) for s in statement_days) > SAME_DAY:
        return False
    return None
