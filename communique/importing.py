"""`communique import`: files of statements or news into the store, all or nothing per file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from communique.errors import ImportFormatError
from communique.models import NewsItem, Statement
from communique.pipeline import ingest_news, ingest_statement
from communique.settings import Settings
from communique.store import transaction
from monitors.feed_parse import FeedError, parse_feed
from monitors.jsonl import read_news, read_statements
from monitors.telegram_export import load_json, looks_like_export, read_export

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")


@dataclass(slots=True)
class ImportReport:
    path: Path
    kind: str
    added: int = 0
    skipped: int = 0
    alerts: int = 0
    warnings: tuple[str, ...] = ()

    def line(self) -> str:
        alerts = f", {self.alerts} alert(s) queued" if self.alerts else ""
        return f"{self.path}: {self.kind}: {self.added} added, {self.skipped} already stored{alerts}"


def read_file(path: Path, settings: Settings, *, as_kind: str | None, channel: str | None,
              now: datetime) -> tuple[str, list[Statement] | list[NewsItem], tuple[str, ...]]:
    """Parse one file completely (raising ImportFormatError on any problem) before anything is stored."""
    if as_kind == "statements" or (as_kind is None and path.suffix == ".jsonl" and channel):
        return "statements", read_statements(path), ()
    if as_kind == "news":
        if path.suffix in FEED_SUFFIXES:
            return _feed(path, now)
        return "news", read_news(path), ()
    if path.suffix == ".jsonl":
        raise ImportFormatError(path, "JSON Lines can hold statements or news: say which with --as statements|news")
    if path.suffix in FEED_SUFFIXES:
        return _feed(path, now)
    if path.suffix == ".json":
        data = load_json(path)
        if not looks_like_export(data):
            raise ImportFormatError(path, "not a Telegram Desktop export (no 'messages' or 'chats' at the top level)")

        def resolve(tg_id: int, name: str) -> str | None:
            configured = settings.channel_by_id(tg_id) or next(
                (c for c in settings.channels if c.title.casefold() == name.casefold()), None)
            return configured.username if configured else None

        chats = read_export(path, resolve, channel_override=channel)
        statements = [s for chat in chats for s in chat.statements]
        for s in statements:
            configured = settings.channel(s.channel)
            s.lang = s.lang or (configured.language if configured else None)
        return "statements", statements, ()
    raise ImportFormatError(path, "unknown file type: expected result.json (Telegram export), .jsonl, or an "
                                  "RSS/Atom file (.xml, .rss, .atom)")


def _feed(path: Path, now: datetime) -> tuple[str, list[NewsItem], tuple[str, ...]]:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read ({exc.strerror or exc})") from exc
    try:
        parsed = parse_feed(content, outlet="", feed_url=str(path), now=now)
    except FeedError as exc:
        raise ImportFormatError(path, str(exc).removeprefix(f"{path}: ")) from exc
    for item in parsed.items:
        item.source = parsed.title
    return "news", parsed.items, tuple(parsed.warnings)


def import_file(db: Database, path: Path, settings: Settings, *, now: datetime, as_kind: str | None = None,
                channel: str | None = None, alert: bool = False) -> ImportReport:
    kind, records, warnings = read_file(path, settings, as_kind=as_kind, channel=channel, now=now)
    report = ImportReport(path, kind, warnings=warnings)
    with transaction(db):
        for record in sorted(records, key=lambda r: (r.date is None, r.date or now)):
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
    return report
