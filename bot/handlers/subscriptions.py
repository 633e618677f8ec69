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
    translator,
    usage,
    usage_text,
    zone,
)
from communique.bot.keyboards import topic_from_data, topics_keyboard
from communique.bot.targets import Target, TargetError, parse_target, split_targets
from telegram import Update
from telegram.error import BadRequest

from communique.i18n import N_, Tr
from communique.messages import esc
from communique.settings import Settings
from communique.store.subscribers import unsubscribe as remove_subscription

WELCOME = N_("""👋 <b>Communique</b> watches official channels (ministries, governments) and alerts you when \
they post, with links to the news outlets that have reported each statement, or a note that none has yet.

<b>First steps</b>
1. /topics: pick topics with buttons
2. /subscribe Белгород: follow a keyword, in any inflection or spelling; or /subscribe @channel
3. /digest 08:00 and /timezone Europe/Moscow: one summary a day, at your hour

/help lists every command; /language changes the bot's language.""")


async def start(update: Update, context: Context) -> None:
    """Welcome the chat, register it, and show the first steps."""
    chat_id = await register_chat(update, context)
    t = translator(update, context)
    subscriber, _ = await store_of(context).run(overview, chat_id)
    settings = settings_of(context)
    digest = (t.gettext("This chat gets a daily digest at {time} ({zone}); /digest off stops it.").format(
        time=subscriber["digest_time"], zone=t.isolate(esc(zone(subscriber, settings).key)))
        if subscriber["digest_time"] else t.gettext("The daily digest is off."))
    await reply(update, t.gettext(WELCOME) + f"\n\n{digest}", t=t)


async def help_(update: Update, context: Context) -> None:
    """List the commands with their arguments."""
    t = translator(update, context)
    admin = is_admin(update, context)
    lines = ["<b>" + t.gettext("Commands") + "</b>"]
    for command in COMMANDS:
        if command.admin and not admin:
            continue
        args = f" {esc(t.gettext(command.args))}" if command.args else ""
        lines.append(f"{t.isolate(f'/{command.name}{args}')}: {esc(t.gettext(command.about))}")
    lines.append("\n" + t.gettext("In a private chat, any text without a command searches the archive."))
    await reply(update, "\n".join(lines), t=t)


async def topics(update: Update, context: Context) -> None:
    """Show the configured topics as buttons that toggle them."""
    t = translator(update, context)
    settings = settings_of(context)
    if not settings.topics:
        await reply(update, t.gettext("No topics are configured; use /subscribe with a keyword or @channel."), t=t)
        return
    chat_id = await register_chat(update, context)
    followed = await store_of(context).run(followed_topics, chat_id)
    await reply(update, t.gettext("Tap a topic to follow or unfollow it:"), t=t,
                reply_markup=topics_keyboard(settings.topics, followed))


async def topic_button(update: Update, context: Context) -> None:
    """Toggle the topic whose button was pressed and tick the keyboard accordingly."""
    query = update.callback_query
    assert query is not None and query.data is not None
    settings = settings_of(context)
    t = translator(update, context)
    topic = topic_from_data(query.data, settings.topics)
    if topic is None:
        await query.answer(t.gettext("This topic is no longer offered; send /topics for the current list."),
                           show_alert=True)
        return
    chat_id = await register_chat(update, context)
    following, followed = await store_of(context).run(toggle_topic, chat_id, topic.name, now=now())
    answer = t.gettext("Following: {topic}") if following else t.gettext("No longer following: {topic}")
    await query.answer(answer.format(topic=t.isolate(topic.title)))
    try:
        await query.edit_message_reply_markup(topics_keyboard(settings.topics, followed))
    except BadRequest as exc:  # two quick presses: the keyboard already shows this state
        if "not modified" not in exc.message.lower():
            raise


TargetAction = Callable[[Context, int, Target, Settings, Tr], Awaitable[str]]


async def _each_target(update: Update, context: Context, command: str, prompt: str, act: TargetAction) -> None:
    """Apply `act` to each thing the command names (commas separate them) and answer one line each;
    with nothing named, or nothing usable, answer with the command's usage."""
    t = translator(update, context)
    items = split_targets(arg_text(update))
    if not items:
        await usage(update, command, t.gettext(prompt), t)
        return
    settings = settings_of(context)
    chat_id = await register_chat(update, context)
    lines, understood = [], 0
    for item in items:
        try:
            target = parse_target(item, settings, t)
        except TargetError as exc:
            lines.append(f"⚠️ {exc}")
            continue
        understood += 1
        lines.append(await act(context, chat_id, target, settings, t))
    if not understood:
        lines.append(usage_text(command, t=t))
    await reply(update, "\n".join(lines), t=t)


async def _follow(context: Context, chat_id: int, target: Target, settings: Settings, t: Tr) -> str:
    result = await store_of(context).run(follow, chat_id, target.kind, target.value, now=now())
    log.info("chat %s follows %s:%s (%s)", chat_id, target.kind, target.value, result)
    label = target.label(settings, t)
    if result == "full":
        return "⚠️ " + t.gettext("This chat follows the maximum number of things; /unsubscribe some first.")
    if result == "already":
        return t.gettext("This chat already follows the {thing}.").format(thing=label)
    note = ""
    if target.kind == "channel" and settings.channel(target.value) is None:
        note = " " + t.gettext("It is not among the watched channels now: you will get its posts once an "
                               "administrator adds it.")
    elif target.kind == "keyword":
        note = " " + t.gettext("Inflected forms and spelling variants count too.")
    return "✅ " + t.gettext("Following the {thing}.").format(thing=label) + note


async def _unfollow(context: Context, chat_id: int, target: Target, settings: Settings, t: Tr) -> str:
    removed = await store_of(context).run(remove_subscription, chat_id, target.kind, target.value)
    label = target.label(settings, t)
    return ("✅ " + t.gettext("No longer following the {thing}.").format(thing=label) if removed else
            t.gettext("This chat does not follow the {thing}; /list shows what it follows.").format(thing=label))


async def subscribe(update: Update, context: Context) -> None:
    """Follow topics, keywords or channels, several at once separated by commas."""
    await _each_target(update, context, "subscribe",
                       N_("Follow what? Give a topic name, a keyword or an @channel."), _follow)


async def unsubscribe(update: Update, context: Context) -> None:
    """Stop following topics, keywords or channels."""
    await _each_target(update, context, "unsubscribe",
                       N_("Stop following what? /list shows what this chat follows."), _unfollow)


async def list_(update: Update, context: Context) -> None:
    """Show what this chat follows and its settings."""
    settings = settings_of(context)
    chat_id = await register_chat(update, context)
    t = translator(update, context)
    subscriber, subscriptions = await store_of(context).run(overview, chat_id)
    lines = ["<b>" + t.gettext("This chat follows") + "</b>"]
    order = {"topic": 0, "keyword": 1, "channel": 2}
    for s in sorted(subscriptions, key=lambda s: (order[s.kind], s.value)):
        lines.append(f"• {Target(s.kind, s.value).label(settings, t)}")
    if len(lines) == 1:
        lines.append(t.gettext("Nothing yet: try /topics, or /subscribe with a keyword or @channel."))
    tz = zone(subscriber, settings).key
    digest = (t.gettext("at {time} ({zone})").format(time=subscriber["digest_time"], zone=t.isolate(esc(tz)))
              if subscriber["digest_time"] else t.gettext("off"))
    switch = {1: t.gettext("on"), 0: t.gettext("off")}
    lines += [
        "",
        t.gettext("Alerts: {state}").format(state=t.gettext("paused (/resume)") if subscriber["paused"] else
                                            t.gettext("on")),
        t.gettext("Daily digest: {state}").format(state=digest),
        t.gettext("Follow-ups: edits and deletions {edits}, new coverage {coverage}, empty-day digest {empty} "
                  "(/updates)").format(edits=switch[subscriber["edit_followups"]],
                                       coverage=switch[subscriber["coverage_followups"]],
                                       empty=switch[subscriber["empty_digest"]]),
    ]
    await reply(update, "\n".join(lines), t=t)
