"""Inline keyboards and their callback data (Telegram allows at most 64 bytes of callback data).

A confirmation button carries `change:yes:` or `change:no:` and the short id under which the bot
keeps the change asked for (the change itself would not fit: a feed's URL alone may be longer).

A topic button carries `topic:` and a short digest of the topic's name, not the name itself
(a name may be 40 Cyrillic letters, 80 bytes) nor its position (which moves when the
configuration changes, so an old keyboard would toggle the wrong topic).
"""

from __future__ import annotations

import hashlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from communique.i18n import ENGLISH, LANGUAGES, Tr
from communique.settings import TopicConfig

TOPIC_PREFIX = "topic:"
LANGUAGE_PREFIX = "lang:"
CHANGE_PREFIX = "change:"
MAX_LABEL = 48


def topic_token(name: str) -> str:
    return hashlib.blake2b(name.encode(), digest_size=6).hexdigest()


def topic_data(name: str) -> str:
    """`topic:` and 12 hex digits: 18 bytes whatever the name."""
    return TOPIC_PREFIX + topic_token(name)


def topic_from_data(data: str, topics: tuple[TopicConfig, ...]) -> TopicConfig | None:
    """The configured topic a button press names, or None for a stale button (topic since removed)."""
    token = data.removeprefix(TOPIC_PREFIX)
    return next((t for t in topics if topic_token(t.name) == token), None)


def topics_keyboard(topics: tuple[TopicConfig, ...], followed: set[str]) -> InlineKeyboardMarkup:
    """One button per topic, ticked when the chat follows it; pressing toggles."""
    rows = []
    for topic in topics:
        label = topic.title if len(topic.title) <= MAX_LABEL else topic.title[: MAX_LABEL - 1] + "…"
        mark = "✅" if topic.name in followed else "➕"
        rows.append([InlineKeyboardButton(f"{mark} {label}", callback_data=topic_data(topic.name))])
    return InlineKeyboardMarkup(rows)


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    """One button per language, in its own name (`lang:` and the code: 7 bytes); the current one ticked."""
    buttons = [InlineKeyboardButton(f"✅ {name}" if code == current else name, callback_data=LANGUAGE_PREFIX + code)
               for code, name in LANGUAGES.items()]
    return InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)])
def confirm_keyboard(change_id: str, t: Tr = ENGLISH) -> InlineKeyboardMarkup:
    """Confirm / Cancel under an admin's catalogue change; `change:yes:` and 8 hex digits, 19 bytes."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton("✅ " + t.gettext("Confirm"), callback_data=f"{CHANGE_PREFIX}yes:{change_id}"),
        InlineKeyboardButton("✖️ " + t.gettext("Cancel"), callback_data=f"{CHANGE_PREFIX}no:{change_id}"),
    ]])


def change_from_data(data: str) -> tuple[bool, str]:
    """(confirmed, change id) from a confirmation button's data."""
    answer, _, change_id = data.removeprefix(CHANGE_PREFIX).partition(":")
    return answer == "yes", change_id
