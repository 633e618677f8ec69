"""Numbers as values, however they are written: "46", "1 230", "сорок шесть", "ستة وأربعين", "forty-six".

Official statements and the reports of them write the same figure differently: CENTCOM says
"eight Houthi drones" where an outlet says "8 drones", a Russian report says "сорока шести
беспилотников" (the genitive) and an Arabic one "ستة وأربعين". Matching and the discrepancy
check compare values, so every number is read as one here.

The number words come from num2words, which spells numbers in each language we read (cases
and genders included for Russian, Ukrainian and Hebrew); they are folded like any text, so
the lexicon holds exactly the forms that `normalise.fold` produces.  Latin script is read as
English only: the other Latin-script languages' number words are everyday English words ("on"
is ten in Turkish, "once" eleven in Spanish, "sept" seven in French), and reading them made
"announced on January 7" say "10 January 7" in every English report.  A run of number words is
added up, with the usual rules of spelled numbers: a unit may follow a ten or precede it
("сорок шесть", "ستة وأربعون"), "hundred" multiplies a unit before it, and "thousand" or
"million" multiply what precedes, figures included ("144 ألفا", "مليون و144 ألفا و830").  Two units in a
row are two numbers ("two, three").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

LANGUAGES = ("en", "ru", "uk", "ar", "he")
"""The languages of our sources: a text whose language is not known is read in those of its script."""
KNOWN_LANGUAGES = (*LANGUAGES, "fr", "it", "pl", "tr")
"""The languages whose number words are read in a text known to be in one of them (a report's `lang`)."""
_UNITS_TO_HUNDREDS = (*range(21), *range(30, 100, 10), *range(100, 1000, 100))
_MULTIPLIERS = (1000, 2000, 5000, 10**6, 2 * 10**6, 5 * 10**6)
_SLAVIC_CASES = {"ru": ("nominative", "genitive", "dative", "accusative", "instrumental", "prepositional"),
                 "uk": ("nominative", "genitive", "dative", "accusative", "instrumental", "locative")}
_JOINERS = frozenset({"and", "и", "і", "й", "و", "et", "und", "y", "e", "i"})
_CONJUNCTION_PREFIXES = ("و", "ו")  # "and" written as one word with the next in Arabic and Hebrew
# Digit groups: "1 230", "1,230", "1.230 000" (three digits after each separator, none after).
DIGIT_GROUPS = re.compile(r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f,.]\d{3})+(?![\d])(?![.,]\d)")
_SEPARATORS = re.compile(r"[ \u00a0\u202f,.]")


def join_digit_groups(text: str) -> str:
    """Write grouped thousands as one number: "1 230 солдат" -> "1230 солдат"."""
    return DIGIT_GROUPS.sub(lambda m: _SEPARATORS.sub("", m.group()), text)


def _spellings(number: int, lang: str) -> Iterable[str]:
    from num2words import num2words

    yield num2words(number, lang=lang)
    if lang in ("ru", "uk"):
        for case in _SLAVIC_CASES[lang]:
            for gender in ("m", "f", "n"):
                yield num2words(number, lang=lang, case=case, gender=gender)
    elif lang == "he":
        yield num2words(number, lang=lang, gender="m")
        yield num2words(number, lang=lang, construct=True)
        yield num2words(number, lang=lang, gender="m", construct=True)


def _arabic_variants(word: str) -> Iterable[str]:
    """The accusative and genitive of tens ("أربعين" beside "أربعون"), units without the feminine
    ending ("ست" beside "ستة"), and both spellings of a hundred ("مئة", "مائة")."""
    yield word
    if word.endswith("ون"):
        yield word[:-2] + "ين"
    if word.endswith("ه") and len(word) > 3:
        yield word[:-1]
        yield word[:-1] + "ي"
    if word.startswith("مي"):
        yield "ما" + word[1:]
    if word.startswith("ماي"):
        yield "م" + word[2:]


def lexicon() -> dict[str, int]:
    """Folded number word -> value (0-19, tens, hundreds, thousand, million), in every language read."""
    return lexicon_of(LANGUAGES)


@lru_cache(maxsize=16)
def lexicon_of(languages: tuple[str, ...]) -> dict[str, int]:
    """The number words of some languages only: a text known to be English reads "on" as a word, not
    as the Turkish ten."""
    from communique.normalise import fold

    words: dict[str, int] = {}
    for lang in languages:
        for number in _UNITS_TO_HUNDREDS:
            for spelling in _spellings(number, lang):
                tokens = fold(spelling).split()
                if len(tokens) == 1:
                    for form in _arabic_variants(tokens[0]) if lang == "ar" else (tokens[0],):
                        words.setdefault(form, number)
                elif number == 100 and len(tokens) == 2:  # "one hundred": the multiplier word
                    words.setdefault(tokens[1], 100)
        for number in range(21, 100):  # compounds written as one word
            for spelling in _spellings(number, lang):
                tokens = fold(spelling).split()
                if len(tokens) == 1 and not tokens[0].isdigit():
                    words.setdefault(tokens[0], number)
        for number in _MULTIPLIERS:
            multiplier = 1000 if number < 10**6 else 10**6
            for spelling in _spellings(number, lang):
                tokens = fold(spelling).split()
                words.setdefault(tokens[-1], multiplier)
    for word in [w for w in words if w.isdigit()]:
        del words[word]
    return words


def _value(word: str, words: dict[str, int]) -> int | None:
    value = words.get(word)
    if value is None and word[:1] in _CONJUNCTION_PREFIXES and len(word) > 2:
        value = words.get(word[1:])
    return value


def _continues(current: int, value: int) -> bool:
    """Whether `value` is the next word of the number spelled so far (`current`, under 1000)."""
    if value >= 1000:
        return True
    if current == 0:
        return True
    if value == 100:
        return 1 <= current <= 9
    if value < 10:
        return current % 10 == 0 and current % 100 != 10
    if value < 20:
        return (current % 100 < 10 and value == 10) or current % 100 == 0
    return current % 100 < 10  # a ten after hundreds, or after a unit ("ستة وأربعون")


def _add(current: int, value: int) -> int:
    return current * 100 if value == 100 and 1 <= current <= 9 else current + value


def _digits_in_words(word: str, at: int, words: list[str], lexicon_: dict[str, int], after_scale: bool) -> bool:
    """Whether figures under 1000 are part of a number spelled with scale words, as news writes large
    numbers: "144 ألفا" (144 thousand), "مليون و144 ألفا و830" (1,144,830), "2 million".  They are when
    a scale word follows them, or when they come after a scale word and "and" ("a thousand, 46 of them"
    stays two numbers)."""
    if not (word.isdigit() and len(word) <= 3):
        return False
    following = _value(words[at + 1], lexicon_) if at + 1 < len(words) else None
    return after_scale or (following is not None and following >= 1000)


def read_numbers(words: list[str], lexicon_: dict[str, int] | None = None) -> list[str]:
    """The folded words with each run of number words replaced by its value in digits (the words of
    `lexicon_`, by default those of every language read)."""
    lexicon_ = lexicon() if lexicon_ is None else lexicon_
    out: list[str] = []
    total, current, in_run = 0, 0, False

    def close() -> None:
        nonlocal total, current, in_run
        if in_run:
            out.append(str(total + current))
        total, current, in_run = 0, 0, False

    pending_joiner: str | None = None
    for i, word in enumerate(words):
        value = _value(word, lexicon_)
        if value is None and _digits_in_words(word, i, words, lexicon_, in_run and current == 0 and total > 0
                                                 and pending_joiner is not None):
            value = int(word)
        if value is None:
            if in_run and word in _JOINERS and pending_joiner is None:
                pending_joiner = word
                continue
            close()
            if pending_joiner is not None:
                out.append(pending_joiner)
                pending_joiner = None
            out.append(word)
            continue
        if in_run and not _continues(current, value):
            close()
            if pending_joiner is not None:
                out.append(pending_joiner)
        pending_joiner = None
        if value >= 1000:
            total += max(current, 1) * value
            current = 0
        else:
            current = _add(current, value)
        in_run = True
    close()
    if pending_joiner is not None:
        out.append(pending_joiner)
    return out
