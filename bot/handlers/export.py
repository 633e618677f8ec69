"""/export [7d | DATE] [xlsx | csv | jsonl]: the statements this chat follows, with their coverage, as a file.

The records are read on the store's thread and the file is written on a worker thread, so the
event loop never waits for either; the document goes out through the bot's reply limiter, like
any reply (`bot/reply_limiter.py`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from communique.bot.context import Context, settings_of, store_of
from communique.bot.handlers.common import arg_text, now, reply, usage
from telegram import InputFile, Update

from communique.errors import UsageError
from communique.export import FORMATS, chat_records, render
from communique.periods import parse_moment

DEFAULT_PERIOD, DEFAULT_FORMAT = "7d", "xlsx"
LONGEST = timedelta(days=92)  # a quarter: a bigger archive is for `communique export`
DOCUMENT_LIMIT = 50 * 1024 * 1024  # Telegram's limit for a bot's upload


def _options(text: str, at: datetime) -> tuple[datetime, str]:
    """The period's start and the format from the command's words, in any order."""
    since, fmt = DEFAULT_PERIOD, DEFAULT_FORMAT
    for word in text.split():
        if word.lower() in FORMATS:
            fmt = word.lower()
        else:
            since = word
    start = parse_moment(since, now=at, what="period")
    if start >= at:
        raise UsageError(f"“{since}” is not in the past")
    if at - start > LONGEST:
        raise UsageError(f"“{since}” is more than {LONGEST.days} days; ask for a shorter period")
    return start, fmt


async def export(update: Update, context: Context) -> None:
    """Send the chat's followed statements of a period, with edits, deletions and reports, as a file."""
    assert update.effective_chat is not None
    chat_id, at = update.effective_chat.id, now()
    try:
        start, fmt = _options(arg_text(update), at)
    except UsageError as problem:
        await usage(update, "export", str(problem))
        return
    items = await store_of(context).run(chat_records, chat_id, start=start, end=at, settings=settings_of(context))
    period = f"{start:%d %b %H:%M} – {at:%d %b %Y %H:%M} UTC"
    if not items:
        await reply(update, f"Nothing to export: no statement that this chat follows was posted {period}. "
                            "/list shows what it follows.")
        return
    data = await asyncio.to_thread(render, items, fmt)
    if len(data) > DOCUMENT_LIMIT:
        await reply(update, f"The export of {period} is over Telegram's 50 MB for a file; ask for a shorter period.")
        return
    reports = sum(len(item["reports"]) for item in items)
    name = f"communique-{start:%Y%m%d}-{at:%Y%m%d}.{fmt}"
    await update.get_bot().send_document(
        chat_id, InputFile(data, filename=name),
        caption=f"{len(items)} statement{'s' if len(items) != 1 else ''} and {reports} report"
                f"{'s' if reports != 1 else ''}, posted {period}. Times are UTC.")
