"""Administrators' commands (user ids from `admins` in the configuration): /channels, /feeds, /stats.

The lists are the live catalogue (`settings_of` reads it from the store); changes are in `catalogue.py`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from communique.bot.context import Context, settings_of, store_of
from communique.bot.handlers.common import log, now, reply, translator
from sqlite_utils import Database
from telegram import Update
from telegram.error import BadRequest, Forbidden

from communique.coverage_stats import STATS_PERIOD, last_days, stats_lines
from communique.embedding_index import progress as embedding_progress
from communique.i18n import ENGLISH, Tr
from communique.messages import esc, split_blocks
from communique.settings import Settings
from communique.store.catalogue import Entry, Kind, key_of, provenance


def channel_rows(db: Database, settings: Settings, t: Tr = ENGLISH) -> list[str]:
    state = {row["key"]: row for row in db.query("SELECT * FROM channels")}
    counts = {row[0]: (row[1], row[2]) for row in db.execute(
        "SELECT channel, count(*), max(date) FROM statements GROUP BY channel").fetchall()}
    blocks = []
    for channel in settings.channels:
        row: dict[str, Any] = state.get(channel.key, {})
        count, last = counts.get(channel.key, (0, None))
        line = (f"<b>{t.isolate(esc(channel.title))}</b> {t.isolate('@' + esc(channel.key))} · {channel.role} · "
                + t.gettext("source {source}").format(source=channel.source) + "\n  "
                + t.ngettext("{count} statement, last {last}, last message id {id}",
                             "{count} statements, last {last}, last message id {id}", count).format(
                    count=count, last=t.isolate(esc(last)) if last else t.gettext("never"),
                    id=row.get("last_message_id", 0)))
        if row.get("last_error"):
            line += f"\n  ⚠️ {esc(row['last_error'])} ({esc(row.get('last_error_at') or '')})"
        blocks.append(line)
    return _with_provenance(db, "channel", blocks or [t.gettext("No channels are watched.")], settings.channels, t)


def feed_rows(db: Database, settings: Settings, t: Tr = ENGLISH) -> list[str]:
    counts = {row[0]: (row[1], row[2]) for row in db.execute(
        "SELECT coalesce(feed, source), count(*), max(date) FROM news GROUP BY coalesce(feed, source)").fetchall()}
    blocks = []
    for feed in settings.feeds:
        count, last = counts.get(feed.url, counts.get(feed.outlet, (0, None)))
        language = feed.language or t.gettext("any language")
        blocks.append(f"<b>{t.isolate(esc(feed.outlet))}</b> ({esc(language)}) "
                      + t.gettext("every {seconds} s").format(seconds=feed.interval)
                      + f"\n  {t.isolate(esc(feed.url))}\n  "
                      + t.ngettext("{count} item, newest {last}", "{count} items, newest {last}", count).format(
                          count=count, last=t.isolate(esc(last)) if last else t.gettext("never")))
    return _with_provenance(db, "feed", blocks or [t.gettext("No feeds are polled.")], settings.feeds, t)


def _with_provenance(db: Database, kind: Kind, blocks: list[str], entries: Sequence[Entry],
                     t: Tr = ENGLISH) -> list[str]:
    """Mark the entries added in chat, and name those removed in chat that the configuration still lists
    (the reason they are missing here)."""
    added, removed = provenance(db, kind)
    added_in_chat = " · " + t.gettext("added in chat") + "\n"
    marked = [block.replace("\n", added_in_chat, 1) if key_of(entry) in added else block
              for block, entry in zip(blocks, entries, strict=False)] + blocks[len(entries):]
    if removed:
        names = t.join(t.isolate(esc(f"@{key}" if kind == "channel" else key)) for key in removed)
        marked.append(t.gettext("Removed in chat, though the configuration lists them (/add{kind} brings one back): "
                                "{names}").format(kind=kind, names=names))
    return marked


def _value(db: Database, sql: str) -> Any:
    return db.execute(sql).fetchone()[0]


def _grouped(db: Database, sql: str) -> str:
    return ", ".join(f"{key} {count}" for key, count in db.execute(sql).fetchall()) or "none"


def stats_rows(db: Database, t: Tr = ENGLISH) -> list[str]:
    """The store's counts; the states and kinds are the store's own words, as in the logs and the SQL."""
    statements = _value(db, "SELECT count(*) FROM statements")
    deleted = _value(db, "SELECT count(*) FROM statements WHERE deleted_at IS NOT NULL")
    oldest = _value(db, "SELECT min(created_at) FROM outbox WHERE state = 'pending'")
    return [
        t.gettext("Statements: {count} ({deleted} deleted)").format(count=statements, deleted=deleted),
        t.gettext("News items: {news}, matches: {matches}").format(news=_value(db, "SELECT count(*) FROM news"),
                                                                  matches=_value(db, "SELECT count(*) FROM matches")),
        t.gettext("Subscribers: {counts}").format(counts=t.isolate(_grouped(
            db, "SELECT CASE WHEN active = 0 THEN 'inactive' WHEN paused = 1 THEN 'paused' "
                "ELSE 'active' END, count(*) FROM subscribers GROUP BY 1 ORDER BY 1"))),
        t.gettext("Subscriptions: {counts}").format(counts=t.isolate(_grouped(
            db, "SELECT kind, count(*) FROM subscriptions GROUP BY kind ORDER BY kind"))),
        t.gettext("Outbox: {counts}").format(counts=t.isolate(_grouped(
            db, "SELECT state, count(*) FROM outbox GROUP BY state ORDER BY state"))),
        t.gettext("Oldest pending message: {time}").format(time=t.isolate(esc(oldest)) if oldest else
                                                           t.gettext("none")),
        *([t.isolate(esc(line))] if (line := embedding_progress(db)) else []),
    ]


def coverage_rows(db: Database, settings: Settings, at: datetime, t: Tr = ENGLISH) -> list[str]:
    """The speed and spread of coverage of the statements posted in the last 30 days."""
    summary = last_days(db, now=at, settings=settings)
    heading = t.ngettext("Coverage, last {count} day", "Coverage, last {count} days", STATS_PERIOD.days).format(
        count=STATS_PERIOD.days)
    return [f"<b>{heading}</b>", *(esc(line) for line in stats_lines(summary, t=t))]


def stats_page(db: Database, settings: Settings, at: datetime, t: Tr = ENGLISH) -> list[str]:
    return [*stats_rows(db, t), "", *coverage_rows(db, settings, at, t)]


async def channels(update: Update, context: Context) -> None:
    """Admin: the watched channels, their statements and last errors."""
    t = translator(update, context)
    blocks = await store_of(context).run(channel_rows, settings_of(context), t)
    for page in split_blocks(["<b>" + t.gettext("Watched channels") + "</b>", *blocks]):
        await reply(update, page, t=t)


async def feeds(update: Update, context: Context) -> None:
    """Admin: the news feeds and what they have brought in."""
    t = translator(update, context)
    blocks = await store_of(context).run(feed_rows, settings_of(context), t)
    for page in split_blocks(["<b>" + t.gettext("News feeds") + "</b>", *blocks]):
        await reply(update, page, t=t)


async def stats(update: Update, context: Context) -> None:
    """Admin: counts, the delivery queue and the speed of coverage (privately, if asked in a group)."""
    t = translator(update, context)
    rows = await store_of(context).run(stats_page, settings_of(context), now(), t)
    text = t.lines("\n".join(["<b>" + t.gettext("Communique statistics") + "</b>", *rows]))
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type == "private":
        await reply(update, text)
        return
    try:
        await context.bot.send_message(user.id, text)
    except (Forbidden, BadRequest) as exc:  # the admin never opened a private chat with the bot
        log.info("could not send /stats to admin %s privately: %s", user.id, exc)
        await reply(update, t.gettext("I cannot write to you privately: open a chat with me, press Start, then ask "
                                      "again."), t=t)
        return
    await reply(update, t.gettext("I have sent you the statistics in a private message."), t=t)
