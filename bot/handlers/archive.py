"""Reading the archive: /latest [@channel], /search <words>, and free text in a private chat."""

from __future__ import annotations

from typing import Any

from communique.bot.context import Context, settings_of, store_of
from communique.bot.handlers.common import arg_text, reply, translator, usage, zone
from communique.bot.targets import channel_username
from sqlite_utils import Database
from telegram import Update

from communique.i18n import Tr
from communique.messages import esc, excerpt, link, split_blocks
from communique.pipeline import channel_title
from communique.render import local_time
from communique.search import search_statements
from communique.settings import Settings
from communique.store import matches as match_store
from communique.store.statements import get_statement
from communique.store.statements import latest as latest_statements
from communique.store.subscribers import get_subscriber

RESULTS = 5


def find(db: Database, words: str) -> list[dict[str, Any]]:
    """Statements the words find (as a subscription to them would meet), best first."""
    found = [get_statement(db, row_id) for row_id in search_statements(db, words, limit=RESULTS)]
    return [row for row in found if row is not None]


def _blocks(db: Database, rows: list[dict[str, Any]], chat_id: int, settings: Settings, t: Tr) -> list[str]:
    """One block per statement: channel, local time, an excerpt, the source link and its coverage."""
    coverage = match_store.coverage(db, [row["id"] for row in rows])
    subscriber = get_subscriber(db, chat_id)
    tz = zone(subscriber, settings)
    blocks = []
    for row in rows:
        outlets = len({n["source"] for n in coverage.get(row["id"], [])})
        reported = (t.ngettext("reported by {count} outlet", "reported by {count} outlets", outlets).format(
            count=outlets) if outlets else t.gettext("not reported yet"))
        deleted = " · <i>" + t.gettext("deleted") + "</i>" if row.get("deleted_at") else ""
        blocks.append(t.lines(f"<b>{t.isolate(esc(channel_title(db, row['channel'], settings)))}</b> · "
                              f"{esc(local_time(row['date'], tz, t))}{deleted}\n"
                              f"{t.isolate(esc(excerpt(row['text'] or '', 280)))}\n"
                              + link(row.get("url"), t.gettext("Source post")) + f" · {reported}"))
    return blocks


def search_page(db: Database, words: str, chat_id: int, settings: Settings, t: Tr) -> list[str]:
    rows = find(db, words)
    if not rows:
        return [t.lines(t.gettext("Nothing in the archive matches “{words}”.").format(words=t.isolate(esc(words))))]
    heading = "🔎 <b>" + t.gettext("Best matches for “{words}”").format(words=t.isolate(esc(words))) + "</b>"
    return split_blocks([t.lines(heading), *_blocks(db, rows, chat_id, settings, t)])


def latest_page(db: Database, channel: str | None, chat_id: int, settings: Settings, t: Tr) -> list[str]:
    rows = latest_statements(db, channel=channel, limit=RESULTS)
    if not rows:
        none = (t.gettext("No statements from {channel} in the archive yet.").format(
            channel=t.isolate(f"@{esc(channel)}")) if channel else t.gettext("No statements in the archive yet."))
        return [t.lines(none)]
    heading = ("🕑 <b>" + t.gettext("Latest from {channel}").format(
        channel=t.isolate(esc(channel_title(db, channel, settings)))) + "</b>" if channel else
        "🕑 <b>" + t.gettext("Latest statements") + "</b>")
    return split_blocks([t.lines(heading), *_blocks(db, rows, chat_id, settings, t)])


async def latest(update: Update, context: Context) -> None:
    """Show the latest statements, of all channels or of one."""
    t = translator(update, context)
    text = arg_text(update)
    channel = channel_username(text) if text else None
    if text and channel is None:
        await usage(update, "latest", t.gettext("“{text}” is not a channel username.").format(
            text=t.isolate(esc(text))), t)
        return
    assert update.effective_chat is not None
    pages = await store_of(context).run(latest_page, channel, update.effective_chat.id, settings_of(context), t)
    for page in pages:
        await reply(update, page)


async def search(update: Update, context: Context) -> None:
    """Search the archive of statements for some words."""
    words = arg_text(update)
    if not words:
        t = translator(update, context)
        await usage(update, "search", t.gettext("Search for what?"), t)
        return
    await _search(update, context, words)


async def search_text(update: Update, context: Context) -> None:
    """Treat text sent without a command in a private chat as a search."""
    assert update.effective_message is not None and update.effective_message.text is not None
    await _search(update, context, update.effective_message.text.strip())


async def _search(update: Update, context: Context, words: str) -> None:
    assert update.effective_chat is not None
    t = translator(update, context)
    pages = await store_of(context).run(search_page, " ".join(words.split())[:200], update.effective_chat.id,
                                        settings_of(context), t)
    for page in pages:
        await reply(update, page)
