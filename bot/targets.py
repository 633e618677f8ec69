"""What `/subscribe X` means: a configured topic, a channel, or a keyword.

- a configured topic's name ("air-defence") -> topic;
- `@name`, `t.me/name` or `https://t.me/name` -> channel, keyed by lower-case username;
- anything else -> keyword, matched by the rule in `communique.audience` (stems, so inflected
  forms and spelling variants meet; see that module).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from communique.i18n import ENGLISH, Tr
from communique.messages import esc
from communique.normalise import STOPWORDS, drop_invisible, fold
from communique.settings import Settings

_CHANNEL = re.compile(r"(?:@|(?:https?://)?t\.me/)([A-Za-z][A-Za-z0-9_]{3,31})/?", re.IGNORECASE)
MAX_KEYWORD = 64


class TargetError(ValueError):
    """The text cannot be followed; the message says why (HTML-escaped, ready to send)."""


@dataclass(frozen=True, slots=True)
class Target:
    kind: str  # topic, keyword or channel
    value: str

    def label(self, settings: Settings, t: Tr = ENGLISH) -> str:
        """How the bot names it in replies (HTML)."""
        if self.kind == "topic":
            topic = settings.topic(self.value)
            return t.gettext("topic {title} ({name})").format(
                title=f"<b>{t.isolate(esc(topic.title if topic else self.value))}</b>", name=t.isolate(esc(self.value)))
        if self.kind == "channel":
            channel = settings.channel(self.value)
            return t.isolate(f"@{esc(self.value)}") + (f" ({t.isolate(esc(channel.title))})" if channel else "")
        return t.gettext("keyword “{keyword}”").format(keyword=t.isolate(esc(self.value)))


def channel_username(text: str) -> str | None:
    """The lower-case username in `@name` or a t.me link, else None."""
    match = _CHANNEL.fullmatch(text.strip())
    return match.group(1).lower() if match else None


def parse_target(text: str, settings: Settings, t: Tr = ENGLISH) -> Target:
    text = " ".join(drop_invisible(text).split())
    topic = settings.topic(text)
    if topic is not None:
        return Target("topic", topic.name)
    username = channel_username(text)
    if username is not None:
        return Target("channel", username)
    if text.startswith("@") or "t.me/" in text.lower():
        raise TargetError(t.gettext("{text} is not a channel username (5 to 32 letters, digits or _, starting with "
                                    "a letter)").format(text=t.isolate(esc(text))))
    if len(text) > MAX_KEYWORD:
        raise TargetError(t.ngettext("a keyword can have at most {count} character",
                                     "a keyword can have at most {count} characters", MAX_KEYWORD).format(
                                         count=MAX_KEYWORD))
    words = fold(text).split()
    if not words:
        raise TargetError(t.gettext("“{text}” has no letters or digits to look for").format(
            text=t.isolate(esc(text))))
    if all(word in STOPWORDS for word in words):
        raise TargetError(t.gettext("“{text}” is too common to follow; add a more specific word").format(
            text=t.isolate(esc(text))))
    return Target("keyword", text.lower())


def split_targets(text: str) -> list[str]:
    """`/subscribe a, b` or one per line follows several at once."""
    return [part.strip() for part in re.split(r"[,\n;]", text) if part.strip()]
