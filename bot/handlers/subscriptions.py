"""Following things: /start, /help, /topics (and its buttons), /subscribe, /unsubscribe, /list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from communique.bot.chats import follow, followed_topics, overview, toggle_topic
from communique.bot.context import Context, settings_of, store_of
from communique.bot.handlers.common import (
    COMMANDS,
    arg_text,
    is_admin,
    log,
    now,
    register_chat,
    reply,
    usage,
    usage_text,
    zone,
)
from communique.bot.keyboards import topic_from_data, topics_keyboard
from communique.bot.targets import Target, TargetError, parse_target, split_targets
from telegram import Update
from telegram.error import BadRequest

from communique.messages import esc
from communique.settings import Settings
from communique.store.subscribers import unsubscribe as remove_subscription

WELCOME = """👋 <b>Communique</b> watches official channels (ministries, governments) and alerts you when they \
post, with links to the news outlets that have reported each statement, or a note that none has yet.

<b>First steps</b>
1. /topics: pick topics with buttons
2. /subscribe Белгород: follow a keyword, in any inflection or spelling; or /subscribe @channel
3. /digest 08:00 and /timezone Europe/Moscow: one summary a day, at your hour

/help lists every command."""


async def start(update: Update, context: Context) -> None:
    """Welcome the chat, register it, and show the first steps."""
    chat_id = await register_chat(update, context)
    subscriber, _ = await store_of(context).run(overview, chat_id)
    settings = settings_of(context)
    digest = (f"This chat gets a daily digest at {subscriber['digest_time']} ({zone(subscriber, settings).key}); "
              "/digest off stops it." if subscriber["digest_time"] else "The daily digest is off.")
    await reply(update, f"{WELCOME}\n\n{esc(digest)}")


async def help_(update: Update, context: Context) -> None:
    """List the commands with their arguments."""
    admin = is_admin(update, context)
    lines = ["<b>Commands</b>"]
    for command in COMMANDS:
        if command.admin and not admin:
            continue
        args = f" {esc(command.args)}" if command.args else ""
        lines.append(f"/{command.name}{args}: {esc(command.about)}")
    lines.append("\nIn a private chat, any text without a command searches the archive.")
    await reply(update, "\n".join(lines))


async def topics(update: Update, context: Context) -> None:
    """Show the configured topics as buttons that toggle them."""
    settings = settings_of(context)
    if not settings.topics:
        await reply(update, "No topics are configured; use /subscribe with a keyword or @channel.")
        return
    chat_id = await register_chat(update, context)
    followed = await store_of(context).run(followed_topics, chat_id)
    await reply(update, "Tap a topic to follow or unfollow it:", reply_markup=topics_keyboard(settings.topics,
                                                                                               followed))


async def topic_button(update: Update, context: Context) -> None:
    """Toggle the topic whose button was pressed and tick the keyboard accordingly."""
    query = update.callback_query
    assert query is not None and query.data is not None
    settings = settings_of(context)
    topic = topic_from_data(query.data, settings.topics)
    if topic is None:
        await query.answer("This topic is no longer offered; send /topics for the current list.", show_alert=True)
        return
    chat_id = await register_chat(update, context)
    following, followed = await store_of(context).run(toggle_topic, chat_id, topic.name, now=now())
    await query.answer(f"{'Following' if following else 'No longer following'}: {topic.title}")
    try:
        await query.edit_message_reply_markup(topics_keyboard(settings.topics, followed))
    except BadRequest as exc:  # two quick presses: the keyboard already shows this state
        if "not modified" not in exc.message.lower():
            raise


TargetAction = Callable[[Context, int, Target, Settings], Awaitable[str]]


async def _each_target(update: Update, context: Context, command: str, prompt: str, act: TargetAction) -> None:
    """Apply `act` to each thing the command names (commas separate them) and answer one line each;
    with nothing named, or nothing usable, answer with the command's usage."""
    items = split_targets(arg_text(update))
    if not items:
        await usage(update, command, prompt)
        return
    settings = settings_of(context)
    chat_id = await register_chat(update, context)
    lines, understood = [], 0
    for item in items:
        try:
            target = parse_target(item, settings)
        except TargetError as exc:
            lines.append(f"⚠️ {exc}")
            continue
        understood += 1
        lines.append(await act(context, chat_id, target, settings))
    if not understood:
        lines.append(usage_text(command))
    await reply(update, "\n".join(lines))


async def _follow(context: Context, chat_id: int, target: Target, settings: Settings) -> str:
    result = await store_of(context).run(follow, chat_id, target.kind, target.value, now=now())
    log.info("chat %s follows %s:%s (%s)", chat_id, target.kind, target.value, result)
    label = target.label(settings)
    if result == "full":
        return "⚠️ This chat follows the maximum number of things; /unsubscribe some first."
    if result == "already":
        return f"This chat already follows the {label}."
    note = ""
    if target.kind == "channel" and settings.channel(target.value) is None:
        note = " It is not among the watched channels now: you will get its posts once an administrator adds it."
    elif target.kind == "keyword":
        note = " Inflected forms and spelling variants count too."
    return f"✅ Following the {label}.{note}"


async def _unfollow(context: Context, chat_id: int, target: Target, settings: Settings) -> str:
    removed = await store_of(context).run(remove_subscription, chat_id, target.kind, target.value)
    label = target.label(settings)
    return (f"✅ No longer following the {label}." if removed else
            f"This chat does not follow the {label}; /list shows what it follows.")


async def subscribe(update: Update, context: Context) -> None:
    """Follow topics, keywords or channels, several at once separated by commas."""
    await _each_target(update, context, "subscribe", "Follow what? Give a topic name, a keyword or an @channel.",
                       _follow)


async def unsubscribe(update: Update, context: Context) -> None:
    """Stop following topics, keywords or channels."""
    await _each_target(update, context, "unsubscribe", "Stop following what? /list shows what this chat follows.",
                       _unfollow)


async def list_(update: Update, context: Context) -> None:
    """Show what this chat follows and its settings."""
    settings = settings_of(context)
    chat_id = await register_chat(update, context)
    subscriber, subscriptions = await store_of(context).run(overview, chat_id)
    lines = ["<b>This chat follows</b>"]
    order = {"topic": 0, "keyword": 1, "channel": 2}
    for s in sorted(subscriptions, key=lambda s: (order[s.kind], s.value)):
        lines.append(f"• {Target(s.kind, s.value).label(settings)}")
    if len(lines) == 1:
        lines.append("Nothing yet: try /topics, or /subscribe with a keyword or @channel.")
    tz = zone(subscriber, settings).key
    digest = f"at {subscriber['digest_time']} ({esc(tz)})" if subscriber["digest_time"] else "off"
    switch = {1: "on", 0: "off"}
    lines += [
        "",
        f"Alerts: {'paused (/resume)' if subscriber['paused'] else 'on'}",
        f"Daily digest: {digest}",
        f"Follow-ups: edits and deletions {switch[subscriber['edit_followups']]}, new coverage "
        f"{switch[subscriber['coverage_followups']]}, empty-day digest {switch[subscriber['empty_digest']]} "
        "(/updates)",
    ]
    await reply(update, "\n".join(lines))
