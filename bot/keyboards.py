"""Inline keyboards and their callback data (Telegram allows at most 64 bytes of callback data).

A topic button carries `topic:` and a short digest of the topic's name, not the name itself
(a name may be 40 Cyrillic letters, 80 bytes) nor its position (which moves when the
configuration changes, so an old keyboard would toggle the wrong topic).
"""

from __future__ import annotations

import hashlib

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from communique.i18n import LANGUAGES
from communique.settings import TopicConfig

TOPIC_PREFIX = "topic:"
LANGUAGE_PREFIX = "lang:"
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
