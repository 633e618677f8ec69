"""What Communique accepts from files and feeds: checks shared by every reader (and by links in messages).

Readers (JSON Lines, Telegram exports, RSS/Atom) turn what fails here into one line naming
the file, the line or entry, and the problem; nothing half-read is ever stored.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from communique.models import channel_key

# Dates outside these bounds are typing errors or placeholders ("0001-01-01", "9999-12-31"), and the
# time-window arithmetic of matching (a date plus or minus days) would overflow near datetime's own limits.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# A record's text is capped, and cut at the cap with a note: Telegram's own limit is 4,096 characters a message
# (1,024 a caption), so a statement gets room for several (an album's captions together); an article gets room
# for a long feature, far more than matching reads.  A JSON Lines line longer than MAX_LINE is refused unread.
MAX_STATEMENT_TEXT = 16_384
MAX_NEWS_TEXT = 32_768
TRUNCATION_NOTE = " […]"
MAX_LINE = 1_048_576
MAX_MESSAGE_ID = 2**63 - 1  # SQLite's INTEGER; Telegram's message ids are far smaller
_USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")
_NUMERIC_CHANNEL = re.compile(r"(?:id:)?(-?[0-9]{1,19})")


def checked_date(date: datetime) -> datetime:
    """`date` (timezone-aware) if it is between 1900 and 2199; ValueError otherwise."""
    if not EARLIEST <= date < LATEST:
        raise ValueError(f"{date.date().isoformat()} is out of range (1900-01-01 to 2199-12-31)")
    return date


def from_unix(seconds: float) -> datetime:
    """A Unix time in seconds as an aware UTC datetime; ValueError if it is no date between 1900 and 2199."""
    if not math.isfinite(seconds) or not EARLIEST.timestamp() <= seconds < LATEST.timestamp():
        raise ValueError(f"Unix time {seconds!r} is out of range (1900-01-01 to 2199-12-31)")
    return datetime.fromtimestamp(seconds, UTC)


def capped(text: str, limit: int) -> tuple[str, bool]:
    """`text` within `limit` characters, cut at a word and ending with TRUNCATION_NOTE if it was longer;
    and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[: limit - len(TRUNCATION_NOTE)]
    space = cut.rfind(" ", len(cut) - 200)
    return (cut[:space] if space > 0 else cut).rstrip() + TRUNCATION_NOTE, True


def message_id(text: str) -> int | None:
    """A post's number from an id written in ASCII digits ("²" is not one); None for another id ("t1");
    ValueError for a number too large to be a message id."""
    if not (text.isascii() and text.isdigit()):
        return None
    if len(text) > 19 or int(text) > MAX_MESSAGE_ID:
        raise ValueError(f"id {text[:30]}{'…' if len(text) > 30 else ''} is too large for a message id")
    return int(text)


def unicode_text(value: str) -> str:
    """`value` if it can be stored as UTF-8; ValueError for a lone surrogate ("\\ud800"), which is no character."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"holds a lone surrogate ({value[exc.start]!r}), which is not text") from None
    return value


def is_http_url(url: str) -> bool:
    """Whether `url` is an http or https address with a host: the only links Communique stores and sends
    (a "javascript:" or "data:" link in an alert would run in the reader's client)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # an unbalanced bracket in the host
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def http_url(url: str) -> str:
    """`url` if it is an http(s) address; ValueError otherwise."""
    if not is_http_url(url):
        raise ValueError(f"{url[:60]!r} is not an http(s) link")
    return url.strip()


def channel_name(name: str) -> str:
    """The store's key for a channel given as a Telegram username ("mod_russia", "@mod_russia") or a
    numeric id ("1234567890", "-1001234567890", "id:1234567890"); ValueError for anything else."""
    if found := _USERNAME.fullmatch(name.strip()):
        return channel_key(found.group(1))
    if (found := _NUMERIC_CHANNEL.fullmatch(name.strip())) and int(found.group(1)) != 0:
        return channel_key(None, int(found.group(1)))
    raise ValueError(f"{name[:60]!r} is not a Telegram username (5 to 32 letters, digits or _, starting with a "
                     "letter) or a numeric channel id")
