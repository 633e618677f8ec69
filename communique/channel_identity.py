"""Which watched channel an imported export belongs to, so its posts share the live sources' key.

Telethon and the preview pages store a configured channel's posts under `ChannelConfig.key`
(its username, or `id:<bare id>` without one).  A Telegram Desktop export knows only the
channel's numeric id and its name, so it is resolved, in this order, by
- its id against the configured ids (Telethon's `-100…` form and bare ids alike) and against the
  ids the Telethon monitor has recorded for configured channels;
- its name against the configured titles and usernames (case and spacing aside).
Older exports (Telegram Desktop before 2.x) wrote a channel's id shifted by 2^33, its internal
peer id (10083966286 for channel 1494031694); such an id is tried without the shift too, and a
channel that resolves to nothing keeps the unshifted id in its `id:<n>` key.

A channel first imported under `id:<n>` and configured later is moved to its configured key
when the Telethon monitor first reads it and learns its id (`adopt_imported`).
"""

from __future__ import annotations

from sqlite_utils import Database

from communique.models import bare_channel_id, channel_key, telegram_post_url
from communique.settings import Settings
from communique.store.statements import advance_channel, last_message_id

LEGACY_CHANNEL_SHIFT = 2**33
_SHIFTED_TYPES = frozenset({"public_channel", "private_channel", "public_supergroup", "private_supergroup"})


def candidate_ids(tg_id: int) -> list[int]:
    """The bare channel ids an export's chat id may stand for: itself, and itself unshifted."""
    bare = bare_channel_id(tg_id)
    return [bare, bare - LEGACY_CHANNEL_SHIFT] if bare > LEGACY_CHANNEL_SHIFT else [bare]


def resolve_export_channel(db: Database, settings: Settings, tg_id: int, name: str) -> str | None:
    """The key of the watched channel an export chat is, or None when it is none of them."""
    wanted = candidate_ids(tg_id)
    for candidate in wanted:
        configured = settings.channel_by_id(candidate)
        if configured is not None:
            return configured.key
    configured_keys = {c.key for c in settings.channels}
    for key, known_id in db.execute("SELECT key, tg_id FROM channels WHERE tg_id IS NOT NULL"):
        if key in configured_keys and bare_channel_id(known_id) in wanted:
            return key
    folded = _folded(name)
    for configured in settings.channels:
        if folded in {_folded(configured.title), _folded(configured.username or "")}:
            return configured.key
    return None


def unresolved_key(tg_id: int, chat_type: str) -> str:
    """`id:<n>` for a chat no watched channel claims; a legacy channel id loses its shift."""
    ids = candidate_ids(tg_id)
    return channel_key(None, ids[-1] if chat_type in _SHIFTED_TYPES else ids[0])


def note_exported_channel(db: Database, key: str, title: str) -> None:
    """Keep an export's channel name (alerts and digests show it), without overriding a known one."""
    tg_id = int(key[3:]) if key.startswith("id:") else None
    db.execute(
        "INSERT INTO channels (key, tg_id, title) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
        "tg_id = coalesce(channels.tg_id, excluded.tg_id), title = coalesce(channels.title, excluded.title)",
        (key, tg_id, title),
    )


def adopt_imported(db: Database, key: str, tg_id: int) -> int:
    """Move the posts an export stored under `id:<tg_id>` to the channel's key; returns how many moved.

    A post that the new key already holds stays where it was (it is not moved over it).
    """
    old = channel_key(None, tg_id)
    if old == key:
        return 0
    moved = db.execute("UPDATE OR IGNORE statements SET channel = ? WHERE channel = ?", (key, old)).rowcount
    db.execute("UPDATE OR IGNORE statement_parts SET channel = ? WHERE channel = ?", (key, old))
    if moved:
        rows = db.execute("SELECT id, message_id FROM statements WHERE channel = ? AND url LIKE 'https://t.me/c/%' "
                          "AND message_id IS NOT NULL", (key,)).fetchall()
        for statement_id, message_id in rows:
            db.execute("UPDATE statements SET url = ? WHERE id = ?", (telegram_post_url(key, message_id),
                                                                      statement_id))
        advance_channel(db, key, last_message_id(db, old))
    return moved


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())
