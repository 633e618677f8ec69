"""What every handler uses: the command table, replies, usage messages, the chat's registration."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from communique.bot.chats import chat_language, register
from communique.bot.context import Context, languages_of, schedule_changed, settings_of, store_of
from telegram import Update

from communique.i18n import DEFAULT, ENGLISH, N_, Tr, choose, tr
from communique.messages import MESSAGE_LIMIT, esc, length, split_blocks
from communique.settings import Settings

log = logging.getLogger("communique.bot")


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    about: str
    args: str = ""
    example: str = ""
    admin: bool = False


# `about` and `args` are translated where they are shown (the menu, /help, usage messages).
COMMANDS = (
    Command("start", N_("Welcome and first steps")),
    Command("help", N_("All commands")),
    Command("topics", N_("Pick topics with buttons")),
    Command("subscribe", N_("Follow a topic, keyword or channel"), N_("<topic | keyword | @channel>"),
            "/subscribe Белгород"),
    Command("unsubscribe", N_("Stop following it"), N_("<topic | keyword | @channel>"), "/unsubscribe @mod_russia"),
    Command("list", N_("What this chat follows, and its settings")),
    Command("digest", N_("Daily digest time, or off"), N_("<HH:MM | off>"), "/digest 07:30"),
    Command("timezone", N_("Time zone for the digest and times"), N_("<Area/City>"), "/timezone Europe/Berlin"),
    Command("updates", N_("Follow-ups: edits, new coverage, empty digests"),
            N_("<edits | coverage | empty> <on | off>"), "/updates coverage on"),
    Command("latest", N_("The latest statements"), N_("[@channel]"), "/latest @mod_russia"),
    Command("search", N_("Search the archive"), N_("<words>"), "/search обмен пленными"),
    Command("export", N_("Followed statements and their coverage, as a file"),
            N_("[7d | DATE] [xlsx | csv | jsonl]"), "/export 7d csv"),
    Command("language", N_("The bot's language in this chat")),
    Command("pause", N_("Pause alerts and the digest")),
    Command("resume", N_("Resume after /pause")),
    Command("stop", N_("Forget this chat and its data")),
    Command("whoami", N_("Your Telegram user id and this chat's id")),
    Command("channels", N_("Watched channels and their state"), admin=True),
    Command("feeds", N_("News feeds and their state"), admin=True),
    Command("stats", N_("Counts, the delivery queue, speed of coverage"), admin=True),
    Command("addchannel", N_("Watch a channel"), N_("@channel [official | news]"), "/addchannel @mod_russia official",
            admin=True),
    Command("removechannel", N_("Stop watching a channel"), N_("@channel"), "/removechannel @mod_russia", admin=True),
    Command("addfeed", N_("Poll an RSS or Atom feed"), N_("<URL>"), "/addfeed https://meduza.io/rss/all", admin=True),
    Command("removefeed", N_("Stop polling a feed"), N_("<URL | outlet>"), "/removefeed https://meduza.io/rss/all",
            admin=True),
    Command("addtopic", N_("Offer a topic to subscribers"), N_("<name>: <keyword>; <keyword>..."),
            "/addtopic ceasefire: перемирие; ceasefire; هدنة", admin=True),
    Command("removetopic", N_("Withdraw a topic"), N_("<name>"), "/removetopic ceasefire", admin=True),
)
BY_NAME = {command.name: command for command in COMMANDS}


def now() -> datetime:
    return datetime.now(UTC)


def arg_text(update: Update) -> str:
    """Everything after the command, line breaks kept (`context.args` would lose them)."""
    message = update.effective_message
    parts = ((message.text or "") if message else "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def translator(update: Update, context: Context) -> Tr:
    """The chat's language: the one stored for it, else (a chat not yet registered) its user's Telegram language."""
    chat, user = update.effective_chat, update.effective_user
    stored = languages_of(context).get(chat.id) if chat is not None else None
    return tr(stored or choose(user.language_code if user else None))


async def reply(update: Update, text: str, *, t: Tr | None = None, **kwargs: Any) -> None:
    """Answer in the chat the update came from (HTML, no link previews: the application's defaults),
    laid out in the direction of the language `t`.
    A text over Telegram's limit goes in several messages, cut between lines (replies keep each
    element's tags on one line)."""
    assert update.effective_chat is not None
    text = t.lines(text) if t is not None else text
    pages = [text] if length(text) <= MESSAGE_LIMIT else split_blocks(text.split("\n"), separator="\n")
    for page in pages:
        await update.get_bot().send_message(update.effective_chat.id, page, **kwargs)


def usage_text(name: str, problem: str | None = None, t: Tr = ENGLISH) -> str:
    command = BY_NAME[name]
    lines = [problem] if problem else []
    args = t.gettext(command.args) if command.args else ""
    lines.append(t.gettext("Usage: {command}").format(command=t.isolate(f"/{command.name} {esc(args)}".rstrip())))
    if command.example:
        lines.append(t.gettext("Example: {command}").format(command=t.isolate(esc(command.example))))
    return "\n".join(lines)


async def usage(update: Update, name: str, problem: str | None = None, t: Tr = ENGLISH) -> None:
    await reply(update, usage_text(name, problem, t), t=t)


async def register_chat(update: Update, context: Context, *, announce: bool = False) -> int:
    """The chat's id, after making sure it is an active subscriber.  A new chat (or, with `announce`,
    any) is announced to the digest scheduler."""
    chat = update.effective_chat
    assert chat is not None
    settings = settings_of(context)
    title = chat.title or chat.full_name or chat.username
    user = update.effective_user
    new = await store_of(context).run(register, chat.id, chat_type=chat.type, title=title,
                                      digest_time=settings.digest_time, now=now(),
                                      language=choose(user.language_code if user else None))
    languages = languages_of(context)
    if chat.id not in languages:  # new, or registered before languages: it has one now
        languages[chat.id] = await store_of(context).run(chat_language, chat.id) or DEFAULT
    if new:
        log.info("new chat %s (%s)", chat.id, chat.type)
    if new or announce:
        await schedule_changed(context, chat.id)
    return chat.id


def zone(subscriber: dict[str, Any] | None, settings: Settings) -> ZoneInfo:
    return ZoneInfo((subscriber or {}).get("timezone") or settings.timezone)


def is_admin(update: Update, context: Context) -> bool:
    user = update.effective_user
    return user is not None and user.id in settings_of(context).admins


ONLY_GROUP_ADMINS = N_("Only this group's administrators can change what it follows and how.")


async def may_change_settings(update: Update, context: Context) -> bool:
    """In a group, only its administrators change its subscriptions and settings; in a private chat, its user.

    An anonymous administrator writes as the group itself (`sender_chat`).
    """
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    if chat is None or chat.type == "private":
        return True
    if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in ("administrator", "creator")
