"""/language: the language the bot writes in for this chat (replies, alerts, digests), chosen with buttons."""

from __future__ import annotations

from communique.bot.context import Context, languages_of, store_of
from communique.bot.handlers.common import log, register_chat, reply, translator
from communique.bot.keyboards import LANGUAGE_PREFIX, language_keyboard
from telegram import Update
from telegram.error import BadRequest

from communique.i18n import LANGUAGES, tr
from communique.store.subscribers import update_subscriber


async def language(update: Update, context: Context) -> None:
    """Show the languages as buttons; pressing one switches the chat to it."""
    await register_chat(update, context)
    t = translator(update, context)
    await reply(update, t.gettext("Choose the language for this chat (replies, alerts and the digest):"), t=t,
                reply_markup=language_keyboard(t.lang))


async def language_button(update: Update, context: Context) -> None:
    """Switch the chat to the language whose button was pressed, and answer in it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    code = query.data.removeprefix(LANGUAGE_PREFIX)
    if code not in LANGUAGES:
        t = translator(update, context)
        await query.answer(t.gettext("This button is no longer active."))
        return
    chat_id = await register_chat(update, context)
    await store_of(context).run(update_subscriber, chat_id, language=code)
    languages_of(context)[chat_id] = code
    log.info("chat %s: language %s", chat_id, code)
    t = tr(code)
    await query.answer(t.gettext("Language: {language}").format(language=LANGUAGES[code]))
    try:
        await query.edit_message_text(t.lines(t.gettext("This chat now gets replies, alerts and the digest in "
                                                        "{language}.").format(language=LANGUAGES[code])))
    except BadRequest as exc:  # the same button twice: the message already says so
        if "not modified" not in exc.message.lower():
            raise
