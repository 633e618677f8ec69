"""Text normalisation shared by indexing, querying and keyword subscriptions.

`fold` makes spelling variants equal (Unicode NFKC, case folding, Arabic diacritics, tatweel
and letter variants, Russian ё, URLs and punctuation); `terms` goes on to split words and
reduce each to a stem chosen by its script, so that inflected forms meet:
"Белгородской" and "Белгород", "والجيش" and "الجيش", "intercepted" and "intercepts".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_URL = re.compile(r"(?:https?://|www\.|t\.me/)\S+|\b[\w.-]+\.(?:com|org|net|ru|ly|co|me)/\S*", re.IGNORECASE)
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-zа-яё])(?=[A-ZА-ЯЁ])")
_ARABIC_MARKS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_HEBREW_MARKS = re.compile(r"[\u0591-\u05c7]")
_WORD = re.compile(r"\w+")
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي",
                                 "ک": "ك", "ی": "ي", "ё": "е",
                                 **{chr(0x0660 + d): str(d) for d in range(10)},
                                 **{chr(0x06F0 + d): str(d) for d in range(10)}})
_HEBREW_FINALS = str.maketrans({"ך": "כ", "ם": "מ", "ן": "נ", "ף": "פ", "ץ": "צ"})
_ARABIC_PREFIXES = ("وبال", "وال", "بال", "فال", "كال", "لل", "ال", "وب", "ول", "فب", "فل")
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


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def fold(text: str) -> str:
    """Lower-case, variant-free text with URLs and punctuation replaced by spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(" ", text)
    text = _HASHTAG.sub(lambda m: _CAMEL.sub(" ", m.group(1)), text)  # #AirDefence -> Air Defence
    text = _ARABIC_MARKS.sub("", text)
    text = _HEBREW_MARKS.sub("", text)
    text = text.casefold().translate(_ARABIC_LETTERS)
    return " ".join(_WORD.findall(text.replace("_", " ")))


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
            word = word.translate(_UKRAINIAN_TO_RUSSIAN)
        return _stemmer("russian").stemWord(word)
    if script == "arabic":
        return _stemmer("arabic").stemWord(_strip_prefix(word, _ARABIC_PREFIXES, 2))
    if script == "hebrew":
        return _strip_prefix(word.translate(_HEBREW_FINALS), _HEBREW_PREFIXES, 3)
    return word


def terms(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """The stems of a text's words, in order, without stop words (unless asked to keep them)."""
    words = fold(text).split()
    if not keep_stopwords:
        words = [w for w in words if w not in STOPWORDS]
    return [stem(w) for w in words]


def index_text(title: str, text: str) -> str:
    """What goes into an FTS5 row: the stems of title and body, space-separated."""
    return " ".join(terms(f"{title}\n{text}" if title else text))


def numbers(text: str) -> set[str]:
    """Numbers in a text, language-independent evidence ("24", "1500"), without leading zeros."""
    return {n.lstrip("0") or "0" for n in re.findall(r"[0-9]+", fold(text))}
