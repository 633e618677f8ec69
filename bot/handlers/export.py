"""/export [7d | DATE] [xlsx | csv | jsonl]: the statements this chat follows, with their coverage, as a file.

The records are read on the store's thread and the file is written on a worker thread, so the
event loop never waits for either; the document goes out through the bot's reply limiter, like
any reply (`bot/reply_limiter.py`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from communique.bot.context import Context, settings_of, store_of
from communique.bot.handlers.common import arg_text, now, reply, translator, usage
from telegram import InputFile, Update

from communique.errors import UsageError
from communique.export import FORMATS, chat_records, render
from communique.i18n import ENGLISH, Tr
from communique.messages import esc
from communique.periods import EXAMPLES, parse_moment

DEFAULT_PERIOD, DEFAULT_FORMAT = "7d", "xlsx"
LONGEST = timedelta(days=92)  # a quarter: a bigger archive is for `communique export`
DOCUMENT_LIMIT = 50 * 1024 * 1024  # Telegram's limit for a bot's upload


def _options(text: str, at: datetime, t: Tr = ENGLISH) -> tuple[datetime, str]:
    """The period's start and the format from the command's words, in any order."""
    since, fmt = DEFAULT_PERIOD, DEFAULT_FORMAT
    for word in text.split():
        if word.lower() in FORMATS:
            fmt = word.lower()
        else:
            since = word
    quoted = t.isolate(since)
    try:
        start = parse_moment(since, now=at, what="period")
    except UsageError:
        raise UsageError(t.gettext("“{text}” is not a period or a date ({examples})").format(
            text=quoted, examples=t.isolate(EXAMPLES))) from None
    if start >= at:
        raise UsageError(t.gettext("“{text}” is not in the past").format(text=quoted))
    if at - start > LONGEST:
        raise UsageError(t.ngettext("“{text}” is more than {count} day; ask for a shorter period",
                                    "“{text}” is more than {count} days; ask for a shorter period",
                                    LONGEST.days).format(text=quoted, count=LONGEST.days))
    return start, fmt


async def export(update: Update, context: Context) -> None:
    """Send the chat's followed statements of a period, with edits, deletions and reports, as a file."""
    assert update.effective_chat is not None
    chat_id, at = update.effective_chat.id, now()
    t = translator(update, context)
    try:
        start, fmt = _options(arg_text(update), at, t)
    except UsageError as problem:
        await usage(update, "export", esc(str(problem)), t)
        return
    items = await store_of(context).run(chat_records, chat_id, start=start, end=at, settings=settings_of(context))
    period = t.isolate(f"{t.datetime(start, 'dd MMM HH:mm')} – {t.datetime(at, 'dd MMM y HH:mm')} UTC")
    if not items:
        await reply(update, t.gettext("Nothing to export: no statement that this chat follows was posted {period}. "
                                      "/list shows what it follows.").format(period=period), t=t)
        return
    data = await asyncio.to_thread(render, items, fmt)
    if len(data) > DOCUMENT_LIMIT:
        await reply(update, t.gettext("The export of {period} is over Telegram's 50 MB for a file; ask for a shorter "
                                      "period.").format(period=period), t=t)
        return
    reports = sum(len(item["reports"]) for item in items)
    name = f"communique-{start:%Y%m%d}-{at:%Y%m%d}.{fmt}"
    statements = t.ngettext("{count} statement", "{count} statements", len(items)).format(count=len(items))
    caption = t.gettext("{statements} and {reports}, posted {period}. Times are UTC.").format(
        statements=statements, reports=t.ngettext("{count} report", "{count} reports", reports).format(count=reports),
        period=period)
    await update.get_bot().send_document(chat_id, InputFile(data, filename=name), caption=t.lines(caption))
