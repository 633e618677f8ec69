"""A chat's settings: /digest, /timezone, /updates, /pause, /resume, and /stop (forget the chat)."""

from __future__ import annotations

import asyncio
import difflib
import re
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from communique.bot.chats import overview
from communique.bot.context import Context, schedule_changed, settings_of, store_of
from communique.bot.handlers.common import arg_text, log, now, register_chat, reply, usage, zone
from telegram import Update

from communique.messages import esc
from communique.store.subscribers import forget, update_subscriber

_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
SWITCHES = {"edits": ("edit_followups", "follow-ups when a post is edited or deleted"),
            "coverage": ("coverage_followups", "follow-ups when an outlet first reports a statement"),
            "empty": ("empty_digest", "a digest on days with nothing new")}


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
    text = arg_text(update).lower()
    match = _TIME.match(text)
    if text != "off" and match is None:
        problem = f"“{esc(text)}” is not a time such as 07:30." if text else "At what time?"
        await usage(update, "digest", problem)
        return
    chat_id = await register_chat(update, context)
    value = None if match is None else f"{int(match.group(1)):02d}:{match.group(2)}"
    await store_of(context).run(update_subscriber, chat_id, digest_time=value)
    await schedule_changed(context, chat_id)
    subscriber, _ = await store_of(context).run(overview, chat_id)
    tz = zone(subscriber, settings_of(context)).key
    await reply(update, f"✅ Daily digest at {value} ({esc(tz)}). /timezone changes the zone." if value else
                "✅ Daily digest off. /digest 08:00 turns it back on.")


async def timezone(update: Update, context: Context) -> None:
    """Set the chat's time zone (an IANA name such as Europe/Moscow)."""
    text = arg_text(update)
    name = await find_zone(text) if text else None
    if name is None:
        if not text:
            await usage(update, "timezone", "Which time zone? Give an IANA name, Area/City.")
            return
        close = difflib.get_close_matches(text.replace(" ", "_"), sorted(_zones().values()), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        await usage(update, "timezone", f"“{esc(text)}” is not a time zone I know.{esc(hint)}")
        return
    chat_id = await register_chat(update, context)
    await store_of(context).run(update_subscriber, chat_id, timezone=name)
    await schedule_changed(context, chat_id)
    local = now().astimezone(ZoneInfo(name)).strftime("%H:%M")
    await reply(update, f"✅ Time zone: {esc(name)} (it is {local} there now).")


async def updates(update: Update, context: Context) -> None:
    """Turn follow-up messages on or off: edits and deletions, new coverage, empty digests."""
    words = arg_text(update).lower().split()
    if len(words) != 2 or words[0] not in SWITCHES or words[1] not in ("on", "off"):
        chat_id = await register_chat(update, context)
        subscriber, _ = await store_of(context).run(overview, chat_id)
        current = "\n".join(f"• {name}: {'on' if subscriber[column] else 'off'} ({about})"
                            for name, (column, about) in SWITCHES.items())
        await usage(update, "updates", f"Follow-ups for this chat:\n{current}\n")
        return
    column, about = SWITCHES[words[0]]
    chat_id = await register_chat(update, context)
    await store_of(context).run(update_subscriber, chat_id, **{column: int(words[1] == "on")})
    await reply(update, f"✅ {about[0].upper()}{about[1:]}: {words[1]}.")


async def pause(update: Update, context: Context) -> None:
    """Stop alerts and digests until /resume (subscriptions and settings are kept)."""
    chat_id = await register_chat(update, context)
    await store_of(context).run(update_subscriber, chat_id, paused=1)
    await reply(update, "⏸ Paused: no alerts and no digest until /resume. What this chat follows is kept.")


async def resume(update: Update, context: Context) -> None:
    """Turn alerts back on after /pause."""
    chat_id = await register_chat(update, context)
    await store_of(context).run(update_subscriber, chat_id, paused=0)
    await reply(update, "▶️ Alerts and the daily digest are on again.")


async def stop(update: Update, context: Context) -> None:
    """Forget this chat: its subscriptions, settings and undelivered messages."""
    chat = update.effective_chat
    assert chat is not None
    await store_of(context).run(forget, chat.id)
    await schedule_changed(context, chat.id)
    log.info("chat %s forgotten (/stop)", chat.id)
    await reply(update, "Done: this chat's subscriptions, settings and queued messages are deleted, and nothing "
                        "more will be sent. /start begins again.")
