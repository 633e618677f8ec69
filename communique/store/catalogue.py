"""The catalogue: the channels, feeds and topics watched now, kept in the store (migration 13).

The configuration file seeds it; admins change it in chat (/addchannel, /removefeed...). The rule:

- at every start, the configuration's entries are written into the catalogue; for an entry it lists, the
  configuration's fields win (title, language, interval, keywords...);
- an entry removed in chat stays removed (a tombstone, `removed_at`), even though the configuration still
  lists it, until an admin adds it again in chat (or it leaves the configuration file: then the tombstone
  goes too, and the file can list it again);
- an entry added in chat stays until it is removed in chat, whether or not the configuration lists it;
- an entry that came only from the configuration and that the configuration no longer lists is dropped at
  the next start.

Every change bumps `catalogue_revision` in `meta`: the processes that read the catalogue (the bot, the
monitors, possibly in other processes) compare one value to know when to read it again (`LiveSettings`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlite_utils import Database

from communique.settings import ChannelConfig, FeedConfig, Settings, TopicConfig
from communique.store.meta import get_meta, set_meta
from communique.store.timefmt import to_db

Kind = Literal["channel", "feed", "topic"]
Entry = ChannelConfig | FeedConfig | TopicConfig
REVISION = "catalogue_revision"
CHAT_POSITIONS = 1_000_000  # additions in chat are listed after the configuration's entries
FOLLOW_EVERY = 15.0  # seconds between the running processes' looks at the catalogue's revision


@dataclass(frozen=True, slots=True)
class Catalogue:
    channels: tuple[ChannelConfig, ...] = ()
    feeds: tuple[FeedConfig, ...] = ()
    topics: tuple[TopicConfig, ...] = ()


def kind_of(entry: Entry) -> Kind:
    return "channel" if isinstance(entry, ChannelConfig) else "feed" if isinstance(entry, FeedConfig) else "topic"


def key_of(entry: Entry) -> str:
    if isinstance(entry, ChannelConfig):
        return entry.key
    return entry.url if isinstance(entry, FeedConfig) else entry.name


def _encode(entry: Entry) -> str:
    return json.dumps(dataclasses.asdict(entry), ensure_ascii=False, sort_keys=True)


def _decode(kind: str, text: str) -> Entry:
    fields: dict[str, Any] = json.loads(text)
    if kind == "channel":
        return ChannelConfig(**fields)
    if kind == "feed":
        return FeedConfig(**fields)
    return TopicConfig(**{**fields, "keywords": tuple(fields["keywords"])})


def revision(db: Database) -> int:
    return int(get_meta(db, REVISION) or 0)


def _bump(db: Database) -> None:
    set_meta(db, REVISION, str(revision(db) + 1))


def _configured(settings: Settings) -> list[Entry]:
    return [*settings.channels, *settings.feeds, *settings.topics]


def seed(db: Database, settings: Settings, *, now: datetime) -> bool:
    """Write the configuration's entries into the catalogue by the rule above; True if anything changed."""
    rows = {(r["kind"], r["key"]): r for r in db.query("SELECT * FROM catalogue")}
    changed = False
    listed = set()
    for position, entry in enumerate(_configured(settings)):
        kind, key, text = kind_of(entry), key_of(entry), _encode(entry)
        listed.add((kind, key))
        row = rows.get((kind, key))
        if row is not None and row["removed_at"] is not None:
            continue  # removed in chat: the tombstone wins
        if row is not None and (row["entry"], row["origin"], row["position"]) == (text, "config", position):
            continue
        db.execute("INSERT INTO catalogue (kind, key, entry, origin, position, changed_at) "
                   "VALUES (?, ?, ?, 'config', ?, ?) ON CONFLICT (kind, key) DO UPDATE SET entry = excluded.entry, "
                   "origin = 'config', position = excluded.position, changed_at = excluded.changed_at",
                   (kind, key, text, position, to_db(now)))
        changed = True
    for (kind, key), row in rows.items():  # a tombstone goes too: the file no longer has what it kept out
        if (kind, key) not in listed and row["origin"] == "config":
            db.execute("DELETE FROM catalogue WHERE kind = ? AND key = ?", (kind, key))
            changed = True
    if changed:
        _bump(db)
    return changed


def load(db: Database) -> Catalogue:
    """The entries watched now, in order: the configuration's, then those added in chat."""
    found: dict[str, list[Any]] = {"channel": [], "feed": [], "topic": []}
    for kind, text in db.execute("SELECT kind, entry FROM catalogue WHERE removed_at IS NULL "
                                 "ORDER BY kind, position, key"):
        found[kind].append(_decode(kind, text))
    return Catalogue(tuple(found["channel"]), tuple(found["feed"]), tuple(found["topic"]))


def provenance(db: Database, kind: Kind) -> tuple[set[str], list[str]]:
    """(the keys added in chat, the keys removed in chat that the configuration lists), for the admins' lists."""
    added, removed = set(), []
    for key, origin, removed_at in db.execute("SELECT key, origin, removed_at FROM catalogue WHERE kind = ? "
                                              "ORDER BY position, key", (kind,)):
        if removed_at is None and origin == "chat":
            added.add(key)
        elif removed_at is not None and origin == "config":
            removed.append(key)
    return added, removed


def find(db: Database, kind: Kind, key: str) -> Entry | None:
    """The live entry of that kind and key, if the catalogue has one (not removed)."""
    row = db.execute("SELECT entry FROM catalogue WHERE kind = ? AND key = ? AND removed_at IS NULL",
                     (kind, key)).fetchone()
    return _decode(kind, row[0]) if row else None


def add(db: Database, entry: Entry, *, by: int, now: datetime) -> bool:
    """Add `entry` (or bring back one removed); False if the catalogue already has it."""
    kind, key = kind_of(entry), key_of(entry)
    if find(db, kind, key) is not None:
        return False
    position = db.execute("SELECT coalesce(max(position), ?) + 1 FROM catalogue WHERE kind = ? AND position >= ?",
                          (CHAT_POSITIONS, kind, CHAT_POSITIONS)).fetchone()[0]
    db.execute("INSERT INTO catalogue (kind, key, entry, origin, position, removed_at, changed_by, changed_at) "
               "VALUES (?, ?, ?, 'chat', ?, NULL, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET entry = excluded.entry, "
               "origin = 'chat', position = excluded.position, removed_at = NULL, changed_by = excluded.changed_by, "
               "changed_at = excluded.changed_at", (kind, key, _encode(entry), position, by, to_db(now)))
    _bump(db)
    return True


def remove(db: Database, kind: Kind, key: str, *, by: int, now: datetime) -> Entry | None:
    """Remove the entry (a tombstone, so the configuration does not bring it back); returns what was removed,
    or None if the catalogue has no such entry."""
    entry = find(db, kind, key)
    if entry is None:
        return None
    db.execute("UPDATE catalogue SET removed_at = ?, changed_by = ?, changed_at = ? WHERE kind = ? AND key = ?",
               (to_db(now), by, to_db(now), kind, key))
    _bump(db)
    return entry


def with_catalogue(db: Database, settings: Settings) -> Settings:
    """`settings` with the catalogue's channels, feeds and topics (a store never seeded has none of its own:
    `settings` as they are)."""
    if revision(db) == 0:
        return settings
    catalogue = load(db)
    return dataclasses.replace(settings, channels=catalogue.channels, feeds=catalogue.feeds, topics=catalogue.topics)


class LiveSettings:
    """The configured Settings with the catalogue's channels, feeds and topics, read again whenever the
    catalogue's revision has moved.  `refresh` and `start` are store functions (run them on the StoreThread)."""

    def __init__(self, configured: Settings) -> None:
        self.configured = configured
        self.current = configured
        self.revision: int | None = None

    def start(self, db: Database, *, now: datetime) -> Settings:
        """Seed the catalogue from the configuration, then read it."""
        seed(db, self.configured, now=now)
        self.refresh(db)
        return self.current

    def refresh(self, db: Database) -> bool:
        """Read the catalogue again if it changed since the last read (one small query when it did not)."""
        now_at = revision(db)
        if now_at == self.revision:
            return False
        self.current = with_catalogue(db, self.configured)
        self.revision = now_at
        return True


def current_settings(db: Database, settings: Settings, *, now: datetime) -> Settings:
    """For one-shot commands: seed the catalogue from `settings` and return the settings it gives."""
    return LiveSettings(settings).start(db, now=now)
