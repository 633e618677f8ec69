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
from communique.bot.handlers.common import arg_text, is_admin, log, now, reply, usage
from communique.bot.keyboards import change_from_data, confirm_keyboard
from communique.bot.targets import channel_username
from communique.monitors.feed_parse import FeedError
from communique.monitors.feeds import FeedUnavailable, probe_feed
from sqlite_utils import Database
from telegram import Update, User

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

    def describe(self) -> str:
        """The entry as the audit log and the messages name it (plain text)."""
        entry = self.entry
        if isinstance(entry, ChannelConfig):
            return f"channel @{entry.key} ({entry.role})"
        if isinstance(entry, FeedConfig):
            return f"feed {entry.url} ({entry.outlet})"
        return f"topic {entry.name} ({'; '.join(entry.keywords)})"


def _pending(context: Context) -> dict[str, Change]:
    pending: dict[str, Change] = context.bot_data.setdefault(PENDING_CHANGES, {})
    for change_id in [i for i, c in pending.items() if time.monotonic() - c.asked_at > PENDING_FOR]:
        del pending[change_id]
    return pending


async def _ask(update: Update, context: Context, change: Change, question: str) -> None:
    change_id = secrets.token_hex(4)
    _pending(context)[change_id] = change
    await reply(update, question, reply_markup=confirm_keyboard(change_id))


def _followers(db: Database, kind: str, value: str) -> int:
    return db.execute("SELECT count(*) FROM subscriptions WHERE kind = ? AND value = ?", (kind, value)).fetchone()[0]


async def _ask_removal(update: Update, context: Context, entry: ChannelConfig | TopicConfig, question: str) -> None:
    """Ask to remove a channel or topic, saying how many chats follow it."""
    count = await store_of(context).run(_followers, catalogue.kind_of(entry), catalogue.key_of(entry))
    followers = f" {count} chat(s) follow it; they stop getting its alerts." if count else ""
    await _ask(update, context, Change(False, entry, time.monotonic()), question + followers)


async def add_channel(update: Update, context: Context) -> None:
    """Admin: watch a channel (after confirmation)."""
    name, _, role = arg_text(update).partition(" ")
    role = role.strip().lower() or "official"
    if not name:
        await usage(update, "addchannel", "Which channel?")
        return
    username = channel_username(name)
    if username is None:
        await usage(update, "addchannel", f"{esc(name)} is not a channel username (5 to 32 letters, digits or _, "
                                          "starting with a letter).")
        return
    if role not in ROLES:
        await usage(update, "addchannel", f"The role is official or news, not “{esc(role)}”.")
        return
    if settings_of(context).channel(username) is not None:
        await reply(update, f"@{esc(username)} is already watched (see /channels).")
        return
    entry = ChannelConfig(username=username, tg_id=None, title=f"@{username}", language="und", role=role)
    what = "official statements" if role == "official" else "a news outlet's posts"
    await _ask(update, context, Change(True, entry, time.monotonic()),
               f"Watch @{esc(username)} for {what}?")


async def remove_channel(update: Update, context: Context) -> None:
    """Admin: stop watching a channel (after confirmation)."""
    name = arg_text(update)
    username = channel_username(name) if name else None
    if username is None:
        await usage(update, "removechannel", "Which channel?" if not name else
                    f"{esc(name)} is not a channel username (5 to 32 letters, digits or _, starting with a letter).")
        return
    channel = settings_of(context).channel(username)
    if channel is None:
        await reply(update, f"@{esc(username)} is not among the watched channels (see /channels).")
        return
    await _ask_removal(update, context, channel, f"Stop watching @{esc(channel.key)} ({esc(channel.title)})? "
                                                 "Its posts so far stay in the archive.")


async def add_feed(update: Update, context: Context) -> None:
    """Admin: poll a news feed (checked by fetching it once, then after confirmation)."""
    url = arg_text(update)
    if not url:
        await usage(update, "addfeed", "Which feed?")
        return
    if " " in url or not is_http_url(url):
        await usage(update, "addfeed", f"“{esc(url)}” is not an http(s) address.")
        return
    if any(feed.url == url for feed in settings_of(context).feeds):
        await reply(update, f"{esc(url)} is already polled (see /feeds).")
        return
    try:
        probe = await probe_feed(url)
    except FeedUnavailable as exc:
        await reply(update, f"⚠️ Not added: could not fetch {esc(url)}: {esc(str(exc))}")
        return
    except FeedError as exc:
        reason = str(exc).removeprefix(f"{url}: ")
        await reply(update, f"⚠️ Not added: {esc(url)} is not a feed: {esc(reason)}")
        return
    feed = probe.feed
    await _ask(update, context, Change(True, feed, time.monotonic()),
               f"Poll the feed <b>{esc(feed.outlet)}</b> ({probe.entries} entries now) every {feed.interval} s?\n"
               f"{esc(url)}")


async def remove_feed(update: Update, context: Context) -> None:
    """Admin: stop polling a news feed (after confirmation)."""
    wanted = arg_text(update)
    if not wanted:
        await usage(update, "removefeed", "Which feed?")
        return
    feeds = settings_of(context).feeds
    feed = (next((f for f in feeds if f.url == wanted), None)
            or next((f for f in feeds if f.outlet.casefold() == wanted.casefold()), None))
    if feed is None:
        await reply(update, f"No polled feed has the address or name “{esc(wanted)}” (see /feeds).")
        return
    await _ask(update, context, Change(False, feed, time.monotonic()),
               f"Stop polling <b>{esc(feed.outlet)}</b>? Its articles so far stay in the archive.\n{esc(feed.url)}")


def parse_topic(text: str) -> TopicConfig:
    """`NAME: kw1; kw2` -> the topic; ValueError saying what is wrong (plain text)."""
    name, colon, words = text.partition(":")
    name = name.strip().lower()
    if not colon or not name:
        raise ValueError("Give the topic's name, a colon, then its keywords separated by semicolons.")
    if not TOPIC_NAME.match(name):
        raise ValueError(f"A topic's name is 1 to 40 letters, digits, - or _ (got “{name}”).")
    keywords = tuple(dict.fromkeys(" ".join(w.split()) for w in words.split(";") if w.strip()))
    if not keywords:
        raise ValueError(f"The topic {name} needs at least one keyword after the colon.")
    if len(keywords) > MAX_KEYWORDS:
        raise ValueError(f"A topic can have at most {MAX_KEYWORDS} keywords.")
    long = next((w for w in keywords if len(w) > MAX_KEYWORD), None)
    if long is not None:
        raise ValueError(f"A keyword can have at most {MAX_KEYWORD} characters (“{long[:20]}…” has {len(long)}).")
    return TopicConfig(name=name, title=name, keywords=keywords)


async def add_topic(update: Update, context: Context) -> None:
    """Admin: offer a new topic to subscribers (after confirmation)."""
    text = arg_text(update)
    if not text:
        await usage(update, "addtopic", "Which topic?")
        return
    try:
        topic = parse_topic(text)
    except ValueError as exc:
        await usage(update, "addtopic", esc(str(exc)))
        return
    if settings_of(context).topic(topic.name) is not None:
        await reply(update, f"The topic {esc(topic.name)} exists already; /removetopic it first to change it.")
        return
    await _ask(update, context, Change(True, topic, time.monotonic()),
               f"Add the topic <b>{esc(topic.name)}</b> with {len(topic.keywords)} keyword(s): "
               f"{esc('; '.join(topic.keywords))}?")


async def remove_topic(update: Update, context: Context) -> None:
    """Admin: withdraw a topic (after confirmation)."""
    name = arg_text(update).strip().lower()
    if not name:
        await usage(update, "removetopic", "Which topic?")
        return
    topic = settings_of(context).topic(name)
    if topic is None:
        await reply(update, f"There is no topic {esc(name)} (see /topics).")
        return
    await _ask_removal(update, context, topic, f"Remove the topic <b>{esc(topic.title)}</b> ({esc(topic.name)})?")


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
    if not is_admin(update, context):
        await query.answer("Only this bot's administrators can confirm changes.", show_alert=True)
        return
    confirmed, change_id = change_from_data(query.data)
    change = _pending(context).pop(change_id, None)
    if change is None:
        await query.answer("This request has expired; send the command again.", show_alert=True)
        return
    if not confirmed:
        await query.answer("Cancelled")
        await query.edit_message_text(f"Cancelled: nothing changed ({esc(change.describe())}).")
        return
    assert update.effective_user is not None
    store = store_of(context)
    done = await store.run(_apply, change, by=update.effective_user.id)
    await store.run(live_settings_of(context).refresh)
    verb = "added" if change.adding else "removed"
    if not done:  # another admin's change got there first
        await query.answer("Nothing to do")
        await query.edit_message_text(f"Nothing changed: the {esc(change.describe())} was {verb} meanwhile.")
        return
    log.info("audit: admin %s %s %s", _who(update.effective_user), verb, change.describe())
    await query.answer("Done")
    await query.edit_message_text(f"✅ {esc(verb.capitalize())} the {esc(change.describe())}. {_effect(change)}")


def _effect(change: Change) -> str:
    if change.kind == "topic":
        return "Subscribers can follow it with /topics now." if change.adding else "It is no longer offered."
    if change.kind == "feed":
        return "The monitors poll it from their next look at the list." if change.adding else \
            "The monitors stop polling it at their next look at the list."
    return "The monitors watch it from their next look at the list." if change.adding else \
        "The monitors stop watching it at their next look at the list."
