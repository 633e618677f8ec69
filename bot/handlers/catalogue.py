"""Administrators change what is watched, live: /addchannel, /removechannel, /addfeed, /removefeed,
/addtopic, /removetopic.

Each command checks its argument, then asks for confirmation with Confirm / Cancel buttons; the
change waits in `bot_data` under a short id (the buttons carry only that) for `PENDING_FOR`. A
confirmed change is written to the store's catalogue (`communique.store.catalogue`, which says how it
and the configuration file combine), logged in one line (who, what), and picked up by the monitors at
their next look at the catalogue, in this process or another.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from communique.bot.context import PENDING_CHANGES, Context, live_settings_of, settings_of, store_of
from communique.bot.handlers.common import arg_text, is_admin, log, now, reply, translator, usage
from communique.bot.keyboards import change_from_data, confirm_keyboard
from communique.bot.targets import channel_username
from communique.monitors.feed_parse import FeedError
from communique.monitors.feeds import FeedUnavailable, probe_feed
from sqlite_utils import Database
from telegram import Update, User

from communique.i18n import ENGLISH, Tr
from communique.inputs import is_http_url
from communique.messages import esc
from communique.settings import ROLES, TOPIC_NAME, ChannelConfig, FeedConfig, TopicConfig
from communique.store import catalogue
from communique.store.catalogue import Entry, Kind

PENDING_FOR = 15 * 60  # seconds a change waits for its confirmation
MAX_KEYWORD = 64
MAX_KEYWORDS = 50


@dataclass(frozen=True, slots=True)
class Change:
    """A catalogue change waiting for an admin's Confirm."""

    adding: bool
    entry: Entry
    asked_at: float

    @property
    def kind(self) -> Kind:
        return catalogue.kind_of(self.entry)

    def describe(self, t: Tr = ENGLISH) -> str:
        """The entry as the audit log (English) and the messages name it (plain text)."""
        entry = self.entry
        if isinstance(entry, ChannelConfig):
            return t.gettext("channel {channel} ({role})").format(channel=t.isolate(f"@{entry.key}"), role=entry.role)
        if isinstance(entry, FeedConfig):
            return t.gettext("feed {url} ({outlet})").format(url=t.isolate(entry.url), outlet=t.isolate(entry.outlet))
        return t.gettext("topic {name} ({keywords})").format(name=t.isolate(entry.name),
                                                             keywords=t.isolate("; ".join(entry.keywords)))


def _pending(context: Context) -> dict[str, Change]:
    pending: dict[str, Change] = context.bot_data.setdefault(PENDING_CHANGES, {})
    for change_id in [i for i, c in pending.items() if time.monotonic() - c.asked_at > PENDING_FOR]:
        del pending[change_id]
    return pending


async def _ask(update: Update, context: Context, change: Change, question: str) -> None:
    change_id = secrets.token_hex(4)
    _pending(context)[change_id] = change
    t = translator(update, context)
    await reply(update, question, t=t, reply_markup=confirm_keyboard(change_id, t))


def _followers(db: Database, kind: str, value: str) -> int:
    return db.execute("SELECT count(*) FROM subscriptions WHERE kind = ? AND value = ?", (kind, value)).fetchone()[0]


async def _ask_removal(update: Update, context: Context, entry: ChannelConfig | TopicConfig, question: str) -> None:
    """Ask to remove a channel or topic, saying how many chats follow it."""
    count = await store_of(context).run(_followers, catalogue.kind_of(entry), catalogue.key_of(entry))
    t = translator(update, context)
    followers = " " + t.ngettext("{count} chat follows it; it stops getting its alerts.",
                                 "{count} chats follow it; they stop getting its alerts.", count).format(
        count=count) if count else ""
    await _ask(update, context, Change(False, entry, time.monotonic()), question + followers)


async def add_channel(update: Update, context: Context) -> None:
    """Admin: watch a channel (after confirmation)."""
    t = translator(update, context)
    name, _, role = arg_text(update).partition(" ")
    role = role.strip().lower() or "official"
    if not name:
        await usage(update, "addchannel", t.gettext("Which channel?"), t)
        return
    username = channel_username(name)
    if username is None:
        await usage(update, "addchannel", _not_a_channel(name, t), t)
        return
    if role not in ROLES:
        await usage(update, "addchannel", t.gettext("The role is official or news, not “{role}”.").format(
            role=t.isolate(esc(role))), t)
        return
    if settings_of(context).channel(username) is not None:
        await reply(update, t.gettext("{channel} is already watched (see /channels).").format(
            channel=t.isolate(f"@{esc(username)}")), t=t)
        return
    entry = ChannelConfig(username=username, tg_id=None, title=f"@{username}", language="und", role=role)
    question = (t.gettext("Watch {channel} for official statements?") if role == "official" else
                t.gettext("Watch {channel} for a news outlet's posts?"))
    await _ask(update, context, Change(True, entry, time.monotonic()),
               question.format(channel=t.isolate(f"@{esc(username)}")))


def _not_a_channel(name: str, t: Tr) -> str:
    return t.gettext("{text} is not a channel username (5 to 32 letters, digits or _, starting with a letter).").format(
        text=t.isolate(esc(name)))


async def remove_channel(update: Update, context: Context) -> None:
    """Admin: stop watching a channel (after confirmation)."""
    t = translator(update, context)
    name = arg_text(update)
    username = channel_username(name) if name else None
    if username is None:
        await usage(update, "removechannel", t.gettext("Which channel?") if not name else _not_a_channel(name, t), t)
        return
    channel = settings_of(context).channel(username)
    if channel is None:
        await reply(update, t.gettext("{channel} is not among the watched channels (see /channels).").format(
            channel=t.isolate(f"@{esc(username)}")), t=t)
        return
    await _ask_removal(update, context, channel, t.gettext(
        "Stop watching {channel} ({title})? Its posts so far stay in the archive.").format(
        channel=t.isolate(f"@{esc(channel.key)}"), title=t.isolate(esc(channel.title))))


async def add_feed(update: Update, context: Context) -> None:
    """Admin: poll a news feed (checked by fetching it once, then after confirmation)."""
    t = translator(update, context)
    url = arg_text(update)
    if not url:
        await usage(update, "addfeed", t.gettext("Which feed?"), t)
        return
    address = t.isolate(esc(url))
    if " " in url or not is_http_url(url):
        await usage(update, "addfeed", t.gettext("“{url}” is not an http(s) address.").format(url=address), t)
        return
    if any(feed.url == url for feed in settings_of(context).feeds):
        await reply(update, t.gettext("{url} is already polled (see /feeds).").format(url=address), t=t)
        return
    try:
        probe = await probe_feed(url)
    except FeedUnavailable as exc:
        await reply(update, "⚠️ " + t.gettext("Not added: could not fetch {url}: {reason}").format(
            url=address, reason=t.isolate(esc(str(exc)))), t=t)
        return
    except FeedError as exc:
        reason = str(exc).removeprefix(f"{url}: ")
        await reply(update, "⚠️ " + t.gettext("Not added: {url} is not a feed: {reason}").format(
            url=address, reason=t.isolate(esc(reason))), t=t)
        return
    feed = probe.feed
    await _ask(update, context, Change(True, feed, time.monotonic()),
               t.ngettext("Poll the feed {outlet} ({count} entry now) every {seconds} s?",
                          "Poll the feed {outlet} ({count} entries now) every {seconds} s?", probe.entries).format(
                   outlet=f"<b>{t.isolate(esc(feed.outlet))}</b>", count=probe.entries, seconds=feed.interval)
               + f"\n{address}")


async def remove_feed(update: Update, context: Context) -> None:
    """Admin: stop polling a news feed (after confirmation)."""
    t = translator(update, context)
    wanted = arg_text(update)
    if not wanted:
        await usage(update, "removefeed", t.gettext("Which feed?"), t)
        return
    feeds = settings_of(context).feeds
    feed = (next((f for f in feeds if f.url == wanted), None)
            or next((f for f in feeds if f.outlet.casefold() == wanted.casefold()), None))
    if feed is None:
        await reply(update, t.gettext("No polled feed has the address or name “{text}” (see /feeds).").format(
            text=t.isolate(esc(wanted))), t=t)
        return
    await _ask(update, context, Change(False, feed, time.monotonic()),
               t.gettext("Stop polling {outlet}? Its articles so far stay in the archive.").format(
                   outlet=f"<b>{t.isolate(esc(feed.outlet))}</b>") + f"\n{t.isolate(esc(feed.url))}")


def parse_topic(text: str, t: Tr = ENGLISH) -> TopicConfig:
    """`NAME: kw1; kw2` -> the topic; ValueError saying what is wrong (plain text)."""
    name, colon, words = text.partition(":")
    name = name.strip().lower()
    if not colon or not name:
        raise ValueError(t.gettext("Give the topic's name, a colon, then its keywords separated by semicolons."))
    if not TOPIC_NAME.match(name):
        raise ValueError(t.gettext("A topic's name is 1 to 40 letters, digits, - or _ (got “{name}”).").format(
            name=t.isolate(name)))
    keywords = tuple(dict.fromkeys(" ".join(w.split()) for w in words.split(";") if w.strip()))
    if not keywords:
        raise ValueError(t.gettext("The topic {name} needs at least one keyword after the colon.").format(
            name=t.isolate(name)))
    if len(keywords) > MAX_KEYWORDS:
        raise ValueError(t.ngettext("A topic can have at most {count} keyword.",
                                    "A topic can have at most {count} keywords.", MAX_KEYWORDS).format(
                                        count=MAX_KEYWORDS))
    long = next((w for w in keywords if len(w) > MAX_KEYWORD), None)
    if long is not None:
        raise ValueError(t.ngettext("A keyword can have at most {count} character (“{keyword}…” has {length}).",
                                    "A keyword can have at most {count} characters (“{keyword}…” has {length}).",
                                    MAX_KEYWORD).format(count=MAX_KEYWORD, keyword=t.isolate(long[:20]),
                                                        length=len(long)))
    return TopicConfig(name=name, title=name, keywords=keywords)


async def add_topic(update: Update, context: Context) -> None:
    """Admin: offer a new topic to subscribers (after confirmation)."""
    t = translator(update, context)
    text = arg_text(update)
    if not text:
        await usage(update, "addtopic", t.gettext("Which topic?"), t)
        return
    try:
        topic = parse_topic(text, t)
    except ValueError as exc:
        await usage(update, "addtopic", esc(str(exc)), t)
        return
    if settings_of(context).topic(topic.name) is not None:
        await reply(update, t.gettext("The topic {name} exists already; /removetopic it first to change it.").format(
            name=t.isolate(esc(topic.name))), t=t)
        return
    await _ask(update, context, Change(True, topic, time.monotonic()),
               t.ngettext("Add the topic {name} with {count} keyword: {keywords}?",
                          "Add the topic {name} with {count} keywords: {keywords}?", len(topic.keywords)).format(
                   name=f"<b>{t.isolate(esc(topic.name))}</b>", count=len(topic.keywords),
                   keywords=t.isolate(esc("; ".join(topic.keywords)))))


async def remove_topic(update: Update, context: Context) -> None:
    """Admin: withdraw a topic (after confirmation)."""
    t = translator(update, context)
    name = arg_text(update).strip().lower()
    if not name:
        await usage(update, "removetopic", t.gettext("Which topic?"), t)
        return
    topic = settings_of(context).topic(name)
    if topic is None:
        await reply(update, t.gettext("There is no topic {name} (see /topics).").format(name=t.isolate(esc(name))),
                    t=t)
        return
    await _ask_removal(update, context, topic, t.gettext("Remove the topic {title} ({name})?").format(
        title=f"<b>{t.isolate(esc(topic.title))}</b>", name=t.isolate(esc(topic.name))))


def _who(user: User) -> str:
    return f"{user.id} (@{user.username})" if user.username else str(user.id)


def _apply(db: Database, change: Change, *, by: int) -> bool:
    if change.adding:
        return catalogue.add(db, change.entry, by=by, now=now())
    return catalogue.remove(db, change.kind, catalogue.key_of(change.entry), by=by, now=now()) is not None


async def change_button(update: Update, context: Context) -> None:
    """Apply (Confirm) or drop (Cancel) the catalogue change the pressed button names."""
    query = update.callback_query
    assert query is not None and query.data is not None
    t = translator(update, context)
    if not is_admin(update, context):
        await query.answer(t.gettext("Only this bot's administrators can confirm changes."), show_alert=True)
        return
    confirmed, change_id = change_from_data(query.data)
    change = _pending(context).pop(change_id, None)
    if change is None:
        await query.answer(t.gettext("This request has expired; send the command again."), show_alert=True)
        return
    what = esc(change.describe(t))
    if not confirmed:
        await query.answer(t.gettext("Cancelled"))
        await query.edit_message_text(t.lines(t.gettext("Cancelled: nothing changed ({change}).").format(change=what)))
        return
    assert update.effective_user is not None
    store = store_of(context)
    done = await store.run(_apply, change, by=update.effective_user.id)
    await store.run(live_settings_of(context).refresh)
    if not done:  # another admin's change got there first
        await query.answer(t.gettext("Nothing to do"))
        meanwhile = (t.gettext("Nothing changed: the {change} was added meanwhile.") if change.adding else
                     t.gettext("Nothing changed: the {change} was removed meanwhile."))
        await query.edit_message_text(t.lines(meanwhile.format(change=what)))
        return
    log.info("audit: admin %s %s %s", _who(update.effective_user), "added" if change.adding else "removed",
             change.describe())
    await query.answer(t.gettext("Done"))
    done_text = t.gettext("Added the {change}.") if change.adding else t.gettext("Removed the {change}.")
    await query.edit_message_text(t.lines(f"✅ {done_text.format(change=what)} {_effect(change, t)}"))


def _effect(change: Change, t: Tr) -> str:
    if change.kind == "topic":
        return (t.gettext("Subscribers can follow it with /topics now.") if change.adding else
                t.gettext("It is no longer offered."))
    if change.kind == "feed":
        return (t.gettext("The monitors poll it from their next look at the list.") if change.adding else
                t.gettext("The monitors stop polling it at their next look at the list."))
    return (t.gettext("The monitors watch it from their next look at the list.") if change.adding else
            t.gettext("The monitors stop watching it at their next look at the list."))
