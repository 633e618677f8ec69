"""The records that flow through Communique: post -> statement -> match -> alert.

Sources (monitors) produce `Statement` and `NewsItem` values; the store persists them;
the matcher produces `Match` values; the alert planner turns them into `Alert` rows
in the outbox, which the bot delivers.  All times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


def telegram_post_url(channel: str, message_id: int | str) -> str:
    """Public link to a channel post; numeric (private) channels use the /c/ form."""
    if channel.startswith("id:"):
        return f"https://t.me/c/{channel[3:]}/{message_id}"
    return f"https://t.me/{channel}/{message_id}"


def bare_channel_id(tg_id: int) -> int:
    """A channel's id without the Bot API's "-100" mark (-1001234567890 -> 1234567890)."""
    text = str(abs(int(tg_id)))
    if int(tg_id) < 0 and text.startswith("100") and len(text) >= 13:
        return int(text[3:])
    return abs(int(tg_id))


def channel_key(username: str | None = None, tg_id: int | None = None) -> str:
    """The store's natural key for a channel: its lower-case username, else `id:<bare id>`."""
    if username:
        return username.lstrip("@").lower()
    if tg_id is None:
        raise ValueError("a channel needs a username or a numeric id")
    return f"id:{bare_channel_id(tg_id)}"


@dataclass(slots=True)
class Statement:
    """One post of a watched channel (an album counts as one post).

    `channel` is the channel key (see `channel_key`); `ext_id` is the post's id in its
    channel, as text so that JSON Lines ids such as "t1" fit too.  Together they are the
    natural key: storing the same pair twice is a no-op (or an edit, if the text changed).
    """

    channel: str
    ext_id: str
    text: str
    date: datetime | None = None
    url: str | None = None
    lang: str | None = None
    message_id: int | None = None
    grouped_id: int | None = None
    forwarded_from: str | None = None
    media: str | None = None
    views: int | None = None
    edit_date: datetime | None = None
    source: str = "import"
    truncated: bool = False  # its text was cut at `inputs.MAX_STATEMENT_TEXT`
    # An album a source shows as one post (a preview page): each message's id and media kind.
    album: tuple[tuple[int, str | None], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.channel}/{self.ext_id}"

    def link(self) -> str | None:
        if self.url:
            return self.url
        if self.message_id is not None:
            return telegram_post_url(self.channel, self.message_id)
        return None


@dataclass(slots=True)
class NewsItem:
    """One news article (feed entry) or one post of a news outlet's channel.

    Natural key: `source` + `guid`; a second item with the same canonical `url` from the
    same outlet is the same article.
    """

    source: str
    guid: str
    text: str
    title: str = ""
    url: str | None = None
    date: datetime | None = None
    lang: str | None = None
    feed: str | None = None
    truncated: bool = False  # its text was cut at `inputs.MAX_NEWS_TEXT`

    @property
    def key(self) -> str:
        return f"{self.source}/{self.guid}"


@dataclass(slots=True, frozen=True)
class Candidate:
    """A news item (or statement) found for a query, with its score in [0, 1]."""

    row_id: int
    score: float
    method: str = "lexical"
    related: bool = False
    """Under the threshold for a conflict only: it reports a statement of the same kind with other figures,
    regions or day (`matching.evidence.is_related`)."""
    via: int | None = None
    """Covered through this covered report of the statement, which the candidate repeats in its own script."""
    relay: bool = False
    """When a news item is matched against the statements: the statement's own match (`matching.match_news`) may
    cover a pair through this item, a covered report in another script than the statement (which may carry
    others in its script) or an item not covered that such a report may carry."""


@dataclass(slots=True)
class Alert:
    """A message for one chat, waiting in the outbox.

    `dedupe_key` names the event (e.g. `alert:<statement key>` or `edit:<key>:<version>`):
    the outbox holds at most one row per (dedupe_key, chat_id), so replays enqueue nothing.
    """

    dedupe_key: str
    chat_id: int
    text: str
    kind: str = "alert"
    statement_id: int | None = None
    parse_mode: str = "HTML"
    photo: bytes | None = None
    extra: dict[str, object] = field(default_factory=dict)
