"""Text normalisation shared by indexing, querying and keyword subscriptions.

`fold` makes spelling variants equal (invisible characters dropped, Unicode NFKC, case folding,
Arabic diacritics, tatweel and letter variants, Hebrew points, Russian ё, URLs and punctuation;
hashtags and @mentions are split at their capitals); `terms` goes on to split words and reduce
each to a stem chosen by its script, so that inflected forms meet: "Брянской" and "Брянская",
"والجيش" and "الجيش", "intercepted" and "intercepts".

`index_terms` is what the matcher indexes and queries: the stems, plus a language-independent
key for each name-like word, its consonant skeleton ("Белоусов", "Belousov" and "بيلاوسوف"
all give `0blsb`), so that reports in another language or script still share evidence with
the statement.  Numbers are kept as they are ("46", "320"), the other such evidence.  Last
comes a mark of the script most of the words are written in ("00cyrillic"), so that a query can
ask for the rows written in its own script or in another.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

import opencc
import Stemmer

from communique.numbers import join_digit_groups, read_numbers

# pic.twitter.com links are often glued to the word before them ("#Iranpic.twitter.com/x").
_GLUED_URL = re.compile(r"pic\.twitter\.com/\S*", re.IGNORECASE)
_URL = re.compile(
    r"(?:https?://|www\.|t\.me/)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|ru|ua|ly|co|me|io)/\S*",
    re.IGNORECASE,
)
_TAG = re.compile(r"(?<![\w@#])[#@](\w+)")
_CAMEL = re.compile(r"(?<=[a-zа-яёіїєґ])(?=[A-ZА-ЯЁІЇЄҐ])|(?<=[A-ZА-ЯЁІЇЄҐ])(?=[A-ZА-ЯЁІЇЄҐ][a-zа-яёіїєґ])"
                    r"|(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_ARABIC_MARKS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_HEBREW_MARKS = re.compile(r"[\u0591-\u05c7]")
# Geresh and gershayim (or the quotes typed for them) inside a Hebrew word belong to it: צ׳רניהיב (Chernihiv),
# ראא׳ד (Ra'ed), and acronyms: צה״ל (the IDF), שב״כ (Shin Bet), ארה״ב (the USA).
_HEBREW_GERESH = re.compile("(?<=[\u05d0-\u05ea])['\"\u05f3\u05f4\u2019\u201d](?=[\u05d0-\u05ea])")
_WORD = re.compile(r"\w+")
# A clock time ("с 23:30 мск") is no count to match on: read as numbers, its hour would lead a post of 147 drones.
_CLOCK_TIME = re.compile(r"(?<![\d:])(?:[01]?\d|2[0-3]):[0-5]\d(?![\d:])")
# A case ending written after a figure ("23-го ноября", "110-й бригады", "84-ма дронами"): the figure alone,
# so that a day stands beside its month ("в ночь на 23-е ноября" is 23 November).  Whether the figure is an
# ordinal or a count in an oblique case ("84-ма" is "with 84") cannot be told from the ending, so it stays a figure.
_CASE_ENDING = re.compile(r"(?<![\d.,])(\d{1,4})[-\u2010\u2011\u2013]"
                          r"(?:й|ий|ый|ой|я|ая|е|ое|ье|ю|ую|го|ого|му|ому|м|ым|ом|х|ых|ти|ми|ї|ій|ої|ою|ша|га|тя|та|ма)"
                          r"(?!\w)", re.IGNORECASE)
# Ukrainian writes an apostrophe inside words ("п'ять", "об'єкт"): it is part of the word.
_CYRILLIC_APOSTROPHE = re.compile(r"(?<=[а-яіїєґ])['’ʼ](?=[а-яіїєґ])")
# Arabic and Hebrew write "and", "in", "to" as one word with a figure after them ("و13", "ב6"): two words.
_PREFIX_BEFORE_DIGIT = re.compile(r"(?<=[\u0590-\u06ff])(?=\d)")
_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي",
                          "ک": "ك", "ی": "ي", "ё": "е", "_": " ",
                          **{chr(0x0660 + d): str(d) for d in range(10)},
                          **{chr(0x06F0 + d): str(d) for d in range(10)}})
# Zero-width characters, soft hyphens and bidirectional marks: invisible, yet each would split a word in two.
_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, *range(0x202A, 0x202F),
     *range(0x2066, 0x206A)])
_HEBREW_FINALS = str.maketrans({"ך": "כ", "ם": "מ", "ן": "נ", "ף": "פ", "ץ": "צ"})
_ARABIC_PREFIXES = ("وبال", "وكال", "فبال", "وال", "بال", "فال", "كال", "لل", "ال")
_ARABIC_PARTICLES = "فبلك"  # "then", "with", "for", "like" written as one word with the next
_ARABIC_SUFFIXES = ("تها", "هما", "كما", "ات", "ان", "ون", "ين", "يه", "ها", "هم", "نا", "ه", "ي", "ت")
_HEBREW_PREFIXES = ("וה", "שה", "בה", "לה", "מה", "ה", "ו", "ב", "ל", "מ", "ש", "כ")
_UKRAINIAN_ONLY = frozenset("іїєґ")
_UKRAINIAN_TO_RUSSIAN = str.maketrans("іїєґ", "ииег")

STOPWORDS = frozenset(
    """a an and are as at be been by for from has have he her his i in is it its of on or our that the their this
    to was we were will with you your not no but after over into than then there these they those about also said
    и в во на с со по к ко о об от до из за для не что как это его ее её их он она они мы вы а но же ли бы
    был была были будет при также этот эта эти том тем того чем который которые которая
    і й та що як це з із у на до від за для не про його її їх він вона вони ми ви але
    في من على الى إلى عن مع ان أن إن او أو ما لا هذا هذه ذلك التي الذي الذين كان كانت قد لم لن بعد قبل عند بين
    של את על עם זה זו הוא היא הם אל כי לא גם או אשר""".split()
)

SKELETON_MARK = "0"
"""Skeleton keys start with a zero, which no stem does (numbers lose their leading zeros)."""
SCRIPT_MARK = "00"
"""Each indexed text also holds "00" + the script most of its words are written in ("00cyrillic")."""
SCRIPTS = ("latin", "cyrillic", "arabic", "hebrew", "other")
SCRIPT_MARKS = tuple(SCRIPT_MARK + script for script in SCRIPTS)
_MIN_SKELETON = 3

# Consonant classes shared by the four scripts: labials b, velars k, dentals t, sibilants s,
# j for "dzh"-like sounds.  Vowels and glides carry no evidence and are dropped, and so are h-like
# sounds, which each script spells differently (Kharkiv/Харків/خاركيف, Hezbollah/Хезболла).
_DIGRAPHS = (("sch", "s"), ("tch", "s"), ("dzh", "j"), ("kh", "h"), ("gh", "k"), ("ch", "s"), ("sh", "s"),
             ("zh", "s"), ("ts", "s"), ("tz", "s"), ("ph", "b"), ("th", "t"), ("ck", "k"), ("dj", "j"),
             ("дж", "j"))
_CONSONANT_CLASS = str.maketrans(
    {
        **dict.fromkeys("bpfvw", "b"), **dict.fromkeys("kgqcx", "k"), **dict.fromkeys("td", "t"),
        **dict.fromkeys("sz", "s"), "j": "j", "l": "l", "m": "m", "n": "n", "r": "r",
        **dict.fromkeys("бпфв", "b"), **dict.fromkeys("кгґ", "k"), **dict.fromkeys("тд", "t"),
        **dict.fromkeys("сзшщжчц", "s"), "л": "l", "м": "m", "н": "n", "р": "r",
        **dict.fromkeys("بفپڤ", "b"), **dict.fromkeys("كقغگ", "k"), **dict.fromkeys("تدطضذث", "t"),
        **dict.fromkeys("سصزشظ", "s"), "ج": "j", "ل": "l", "م": "m", "ن": "n", "ر": "r",
        **dict.fromkeys("בפ", "b"), **dict.fromkeys("כקג", "k"), **dict.fromkeys("תטד", "t"),
        **dict.fromkeys("סצזש", "s"), "ל": "l", "מ": "m", "נ": "n", "ר": "r",
    }
)
_NOT_A_CLASS = re.compile(r"[^bkstjlmnr]")
_REPEATS = re.compile(r"(.)\1+")


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def _split_tag(match: re.Match[str]) -> str:
    """#AirDefence -> "AirDefence Air Defence": the tag as written and its words."""
    tag = match.group(1)
    words = _CAMEL.sub(" ", tag)
    return tag if words == tag else f"{tag} {words}"


def drop_invisible(text: str) -> str:
    """The text without zero-width characters, soft hyphens and bidi marks ("Кр\u200bым" is "Крым")."""
    return text.translate(_INVISIBLE)


def _clean(text: str) -> str:
    """No invisible characters, NFKC, no URLs, hashtags and mentions spelled out, no diacritics; case is kept."""
    text = unicodedata.normalize("NFKC", drop_invisible(text))
    text = join_digit_groups(_URL.sub(" ", _GLUED_URL.sub(" ", text)))
    return strip_marks(_TAG.sub(_split_tag, text))


def strip_marks(text: str) -> str:
    """The text without Arabic diacritics and tatweel, Hebrew points, and geresh or gershayim inside a Hebrew
    word, which would split words."""
    return _HEBREW_GERESH.sub("", _HEBREW_MARKS.sub("", _ARABIC_MARKS.sub("", text)))


def _fold_clean(text: str) -> str:
    text = _han_pairs(_CYRILLIC_APOSTROPHE.sub("", text.casefold().translate(_LETTERS)))
    return " ".join(_WORD.findall(_PREFIX_BEFORE_DIGIT.sub(" ", text)))


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@lru_cache(maxsize=1)
def _simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _han_pairs(text: str) -> str:
    """Chinese as words to match: Traditional characters folded to Simplified (臺灣 is 台湾, by OpenCC's
    tables), and each run of characters, written without spaces, read as its overlapping pairs
    (中国台湾 -> 中国 国台 台湾), as search engines index it without a dictionary."""
    if not _HAN.search(text):
        return text
    return _HAN.sub(lambda run: " " + " ".join(_pairs(run.group())) + " ", _simplified().convert(text))


def _pairs(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]


def fold(text: str) -> str:
    """Lower-case, variant-free text with URLs and punctuation replaced by spaces."""
    return _fold_clean(_clean(text))


def script_of(word: str) -> str:
    """The script of a folded word: 'cyrillic', 'arabic', 'hebrew', 'latin' or 'other'."""
    for ch in word:
        code = ord(ch)
        if 0x0400 <= code <= 0x04FF:
            return "cyrillic"
        if 0x0600 <= code <= 0x06FF:
            return "arabic"
        if 0x0590 <= code <= 0x05FF:
            return "hebrew"
        if ch.isalpha() and code < 0x0250:
            return "latin"
    return "other"


def _strip_prefix(word: str, prefixes: tuple[str, ...], keep: int) -> str:
    for prefix in prefixes:
        if word.startswith(prefix) and len(word) - len(prefix) >= keep:
            return word[len(prefix):]
    return word


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Stem one folded word with the stemmer for its script (numbers are kept as they are)."""
    if word.isdigit():
        return word.lstrip("0") or "0"
    script = script_of(word)
    if script == "latin":
        return _stemmer("english").stemWord(word)
    if script == "cyrillic":
        if _UKRAINIAN_ONLY.intersection(word):
            # The Russian stemmer then reads Ukrainian too, once "-ої" is spelled as its "-ой".
            word = (word[:-2] + "ой" if word.endswith("ої") else word).translate(_UKRAINIAN_TO_RUSSIAN)
        return _stemmer("russian").stemWord(word)
    if script == "arabic":
        return _arabic_stem(word)
    if script == "hebrew":
        return _strip_prefix(word.translate(_HEBREW_FINALS), _HEBREW_PREFIXES, 3)
    return word


def _arabic_stem(word: str) -> str:
    """A light stemmer: the article with its particles, one particle, then up to two suffixes.

    Light stemming beats root extraction for matching news: "المسيرات" and "مسيرة" meet,
    "وزارة" (ministry) does not turn into "زار" (visited).  The conjunction و is left to
    `_stems`, which cannot tell it from a word's first letter and so keeps both readings.
    """
    stripped = _strip_prefix(word, _ARABIC_PREFIXES, 2)
    if stripped == word and len(word) >= 5 and word[0] in _ARABIC_PARTICLES:
        stripped = word[1:]
    word = stripped
    for _ in range(2):
        suffix = next((s for s in _ARABIC_SUFFIXES if word.endswith(s) and len(word) - len(s) >= 3), None)
        if suffix is None:
            break
        word = word[: -len(suffix)]
    return word


def terms(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """The stems of a text's words, in order, without stop words (unless asked to keep them)."""
    folded = fold(text)
    if keep_stopwords:
        return [stem(w) for w in folded.split()]
    return _stems(folded)


def _stems(folded: str) -> list[str]:
    """Stems of the words that are not stop words.  An Arabic word that starts with و gives two:
    as written and without the و, which is "and" in "والوزارة" but part of the word in "وزارة"."""
    stems = []
    for word in folded.split():
        if word not in STOPWORDS:
            stems.append(stem(word))
            if word.startswith("و") and len(word) > 3 and script_of(word) == "arabic":
                without = stem(word[1:])
                if without != stems[-1]:
                    stems.append(without)
    return stems


@lru_cache(maxsize=200_000)
def skeleton(word: str) -> str:
    """A folded word's consonant skeleton: "белоусов", "belousov" and "بيلاوسوف" all give "blsb"."""
    for digraph, sound in _DIGRAPHS:
        if digraph in word:
            word = word.replace(digraph, sound)
    return _REPEATS.sub(r"\1", _NOT_A_CLASS.sub("", word.translate(_CONSONANT_CLASS)))


@lru_cache(maxsize=200_000)
def _name_keys(word: str) -> tuple[str, ...]:
    """Skeleton keys of a word as written, if it is name-like: a capitalised Latin or Cyrillic word,
    or any Arabic or Hebrew word (those scripts have no case); stop words and numbers have none."""
    first = word[0]
    if len(word) < 3 or word.isdigit() or not (first.isupper() or "\u0590" <= first <= "\u06ff"):
        return ()
    folded = word.casefold().translate(_LETTERS)
    return () if folded in STOPWORDS else _skeleton_keys(folded)


def _skeleton_keys(word: str) -> tuple[str, ...]:
    """Keys of one name-like folded word.  Arabic words lose their article or conjunction first;
    a Hebrew word that may begin with a one-letter prefix gives a key with and one without it
    ("בלאוסוב" is Belousov, "בבריאנסק" is "in Bryansk")."""
    script = script_of(word)
    if script == "arabic":
        spellings = [_strip_prefix(word, _ARABIC_PREFIXES, 3)]
    elif script == "hebrew":
        word = word.translate(_HEBREW_FINALS)
        spellings = list(dict.fromkeys((word, _strip_prefix(word, _HEBREW_PREFIXES, 3))))
    else:
        spellings = [word]
    keys = [skeleton(spelling) for spelling in spellings]
    # Place names take an adjective suffix in Russian and Ukrainian: "Саратовский" is also "Saratov".
    keys += [key[:-2] for key in keys if key.endswith("sk")]
    return tuple(SKELETON_MARK + key for key in dict.fromkeys(keys) if len(key) >= _MIN_SKELETON)


def dominant_script(stems: list[str]) -> str:
    """The script most of the words are written in ('other' for none: only numbers, say)."""
    counts = Counter(script_of(s) for s in stems if not s.isdigit())
    counts.pop("other", None)
    return max(counts, key=counts.__getitem__) if counts else "other"


def index_terms(text: str) -> list[str]:
    """Stems of the text's words, the skeleton keys of its name-like words, and its script mark; clock times
    are left out (`fold` keeps them: two headlines "… at 14:30" and "… at 16:45" are two stories), and so are
    case endings written after a figure ("23-го")."""
    cleaned = _CASE_ENDING.sub(r"\1", _clean(_CLOCK_TIME.sub(" ", text)))
    stems = _stems(" ".join(read_numbers(_fold_clean(cleaned).split())))
    keys = [key for word in _WORD.findall(cleaned) for key in _name_keys(word)]
    return [*stems, *keys, SCRIPT_MARK + dominant_script(stems)]


def index_text(title: str, text: str) -> str:
    """What goes into an FTS5 row: the index terms of title and body, space-separated."""
    return " ".join(index_terms(f"{title}\n{text}" if title else text))


def word_skeletons(text: str) -> set[str]:
    """The skeleton keys of every word of a text, capitalised or not (a keyword is typed in lower case)."""
    return {key for word in fold(text).split() if not word.isdigit() for key in _skeleton_keys(word)}


def name_skeletons(text: str) -> set[str]:
    """The skeleton keys of a text's name-like words only (capitalised, or Arabic or Hebrew):
    a skeleton is too coarse for ordinary words ("политики" and "Baltic" both give "bltk")."""
    return {key for word in _WORD.findall(_clean(text)) for key in _name_keys(word)}
