"""What every handler uses: the command table, replies, usage messages, the chat's registration."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from communique.bot.chats import register
from communique.bot.context import Context, schedule_changed, settings_of, store_of
from telegram import Update

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


COMMANDS = (
    Command("start", "Welcome and first steps"),
    Command("help", "All commands"),
    Command("topics", "Pick topics with buttons"),
    Command("subscribe", "Follow a topic, keyword or channel", "<topic | keyword | @channel>", "/subscribe Белгород"),
    Command("unsubscribe", "Stop following it", "<topic | keyword | @channel>", "/unsubscribe @mod_russia"),
    Command("list", "What this chat follows, and its settings"),
    Command("digest", "Daily digest time, or off", "<HH:MM | off>", "/digest 07:30"),
    Command("timezone", "Time zone for the digest and times", "<Area/City>", "/timezone Europe/Berlin"),
    Command("updates", "Follow-ups: edits, new coverage, empty digests", "<edits | coverage | empty> <on | off>",
            "/updates coverage on"),
    Command("latest", "The latest statements", "[@channel]", "/latest @mod_russia"),
    Command("search", "Search the archive", "<words>", "/search обмен пленными"),
    Command("export", "Followed statements and their coverage, as a file", "[7d | DATE] [xlsx | csv | jsonl]",
            "/export 7d csv"),
    Command("pause", "Pause alerts and the digest"),
    Command("resume", "Resume after /pause"),
    Command("stop", "Forget this chat and its data"),
    Command("whoami", "Your Telegram user id and this chat's id"),
    Command("channels", "Watched channels and their state", admin=True),
    Command("feeds", "News feeds and their state", admin=True),
    Command("stats", "Counts, the delivery queue, speed of coverage", admin=True),
    Command("addchannel", "Watch a channel", "@channel [official | news]", "/addchannel @mod_russia official",
            admin=True),
    Command("removechannel", "Stop watching a channel", "@channel", "/removechannel @mod_russia", admin=True),
    Command("addfeed", "Poll an RSS or Atom feed", "<URL>", "/addfeed https://meduza.io/rss/all", admin=True),
    Command("removefeed", "Stop polling a feed", "<URL | outlet>", "/removefeed https://meduza.io/rss/all",
            admin=True),
    Command("addtopic", "Offer a topic to subscribers", "<name>: <keyword>; <keyword>...",
            "/addtopic ceasefire: перемирие; ceasefire; هدنة", admin=True),
    Command("removetopic", "Withdraw a topic", "<name>", "/removetopic ceasefire", admin=True),
)
BY_NAME = {command.name: command for command in COMMANDS}


def now() -> datetime:
    return datetime.now(UTC)


def arg_text(update: Update) -> str:
    """Everything after the command, line breaks kept (`context.args` would lose them)."""
    message = update.effective_message
    parts = ((message.text or "") if message else "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def reply(update: Update, text: str, **kwargs: Any) -> None:
    """Answer in the chat the update came from (HTML, no link previews: the application's defaults).
    A text over Telegram's limit goes in several messages, cut between lines (replies keep each
    element's tags on one line)."""
    assert update.effective_chat is not None
    pages = [text] if length(text) <= MESSAGE_LIMIT else split_blocks(text.split("\n"), separator="\n")
    for page in pages:
        await update.get_bot().send_message(update.effective_chat.id, page, **kwargs)


def usage_text(name: str, problem: str | None = None) -> str:
    command = BY_NAME[name]
    lines = [problem] if problem else []
    lines.append(f"Usage: /{command.name} {esc(command.args)}".rstrip())
    if command.example:
        lines.append(f"Example: {esc(command.example)}")
    return "\n".join(lines)


async def usage(update: Update, name: str, problem: str | None = None) -> None:
    await reply(update, usage_text(name, problem))


async def register_chat(update: Update, context: Context, *, announce: bool = False) -> int:
    """The chat's id, after making sure it is an active subscriber.  A new chat (or, with `announce`,
    any) is announced to the digest scheduler."""
    chat = update.effective_chat
    assert chat is not None
    settings = settings_of(context)
    title = chat.title or chat.full_name or chat.username
    new = await store_of(context).run(register, chat.id, chat_type=chat.type, title=title,
                                      digest_time=settings.digest_time, now=now())
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


ONLY_GROUP_ADMINS = "Only this group's administrators can change what it follows and how."


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
