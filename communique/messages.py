"""Telegram message text: HTML escaping, excerpts, word diffs and splitting under the size limit.

Telegram counts a message's length after entity parsing (tags do not count) in UTF-16 code
units; we count the HTML source in UTF-16 units instead, which is never less, so a text
that passes here always passes there.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Iterable

from communique.inputs import is_http_url

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024


def length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def excerpt(text: str, limit: int) -> str:
    """Plain-text excerpt of at most `limit` characters, cut at a word boundary with an ellipsis."""
    text = re.sub(r"[ \t]+", " ", text.strip())
    text = re.sub(r"\n{3,}", "\n\n", text)
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


MAX_URL = 2048


def link(url: str | None, label: str) -> str:
    """An HTML link; without a usable address (none, absurdly long, or not http(s)) just the label."""
    if not url or len(url) > MAX_URL or not is_http_url(url):
        return esc(label)
    return f'<a href="{esc(url)}">{esc(label)}</a>'


def word_diff(old: str, new: str, *, limit: int = 1500) -> str:
    """A readable HTML word diff: removed words struck through, added words in bold."""
    a, b = old.split(), new.split()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            words = a[i1:i2]
            out.append(esc(" ".join(words if len(words) <= 12 else [*words[:5], "…", *words[-5:]])))
        if op in ("delete", "replace"):
            out.append(f"<s>{esc(' '.join(a[i1:i2]))}</s>")
        if op in ("insert", "replace"):
            out.append(f"<b>{esc(' '.join(b[j1:j2]))}</b>")
    text = " ".join(out)
    if length(text) > limit:
        # Too long to show inline: fall back to the new text only.
        return "<b>New text:</b> " + esc(excerpt(new, limit - 20))
    return text


def split_blocks(blocks: list[str], limit: int = MESSAGE_LIMIT, *, separator: str = "\n\n") -> list[str]:
    """Pack HTML blocks into messages of at most `limit`; a block never straddles two messages.

    A single block longer than the limit is cut at line, then word, boundaries: callers keep
    each element's tags on one line so a cut never breaks an element.
    """
    pieces = (piece for block in blocks for piece in _fit_units(block, limit, "\n"))
    return _pack(pieces, limit, separator)


def _fit_units(text: str, limit: int, joiner: str) -> list[str]:
    """`text` if it fits, else its lines (or words) packed into pieces that fit."""
    if length(text) <= limit:
        return [text]
    if joiner == "\n":
        return _pack((unit for line in text.split("\n") for unit in _fit_units(line, limit, " ")), limit, "\n")
    words: list[str] = []
    for word in text.split(" "):
        while length(word) > limit:  # one enormous "word": hard cut as a last resort
            words.append(word[: limit // 2])
            word = word[limit // 2:]
        words.append(word)
    return _pack(words, limit, " ")


def _pack(units: Iterable[str], limit: int, joiner: str) -> list[str]:
    """Greedily join units with `joiner` into strings of at most `limit`."""
    packed: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}{joiner}{unit}" if current else unit
        if length(candidate) <= limit:
            current = candidate
        else:
            if current:
                packed.append(current)
            current = unit
    if current:
        packed.append(current)
    return packed


_TELEGRAM_TAG = re.compile(
    r"</?(?:b|strong|i|em|u|ins|s|strike|del|a|code|pre|blockquote|tg-spoiler|tg-emoji|span)(?:\s[^<>]*)?>",
    re.IGNORECASE)


def strip_tags(text: str) -> str:
    """Plain text of Telegram HTML, for the fallback when Telegram rejects the markup.

    Only the tags Telegram knows are removed, so stray text such as "3 < 5 & 7 > 2" survives.
    """
    return html.unescape(_TELEGRAM_TAG.sub("", text))


def to_terminal(text: str) -> str:
    """Our Telegram HTML as plain terminal text, with each link's address shown after its label."""
    text = re.sub(r'<a href="([^"]*)">(.*?)</a>', lambda m: f"{m.group(2)} ({html.unescape(m.group(1))})", text)
    text = re.sub(r"</?blockquote>", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", strip_tags(text)).strip()
