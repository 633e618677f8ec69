"""A chat's settings: /digest, /timezone, /updates, /pause, /resume, and /stop (forget the chat)."""

from __future__ import annotations

import asyncio
import difflib
import re
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from communique.bot.chats import overview
from communique.bot.context import Context, languages_of, schedule_changed, settings_of, store_of
from communique.bot.handlers.common import arg_text, log, now, register_chat, reply, translator, usage, zone
from telegram import Update

from communique.i18n import N_
from communique.messages import esc
from communique.store.subscribers import forget, update_subscriber

_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
SWITCHES = {"edits": ("edit_followups", N_("follow-ups when a post is edited or deleted")),
            "coverage": ("coverage_followups", N_("follow-ups when an outlet first reports a statement")),
            "empty": ("empty_digest", N_("a digest on days with nothing new"))}


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    """IANA zone names by their lower-case form, so "asia/beirut" is understood."""
    return {name.lower(): name for name in available_timezones()}


async def find_zone(text: str) -> str | None:
    """The IANA name for `text`, whatever its case (the first call reads the zone list, off the event loop)."""
    zones = await asyncio.to_thread(_zones)
    return zones.get(text.strip().replace(" ", "_").lower())


async def digest(update: Update, context: Context) -> None:
    """Set the daily digest's local time, or turn it off."""
    t = translator(update, context)
    text = arg_text(update).lower()
    match = _TIME.match(text)
    if text != "off" and match is None:
        problem = (t.gettext("“{text}” is not a time such as 07:30.").format(text=t.isolate(esc(text))) if text
                   else t.gettext("At what time?"))
        await usage(update, "digest", problem, t)
        return
    chat_id = await register_chat(update, context)
    value = None if match is None else f"{int(match.group(1)):02d}:{match.group(2)}"
    await store_of(context).run(update_subscriber, chat_id, digest_time=value)
    await schedule_changed(context, chat_id)
    subscriber, _ = await store_of(context).run(overview, chat_id)
    tz = zone(subscriber, settings_of(context)).key
    done = (t.gettext("Daily digest at {time} ({zone}). /timezone changes the zone.").format(
        time=value, zone=t.isolate(esc(tz))) if value else
        t.gettext("Daily digest off. /digest 08:00 turns it back on."))
    await reply(update, f"✅ {done}", t=t)


async def timezone(update: Update, context: Context) -> None:
    """Set the chat's time zone (an IANA name such as Europe/Moscow)."""
    t = translator(update, context)
    text = arg_text(update)
    name = await find_zone(text) if text else None
    if name is None:
        if not text:
            await usage(update, "timezone", t.gettext("Which time zone? Give an IANA name, Area/City."), t)
            return
        close = difflib.get_close_matches(text.replace(" ", "_"), sorted(_zones().values()), n=3, cutoff=0.6)
        hint = " " + t.gettext("Did you mean {zones}?").format(zones=t.isolate(esc(", ".join(close)))) if close else ""
        await usage(update, "timezone", t.gettext("“{text}” is not a time zone I know.").format(
            text=t.isolate(esc(text))) + hint, t)
        return
    chat_id = await register_chat(update, context)
    await store_of(context).run(update_subscriber, chat_id, timezone=name)
    await schedule_changed(context, chat_id)
    local = now().astimezone(ZoneInfo(name)).strftime("%H:%M")
    await reply(update, "✅ " + t.gettext("Time zone: {zone} (it is {time} there now).").format(
        zone=t.isolate(esc(name)), time=local), t=t)


async def updates(update: Update, context: Context) -> None:
    """Turn follow-up messages on or off: edits and deletions, new coverage, empty digests."""
    t = translator(update, context)
    words = arg_text(update).lower().split()
    if len(words) != 2 or words[0] not in SWITCHES or words[1] not in ("on", "off"):
        chat_id = await register_chat(update, context)
        subscriber, _ = await store_of(context).run(overview, chat_id)
        state = {1: t.gettext("on"), 0: t.gettext("off")}
        current = "\n".join(f"• {t.isolate(name)}: {state[bool(subscriber[column])]} ({t.gettext(about)})"
                            for name, (column, about) in SWITCHES.items())
        await usage(update, "updates", t.gettext("Follow-ups for this chat:") + f"\n{current}\n", t)
        return
    column, about = SWITCHES[words[0]]
    chat_id = await register_chat(update, context)
    await store_of(context).run(update_subscriber, chat_id, **{column: int(words[1] == "on")})
    about, state = t.gettext(about), t.gettext("on") if words[1] == "on" else t.gettext("off")
    await reply(update, f"✅ {about[0].upper()}{about[1:]}: {state}.", t=t)


async def pause(update: Update, context: Context) -> None:
    """Stop alerts and digests until /resume (subscriptions and settings are kept)."""
    chat_id = await register_chat(update, context)
    await store_of(context).run(update_subscriber, chat_id, paused=1)
    t = translator(update, context)
    await reply(update, "⏸ " + t.gettext("Paused: no alerts and no digest until /resume. What this chat follows is "
                                         "kept."), t=t)


async def resume(update: Update, context: Context) -> None:
    """Turn alerts back on after /pause."""
    chat_id = await register_chat(update, context)
    await store_of(context).run(update_subscriber, chat_id, paused=0)
    t = translator(update, context)
    await reply(update, "▶️ " + t.gettext("Alerts and the daily digest are on again."), t=t)


async def stop(update: Update, context: Context) -> None:
    """Forget this chat: its subscriptions, settings and undelivered messages."""
    chat = update.effective_chat
    assert chat is not None
    t = translator(update, context)
    await store_of(context).run(forget, chat.id)
    languages_of(context).pop(chat.id, None)
    await schedule_changed(context, chat.id)
    log.info("chat %s forgotten (/stop)", chat.id)
    await reply(update, t.gettext("Done: this chat's subscriptions, settings and queued messages are deleted, and "
                                  "nothing more will be sent. /start begins again."), t=t)
