"""The bot's update handlers, registered on an Application by `register`."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from typing import Any

from communique.bot.context import Context
from communique.bot.handlers import (
    admin,
    archive,
    catalogue,
    export,
    identity,
    language,
    membership,
    preferences,
    subscriptions,
)
from communique.bot.handlers.common import (
    COMMANDS,
    ONLY_GROUP_ADMINS,
    is_admin,
    log,
    may_change_settings,
    reply,
    translator,
)
from communique.bot.keyboards import CHANGE_PREFIX, LANGUAGE_PREFIX, TOPIC_PREFIX
from telegram import BotCommand, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from communique.i18n import ENGLISH, Tr
from communique.messages import esc

Handler = Callable[[Update, Context], Awaitable[None]]
HANDLERS: dict[str, Handler] = {
    "start": subscriptions.start, "help": subscriptions.help_, "topics": subscriptions.topics,
    "subscribe": subscriptions.subscribe, "unsubscribe": subscriptions.unsubscribe, "list": subscriptions.list_,
    "digest": preferences.digest, "timezone": preferences.timezone, "updates": preferences.updates,
    "pause": preferences.pause, "resume": preferences.resume, "stop": preferences.stop,
    "latest": archive.latest, "search": archive.search, "export": export.export, "whoami": identity.whoami,
    "language": language.language,
    "channels": admin.channels, "feeds": admin.feeds, "stats": admin.stats,
    "addchannel": catalogue.add_channel, "removechannel": catalogue.remove_channel,
    "addfeed": catalogue.add_feed, "removefeed": catalogue.remove_feed,
    "addtopic": catalogue.add_topic, "removetopic": catalogue.remove_topic,
}


# Handled beside the others rather than in turn: checking a feed may wait on a slow site for a while.
SLOW = frozenset({"addfeed"})
CHANGES_SETTINGS = frozenset({"subscribe", "unsubscribe", "digest", "timezone", "updates", "pause", "resume", "stop",
                              "language"})


def group_admins_only(handler: Handler) -> Handler:
    """Refuse a settings change asked by a group member who is not one of its administrators."""

    async def guarded(update: Update, context: Context) -> None:
        if await may_change_settings(update, context):
            await handler(update, context)
            return
        t = translator(update, context)
        if update.callback_query is not None:
            await update.callback_query.answer(t.gettext(ONLY_GROUP_ADMINS), show_alert=True)
        else:
            await reply(update, t.gettext(ONLY_GROUP_ADMINS), t=t)

    guarded.__doc__ = handler.__doc__
    return guarded


def bot_admins_only(name: str, handler: Handler) -> Handler:
    """Refuse an admin command, politely, to anyone not among the configured administrators."""

    async def guarded(update: Update, context: Context) -> None:
        if is_admin(update, context):
            await handler(update, context)
            return
        user = update.effective_user
        log.info("refused /%s to user %s", name, user.id if user else None)
        t = translator(update, context)
        await reply(update, t.gettext("Sorry, /{command} is only for this bot's administrators.").format(
            command=name), t=t)

    guarded.__doc__ = handler.__doc__
    return guarded


def menu(*, admin: bool = False, t: Tr = ENGLISH) -> list[BotCommand]:
    """The command menu (setMyCommands) in `t`'s language: everyone's commands, plus the admin commands for admins."""
    return [BotCommand(c.name, t.gettext(c.about)) for c in COMMANDS if admin or not c.admin]


async def unknown(update: Update, context: Context) -> None:
    """Answer a command the bot does not have with a hint (in a group, only if it names this bot)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    name, _, addressee = message.text.split()[0][1:].partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # another bot's command
    if not addressee and message.chat.type != "private":
        return  # in a group, a bare command may be for another bot
    t = translator(update, context)
    close = difflib.get_close_matches(name.lower(), list(HANDLERS), n=1, cutoff=0.6)
    text = t.gettext("I don't know /{command}.").format(command=esc(name))
    if close:
        text += " " + t.gettext("Did you mean /{command}?").format(command=close[0])
    await reply(update, text + " " + t.gettext("/help lists the commands."), t=t)


async def stale_button(update: Update, context: Context) -> None:
    """Answer a press on a button this bot no longer understands, so the client stops waiting."""
    assert update.callback_query is not None
    t = translator(update, context)
    await update.callback_query.answer(t.gettext("This button is no longer active."))


async def error(update: object, context: Context) -> None:
    """Log an error raised by a handler and, if the update came from a chat, say the command failed."""
    if isinstance(context.error, Forbidden):
        log.info("could not answer: %s", context.error)
        return
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        t = translator(update, context)
        try:
            await context.bot.send_message(update.effective_chat.id, t.lines(t.gettext(
                "Sorry, that failed on our side; please try again in a moment.")), parse_mode=None)
        except TelegramError as exc:
            log.warning("could not report the error to chat %s: %s", update.effective_chat.id, exc)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    for command in COMMANDS:
        handler = HANDLERS[command.name]
        if command.admin:
            handler = bot_admins_only(command.name, handler)
        elif command.name in CHANGES_SETTINGS:
            handler = group_admins_only(handler)
        application.add_handler(CommandHandler(command.name, handler, block=command.name not in SLOW))
    application.add_handler(CallbackQueryHandler(group_admins_only(subscriptions.topic_button),
                                                 pattern=f"^{TOPIC_PREFIX}"))
    application.add_handler(CallbackQueryHandler(group_admins_only(language.language_button),
                                                 pattern=f"^{LANGUAGE_PREFIX}"))
    application.add_handler(CallbackQueryHandler(catalogue.change_button, pattern=f"^{CHANGE_PREFIX}"))
    application.add_handler(CallbackQueryHandler(stale_button))
    application.add_handler(ChatMemberHandler(membership.membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.COMMAND, unknown))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE,
                                           archive.search_text))
    application.add_error_handler(error)
