"""Configuration (`config/communique.toml`) and secrets (environment or `.env`).

Both are read once, at start, by the command that needs them, and handed down as values.
Validation names the field and what is wrong with it, e.g.
`config/communique.toml: channel[2].role: must be one of official, news (got 'offical')`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from communique.errors import ConfigError, MissingCredentials
from communique.matching.embedder import DEFAULT_EMBEDDER, EMBEDDERS
from communique.models import bare_channel_id, channel_key

ROLES = ("official", "news")
SOURCES = ("auto", "telethon", "preview")
_USERNAME = re.compile(r"^@?[A-Za-z][A-Za-z0-9_]{3,31}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
TOPIC_NAME = re.compile(r"^[\w-]{1,40}$")


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    username: str | None
    tg_id: int | None
    title: str
    language: str
    role: str = "official"
    source: str = "auto"
    country: str | None = None  # ISO 3166-1 alpha-2, for a news channel's coverage by country

    @property
    def key(self) -> str:
        return channel_key(self.username, self.tg_id)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    url: str
    outlet: str
    language: str | None = None
    interval: int = 600
    country: str | None = None  # ISO 3166-1 alpha-2 code of the outlet ("QA", "GB"), for coverage by country


@dataclass(frozen=True, slots=True)
class TopicConfig:
    name: str
    title: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Settings:
    channels: tuple[ChannelConfig, ...] = ()
    feeds: tuple[FeedConfig, ...] = ()
    topics: tuple[TopicConfig, ...] = ()
    admins: frozenset[int] = frozenset()
    digest_time: str = "08:00"
    timezone: str = "UTC"
    digest_grace_hours: float = 6.0
    backfill: int = 50
    preview_interval: int = 300
    catchup_alert_hours: float = 24.0
    preview_base_url: str = "https://t.me"
    session_path: str = "communique.session"
    match_window_hours: float = 72.0
    embeddings: str = DEFAULT_EMBEDDER
    give_up_hours: float = 24.0
    source_path: Path | None = field(default=None, compare=False)

    def channel(self, key: str) -> ChannelConfig | None:
        return next((c for c in self.channels if c.key == key), None)

    def channel_by_id(self, tg_id: int) -> ChannelConfig | None:
        wanted = bare_channel_id(tg_id)
        return next((c for c in self.channels if c.tg_id is not None and bare_channel_id(c.tg_id) == wanted), None)

    def outlet_country(self, outlet: str) -> str | None:
        """The configured country of an outlet, by a feed's outlet name or a news channel's title."""
        for feed in self.feeds:
            if feed.outlet == outlet and feed.country:
                return feed.country
        return next((c.country for c in self.channels if c.role == "news" and c.title == outlet and c.country), None)

    def topic(self, name: str) -> TopicConfig | None:
        wanted = name.strip().lower()
        return next((t for t in self.topics if t.name == wanted), None)


class _Fields:
    """Reads typed fields from one TOML table, raising ConfigError with the field's full path."""

    def __init__(self, source: str, prefix: str, table: Any) -> None:
        self.source, self.prefix = source, prefix
        if not isinstance(table, dict):
            self.fail("", f"must be a table, got {type(table).__name__}")
        self.table: dict[str, Any] = table

    def fail(self, name: str, problem: str) -> None:
        where = f"{self.prefix}.{name}" if self.prefix and name else (self.prefix or name)
        raise ConfigError(f"{self.source}: {where}: {problem}")

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ..., *, required: bool = False) -> Any:
        if name not in self.table:
            if required or default is ...:
                self.fail(name, "is required")
            return default
        value = self.table[name]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self.fail(name, f"must be {_kind_name(kind)}, got {value!r}")
        if not isinstance(value, kind):
            self.fail(name, f"must be {_kind_name(kind)}, got {value!r}")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(name, str, default)
        if value not in choices:
            self.fail(name, f"must be one of {', '.join(choices)} (got {value!r})")
        return value

    def unknown(self, known: set[str]) -> None:
        extra = sorted(set(self.table) - known)
        if extra:
            self.fail(extra[0], f"unknown field (known: {', '.join(sorted(known))})")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "a table", bool: "true/false"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _channel(source: str, index: int, table: Any) -> ChannelConfig:
    f = _Fields(source, f"channel[{index}]", table)
    f.unknown({"username", "id", "title", "language", "role", "source", "country"})
    username = f.get("username", str, None)
    tg_id = f.get("id", int, None)
    if username is None and tg_id is None:
        f.fail("username", "is required (or give a numeric id)")
    if username is not None and not _USERNAME.match(username):
        f.fail("username", f"is not a Telegram username (got {username!r})")
    return ChannelConfig(
        username=username.lstrip("@").lower() if username else None,
        tg_id=tg_id,
        title=f.get("title", str, username or str(tg_id)),
        language=f.get("language", str, "und"),
        role=f.choice("role", ROLES, "official"),
        source=f.choice("source", SOURCES, "auto"),
        country=_country(f),
    )


def _feed(source: str, index: int, table: Any) -> FeedConfig:
    f = _Fields(source, f"feed[{index}]", table)
    f.unknown({"url", "outlet", "language", "interval", "country"})
    url = f.get("url", str, required=True)
    if not re.match(r"^(https?|file)://", url):
        f.fail("url", f"must start with http://, https:// or file:// (got {url!r})")
    interval = f.get("interval", int, 600)
    if interval < 30:
        f.fail("interval", f"must be at least 30 seconds (got {interval})")
    return FeedConfig(url=url, outlet=f.get("outlet", str, required=True), language=f.get("language", str, None),
                      interval=interval, country=_country(f))


def _country(f: _Fields) -> str | None:
    """An optional ISO 3166-1 alpha-2 country code, upper-cased ("qa" -> "QA")."""
    country = f.get("country", str, None)
    if country is not None and not (len(country) == 2 and country.isascii() and country.isalpha()):
        f.fail("country", f"must be a two-letter ISO 3166 country code such as GB or QA (got {country!r})")
    return country.upper() if country else None


def _topic(source: str, index: int, table: Any) -> TopicConfig:
    f = _Fields(source, f"topic[{index}]", table)
    f.unknown({"name", "title", "keywords"})
    name = f.get("name", str, required=True).strip().lower()
    if not TOPIC_NAME.match(name):
        f.fail("name", f"must be 1-40 letters, digits, '-' or '_' (got {name!r})")
    raw = f.get("keywords", (dict, list), required=True)
    words: list[str] = []
    for lang, items in (raw.items() if isinstance(raw, dict) else [("", raw)]):
        if not isinstance(items, list) or not all(isinstance(w, str) and w.strip() for w in items):
            f.fail(f"keywords{'.' + lang if lang else ''}", "must be a list of non-empty strings")
        words.extend(w.strip() for w in items)
    if not words:
        f.fail("keywords", "must name at least one keyword")
    return TopicConfig(name=name, title=f.get("title", str, name), keywords=tuple(words))


def _unique(source: str, section: str, keys: list[str]) -> None:
    """The same channel, feed or topic listed twice would be watched or polled twice."""
    seen: set[str] = set()
    for i, key in enumerate(keys):
        if key in seen:
            raise ConfigError(f"{source}: {section}[{i}]: {key!r} is listed twice")
        seen.add(key)


def check_zone(name: str, where: str) -> None:
    """Raise ConfigError naming `where` unless `name` is an IANA time zone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: is not an IANA time zone such as Europe/Moscow (got {name!r})") from None


def parse_settings(data: Mapping[str, Any], source: str = "<config>") -> Settings:
    """Validate a parsed TOML document into Settings."""
    top = _Fields(source, "", dict(data))
    top.unknown({"admins", "channel", "feed", "topic", "digest", "monitor", "matching", "delivery"})
    admins = top.get("admins", list, [])
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in admins):
        top.fail("admins", "must be a list of numeric Telegram user ids")
    digest = _Fields(source, "digest", top.get("digest", dict, {}))
    digest.unknown({"time", "timezone", "grace_hours"})
    digest_time = digest.get("time", str, "08:00")
    if not _HHMM.match(digest_time):
        digest.fail("time", f"must be HH:MM, 24-hour (got {digest_time!r})")
    timezone = digest.get("timezone", str, "UTC")
    check_zone(timezone, f"{source}: digest.timezone")
    monitor = _Fields(source, "monitor", top.get("monitor", dict, {}))
    monitor.unknown({"backfill", "preview_interval", "preview_base_url", "session", "catchup_alert_hours"})
    matching = _Fields(source, "matching", top.get("matching", dict, {}))
    matching.unknown({"window_hours", "embeddings"})
    embeddings = matching.get("embeddings", str, DEFAULT_EMBEDDER)
    if embeddings not in ("off", *EMBEDDERS):
        matching.fail("embeddings", f"must be \"off\" or one of {', '.join(EMBEDDERS)} (got {embeddings!r})")
    delivery = _Fields(source, "delivery", top.get("delivery", dict, {}))
    delivery.unknown({"give_up_hours"})
    give_up_hours = float(delivery.get("give_up_hours", (int, float), 24.0))
    if give_up_hours <= 0:
        delivery.fail("give_up_hours", f"must be more than 0 (got {give_up_hours:g})")
    channels = tuple(_channel(source, i, t) for i, t in enumerate(top.get("channel", list, [])))
    _unique(source, "channel", [c.key for c in channels])
    feeds = tuple(_feed(source, i, t) for i, t in enumerate(top.get("feed", list, [])))
    _unique(source, "feed", [f.url for f in feeds])
    topics = tuple(_topic(source, i, t) for i, t in enumerate(top.get("topic", list, [])))
    _unique(source, "topic", [t.name for t in topics])
    return Settings(
        channels=channels,
        feeds=feeds,
        topics=topics,
        admins=frozenset(admins),
        digest_time=digest_time,
        timezone=timezone,
        digest_grace_hours=float(digest.get("grace_hours", (int, float), 6.0)),
        backfill=monitor.get("backfill", int, 50),
        preview_interval=monitor.get("preview_interval", int, 300),
        catchup_alert_hours=float(monitor.get("catchup_alert_hours", (int, float), 24.0)),
        preview_base_url=monitor.get("preview_base_url", str, "https://t.me").rstrip("/"),
        session_path=monitor.get("session", str, "communique.session"),
        match_window_hours=float(matching.get("window_hours", (int, float), 72.0)),
        embeddings=embeddings,
        give_up_hours=give_up_hours,
    )


def load_settings(path: Path) -> Settings:
    """Read and validate the TOML configuration at `path`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror or exc})") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    settings = parse_settings(data, str(path))
    return Settings(**{**{f: getattr(settings, f) for f in settings.__dataclass_fields__}, "source_path": path})


@dataclass(frozen=True, slots=True)
class Secrets:
    """Credentials, only ever from the environment (which `.env` may fill at start)."""

    bot_token: str | None = None
    api_id: int | None = None
    api_hash: str | None = None
    session: str | None = None
    bot_api_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        env = os.environ if environ is None else environ
        api_id_text = env.get("TELEGRAM_API_ID", "").strip()
        if api_id_text and not api_id_text.isdigit():
            raise ConfigError(f"TELEGRAM_API_ID must be the numeric app id from my.telegram.org (got {api_id_text!r})")
        return cls(
            bot_token=env.get("TELEGRAM_BOT_TOKEN", "").strip() or None,
            api_id=int(api_id_text) if api_id_text else None,
            api_hash=env.get("TELEGRAM_API_HASH", "").strip() or None,
            session=env.get("TELEGRAM_SESSION", "").strip() or None,
            bot_api_url=env.get("TELEGRAM_BOT_API_URL", "").strip() or None,
        )

    @property
    def has_user_client(self) -> bool:
        return self.api_id is not None and self.api_hash is not None

    def require_bot(self) -> str:
        if not self.bot_token:
            raise MissingCredentials(["TELEGRAM_BOT_TOKEN"], "The bot")
        return self.bot_token

    def require_user_client(self) -> tuple[int, str]:
        missing = [name for name, value in (("TELEGRAM_API_ID", self.api_id), ("TELEGRAM_API_HASH", self.api_hash))
                   if value is None]
        if missing:
            raise MissingCredentials(missing, "The Telethon channel monitor")
        assert self.api_id is not None and self.api_hash is not None
        return self.api_id, self.api_hash
