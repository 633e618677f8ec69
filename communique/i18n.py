"""The chat's language: translations, dates for the locale, and right-to-left layout.

Messages are gettext catalogues (`communique/locale/<lang>/LC_MESSAGES/communique.po`), compiled to
`.mo` by the package build (`setup.py`, with `communique.catalogues`).  Code that renders text takes a
`Tr` (`tr(lang)`) and calls `t.gettext(...)` / `t.ngettext(...)`, which Babel's extractor finds.
Placeholders are named (`{count}`) so a translation may put them in any order.

Right to left: in an Arabic or Hebrew message every line the bot writes starts with a right-to-left
mark (Telegram sets each paragraph's direction from its first strong character, and a line that
begins with a Latin outlet name or a command would otherwise be laid out left to right), and text
from elsewhere inside a line (outlet and channel names, excerpts, links' labels) is wrapped in
first-strong isolates, so its own direction cannot reorder the words around it.  Quoted posts keep
their own direction.  Left-to-right languages get no marks at all.
"""

from __future__ import annotations

import gettext
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.support import Translations

DOMAIN = "communique"
LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
# Each language in its own name, for the /language keyboard.
LANGUAGES = {"en": "English", "ru": "Русский", "uk": "Українська", "ar": "العربية", "he": "עברית"}
RIGHT_TO_LEFT = frozenset({"ar", "he"})
RLM, FSI, PDI = "\u200f", "\u2068", "\u2069"

log = logging.getLogger("communique.i18n")


def choose(language_code: str | None) -> str:
    """The supported language for a Telegram `language_code` ("ru", "pt-br", "iw"), else English."""
    base = (language_code or "").replace("_", "-").split("-")[0].lower()
    base = {"iw": "he"}.get(base, base)  # the old code for Hebrew, still sent by some clients
    return base if base in LANGUAGES else DEFAULT


@dataclass(frozen=True, slots=True)
class Tr:
    """One language's messages, dates and layout."""

    lang: str
    catalogue: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        return self.catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalogue.ngettext(singular, plural, n)

    @property
    def rtl(self) -> bool:
        return self.lang in RIGHT_TO_LEFT

    def join(self, items: Iterable[str]) -> str:
        """Items of a list, separated as the language separates them ("، " in Arabic)."""
        return self.catalogue.pgettext("list separator", ", ").join(items)

    def isolate(self, text: str) -> str:
        """Text from elsewhere (a name, an excerpt, a time zone) set apart from the words around it."""
        return f"{FSI}{text}{PDI}" if self.rtl and text else text

    def lines(self, text: str) -> str:
        """The message with each line the bot wrote laid out in the language's direction (quotes keep theirs)."""
        if not self.rtl:
            return text
        out, quoted = [], False
        for line in text.split("\n"):
            if not quoted and line and not line.startswith((RLM, "<blockquote>")):
                line = RLM + line
            quoted = (quoted or "<blockquote>" in line) and "</blockquote>" not in line
            out.append(line)
        return "\n".join(out)

    def datetime(self, moment: datetime, pattern: str) -> str:
        """`moment` (already in the chat's zone) in a CLDR pattern, with the locale's month and day names."""
        return format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=self.lang)

    def date(self, day: date, pattern: str) -> str:
        return format_date(day, pattern, locale=self.lang)


@lru_cache(maxsize=len(LANGUAGES))
def tr(lang: str | None = DEFAULT) -> Tr:
    """The language's messages (English, the source language, for an unknown code or a missing catalogue)."""
    lang = lang if lang in LANGUAGES else DEFAULT
    if lang == DEFAULT:
        return Tr(lang, gettext.NullTranslations())
    catalogue = Translations.load(str(LOCALE_DIR), [lang], DOMAIN)
    if not isinstance(catalogue, Translations):
        log.warning("no compiled catalogue for %r under %s (reinstall the package to build it); using English",
                    lang, LOCALE_DIR)
    return Tr(lang, catalogue)


ENGLISH = tr(DEFAULT)


def N_(message: str) -> str:
    """Mark a message for the catalogues where it is defined; it is translated where it is used."""
    return message
