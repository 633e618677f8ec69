"""Telethon messages -> Communique statements and news items (pure: no client, no network).

A post's text is its message text or media caption, with text links written out as
"text (address)" as the preview-page parser does, so that the same post reads the same
whichever source delivered it.  Service messages (pins, title changes) are not posts.
An album arrives as several messages sharing a `grouped_id`; `group_albums` puts them
back together and `album_statements` orders the parts so that the captioned one comes
first, because the pipeline alerts on the first part it stores and the others merge into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from telethon import helpers
from telethon.tl import types

from communique.models import NewsItem, Statement, telegram_post_url

SOURCE = "telethon"


def is_post(message: object) -> bool:
    """True for a channel post (text or media); False for service messages and empty slots."""
    return isinstance(message, types.Message)


def post_text(message: types.Message) -> str:
    """The text or caption, with each text link's address after its words."""
    raw = message.message or ""
    links = [e for e in (message.entities or []) if isinstance(e, types.MessageEntityTextUrl)]
    if not links:
        return raw.strip()
    # Entity offsets count UTF-16 code units; Telethon's surrogate helpers make them str indices.
    text = helpers.add_surrogate(raw)
    for entity in sorted(links, key=lambda e: e.offset, reverse=True):
        end = entity.offset + entity.length
        words = helpers.del_surrogate(text[entity.offset:end]).strip()
        if not entity.url or words.rstrip("/") == entity.url.rstrip("/"):
            continue
        text = f"{text[:end]} ({entity.url}){text[end:]}"
    return helpers.del_surrogate(text).strip()


def media_kind(message: types.Message) -> str | None:
    """photo, video, document, poll, location or media; None for text and link previews."""
    media = message.media
    if media is None or isinstance(media, types.MessageMediaWebPage | types.MessageMediaEmpty):
        return None
    if isinstance(media, types.MessageMediaPhoto):
        return "photo"
    if isinstance(media, types.MessageMediaDocument):
        document = media.document
        attributes = getattr(document, "attributes", None) or []
        is_video = media.video or media.round or any(isinstance(a, types.DocumentAttributeVideo) for a in attributes)
        return "video" if is_video else "document"
    if isinstance(media, types.MessageMediaPoll):
        return "poll"
    if isinstance(media, types.MessageMediaGeo | types.MessageMediaGeoLive | types.MessageMediaVenue):
        return "location"
    return "media"


def forwarded_from(message: types.Message) -> str | None:
    """Who a forwarded post came from: the channel's title or the person's name, as Telegram shows it."""
    header = message.fwd_from
    if header is None:
        return None
    if header.from_name:
        return header.from_name
    forward = message.forward  # filled by Telethon with the entities that came with the message
    origin = forward and (forward.chat or forward.sender)
    if isinstance(origin, types.Channel | types.Chat):
        return origin.title
    if isinstance(origin, types.User):
        return " ".join(p for p in (origin.first_name, origin.last_name) if p) or origin.username or "a user"
    if isinstance(header.from_id, types.PeerChannel):
        return f"channel {header.from_id.channel_id}"
    if isinstance(header.from_id, types.PeerUser):
        return f"user {header.from_id.user_id}"
    return header.post_author or "a hidden sender"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_statement(message: object, *, channel: str, lang: str | None = None) -> Statement | None:
    """The statement for one post of `channel` (a channel key), or None for a service message."""
    if not isinstance(message, types.Message):
        return None
    return Statement(
        channel=channel,
        ext_id=str(message.id),
        text=post_text(message),
        date=_utc(message.date),
        url=telegram_post_url(channel, message.id),
        lang=lang,
        message_id=message.id,
        grouped_id=message.grouped_id,
        forwarded_from=forwarded_from(message),
        media=media_kind(message),
        views=message.views,
        edit_date=_utc(message.edit_date),
        source=SOURCE,
    )


def group_albums(messages: Iterable[object]) -> list[list[types.Message]]:
    """Posts in the order given, with consecutive parts of one album gathered into one list."""
    groups: list[list[types.Message]] = []
    for message in messages:
        if not isinstance(message, types.Message):
            continue
        last = groups[-1][-1] if groups else None
        if message.grouped_id is not None and last is not None and last.grouped_id == message.grouped_id:
            groups[-1].append(message)
        else:
            groups.append([message])
    return groups


def album_statements(parts: Sequence[types.Message], *, channel: str, lang: str | None = None) -> list[Statement]:
    """Statements for the parts of one post (one message, or an album), captioned part first."""
    statements = [s for s in (to_statement(m, channel=channel, lang=lang) for m in parts) if s is not None]
    return sorted(statements, key=lambda s: (not s.text, s.message_id or 0))


def to_news_item(parts: Sequence[types.Message], *, channel: str, outlet: str,
                 lang: str | None = None) -> NewsItem | None:
    """A news outlet's post (album parts joined) as a news item; None when it has no text to match."""
    posts = sorted((m for m in parts if isinstance(m, types.Message)), key=lambda m: m.id)
    text = "\n\n".join(t for t in (post_text(m) for m in posts) if t)
    if not text:
        return None
    first = posts[0]
    return NewsItem(
        source=outlet,
        guid=str(first.id),
        text=text,
        url=telegram_post_url(channel, first.id),
        date=_utc(first.date),
        lang=lang,
        feed=f"telegram:{channel}",
    )
