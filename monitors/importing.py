"""`communique import`: files of statements or news into the store, all or nothing per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from communique.monitors.feed_parse import FeedError, ParsedFeed, canonical_url, parse_feed
from communique.monitors.jsonl import read_news, read_statements
from communique.monitors.telegram_export import load_json, looks_like_export, read_export
from sqlite_utils import Database

from communique.channel_identity import note_exported_channel, resolve_export_channel, unresolved_key
from communique.errors import ImportFormatError
from communique.inputs import MAX_NEWS_TEXT, MAX_STATEMENT_TEXT
from communique.models import NewsItem, Statement, channel_key
from communique.pipeline import ingest_news, ingest_statement
from communique.progress import Report
from communique.settings import FeedConfig, Settings
from communique.store import transaction

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")


@dataclass(slots=True)
class Parsed:
    """A file read completely: its records, warnings, and the names of the channels an export holds."""

    kind: str
    records: list[Statement] | list[NewsItem]
    warnings: tuple[str, ...] = ()
    channel_names: dict[str, str] = field(default_factory=dict)  # channel key -> the export's name


@dataclass(slots=True)
class ImportReport:
    path: Path
    kind: str
    added: int = 0
    skipped: int = 0
    alerts: int = 0
    truncated: int = 0
    warnings: tuple[str, ...] = ()

    def line(self) -> str:
        alerts = f", {self.alerts} alert(s) queued" if self.alerts else ""
        cap = MAX_STATEMENT_TEXT if self.kind == "statements" else MAX_NEWS_TEXT
        cut = f", {self.truncated} text(s) truncated to {cap:,} characters" if self.truncated else ""
        return f"{self.path}: {self.kind}: {self.added} added, {self.skipped} already stored{alerts}{cut}"


def read_file(db: Database, path: Path, settings: Settings, *, as_kind: str | None, channel: str | None,
              now: datetime, tz: str | None = None, lang: str | None = None) -> Parsed:
    """Parse one file completely (raising ImportFormatError on any problem) before anything is stored.

    `lang` is the language of the records that do not give their own; without it, a feed or
    channel that is configured gives its language.
    """
    if as_kind == "statements" or (as_kind is None and path.suffix == ".jsonl" and channel):
        return Parsed("statements", _with_lang(read_statements(path), lang))
    if as_kind == "news":
        if path.suffix in FEED_SUFFIXES:
            return _feed(path, settings, now, lang)
        return Parsed("news", _with_lang(read_news(path), lang))
    if path.suffix == ".jsonl":
        raise ImportFormatError(path, "JSON Lines can hold statements or news: say which with --as statements|news")
    if path.suffix in FEED_SUFFIXES:
        return _feed(path, settings, now, lang)
    if path.suffix == ".json":
        return _export(db, path, settings, channel=channel, tz=tz, lang=lang)
    raise ImportFormatError(path, "unknown file type: expected result.json (Telegram export), .jsonl, or an "
                                  "RSS/Atom file (.xml, .rss, .atom)")


R = TypeVar("R", Statement, NewsItem)


def _with_lang(records: list[R], lang: str | None) -> list[R]:
    for record in records:
        record.lang = record.lang or lang
    return records


def _export(db: Database, path: Path, settings: Settings, *, channel: str | None,
            tz: str | None, lang: str | None) -> Parsed:
    """An export's posts under the watched channel's key (see `communique.channel_identity`)."""
    data = load_json(path)
    if not looks_like_export(data):
        raise ImportFormatError(path, "not a Telegram Desktop export (no 'messages' or 'chats' at the top level)")

    def resolve(tg_id: int, name: str, chat_type: str) -> str:
        if channel:
            return channel_key(channel)
        return resolve_export_channel(db, settings, tg_id, name) or unresolved_key(tg_id, chat_type)

    zone_name, zone_source = (tz, "--tz") if tz else (settings.timezone, "[digest] timezone")
    chats = read_export(path, resolve, zone=ZoneInfo(zone_name))
    notes = []
    for chat in chats:
        for s in chat.statements:
            configured = settings.channel(s.channel)
            s.lang = s.lang or lang or (configured.language if configured else None)
        if chat.local_times:
            notes.append(f"{chat.name}: {chat.local_times} post time(s) have no UTC offset (an older export); read "
                         f"as {zone_name} time ({zone_source}); --tz names the zone of the computer that exported")
    return Parsed("statements", [s for chat in chats for s in chat.statements], tuple(notes),
                  {chat.channel: chat.name for chat in chats})


def _feed(path: Path, settings: Settings, now: datetime, lang: str | None) -> Parsed:
    """A feed file's items, under the configured outlet if the feed is one we poll (so an article
    polled and imported is one row), in `lang`, else the configured feed's language."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read ({exc.strerror or exc})") from exc
    parsed = _parse(path, content, now, lang)
    configured = polled_feed(parsed, settings)
    if configured is not None and lang is None and configured.language:
        parsed = _parse(path, content, now, configured.language)  # also picks its legacy encoding
    for item in parsed.items:
        item.source = configured.outlet if configured is not None else parsed.title
    return Parsed("news", parsed.items, tuple(parsed.warnings))


def _parse(path: Path, content: bytes, now: datetime, lang: str | None) -> ParsedFeed:
    try:
        return parse_feed(content, outlet="", feed_url=str(path), language=lang, now=now)
    except FeedError as exc:
        raise ImportFormatError(path, str(exc).removeprefix(f"{path}: ")) from exc


def polled_feed(parsed: ParsedFeed, settings: Settings) -> FeedConfig | None:
    """The configured feed a feed file is a copy of: by the address it gives itself, else by its
    title as the outlet's name."""
    by_url = next((f for f in settings.feeds if parsed.self_url and canonical_url(f.url) == parsed.self_url), None)
    return by_url or next((f for f in settings.feeds if f.outlet.casefold() == parsed.title.casefold()), None)


def import_file(db: Database, path: Path, settings: Settings, *, now: datetime, as_kind: str | None = None,
                channel: str | None = None, alert: bool = False, tz: str | None = None,
                lang: str | None = None, progress: Report | None = None) -> ImportReport:
    """Import one file in one transaction; `tz` names the zone of an older export's offset-less times.
    `progress` hears how many of the file's records are stored, as they are."""
    parsed = read_file(db, path, settings, as_kind=as_kind, channel=channel, now=now, tz=tz, lang=lang)
    report = ImportReport(path, parsed.kind, truncated=sum(record.truncated for record in parsed.records),
                          warnings=parsed.warnings)
    with transaction(db):
        for key, name in parsed.channel_names.items():
            note_exported_channel(db, key, name)
        for done, record in enumerate(sorted(parsed.records, key=lambda r: (r.date is None, r.date or now)), 1):
            if isinstance(record, Statement):
                outcome = ingest_statement(db, record, settings=settings, now=now, alert=alert)
                new = outcome.outcome == "new"
                report.alerts += outcome.alerts
            else:
                news_outcome = ingest_news(db, record, settings=settings, now=now, notify=alert)
                new = news_outcome.is_new
                report.alerts += news_outcome.followups
            report.added += new
            report.skipped += not new
            if progress:
                progress(done, len(parsed.records), "records imported")
    return report
