"""What the fake Bot API checks in a request as Telegram does: HTML entities, text lengths, buttons.

Split from `fakebotapi` so the server module is only the server.  Errors are `ApiError`, the Bot
API's error answer, with Telegram's own error texts.
"""

from __future__ import annotations

import re
from typing import Any

MAX_TEXT, MAX_CAPTION, MAX_CALLBACK_DATA = 4096, 1024, 64

_HTML_TAGS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
              "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
              "a": "text_link", "code": "code", "pre": "pre", "tg-spoiler": "spoiler", "span": "spoiler",
              "blockquote": "blockquote", "tg-emoji": "custom_emoji"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{1,8});")


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status ``code`` and Telegram's ``description``."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        return body | ({"parameters": self.parameters} if self.parameters else {})


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _html_error(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


def _decode_entities(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith(("#x", "#X")):
            return chr(int(name[2:], 16)) if int(name[2:], 16) <= 0x10FFFF else match.group()
        if name.startswith("#"):
            return chr(int(name[1:])) if int(name[1:]) <= 0x10FFFF else match.group()
        return _NAMED_ENTITIES.get(name.lower(), match.group())

    return _ENTITY_RE.sub(one, text)


def _read_attributes(src: str, i: int, at: int) -> tuple[dict[str, str], int]:
    """Reads ``name="value"`` pairs up to the closing ``>``; returns them and the index after it."""
    attrs: dict[str, str] = {}
    while True:
        while i < len(src) and src[i].isspace():
            i += 1
        if i >= len(src):
            raise _html_error(f"Unclosed start tag at byte offset {at}")
        if src[i] == ">":
            return attrs, i + 1
        name = re.match(r"[^\s=>]*", src[i:]).group()  # type: ignore[union-attr]
        i += len(name)
        value = ""
        if src.startswith("=", i):
            i += 1
            if i < len(src) and src[i] in "\"'":
                end = src.find(src[i], i + 1)
                if end < 0:
                    raise _html_error(f"Unclosed start tag at byte offset {at}")
                value, i = src[i + 1:end], end + 1
            else:
                value = re.match(r"[^\s>]*", src[i:]).group()  # type: ignore[union-attr]
                i += len(value)
        attrs[name.lower()] = _decode_entities(value)


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parses Telegram's HTML parse_mode into plain text and entities, or raises Telegram's 400."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, dict[str, str], int]] = []  # tag, attributes, UTF-16 offset where it opened
    offset = i = 0
    while i < len(src):
        if src[i] != "<":
            end = src.find("<", i)
            end = len(src) if end < 0 else end
            chunk = _decode_entities(src[i:end])
            out.append(chunk)
            offset += utf16_len(chunk)
            i = end
            continue
        at = len(src[:i].encode())
        if src.startswith("</", i):
            end = src.find(">", i)
            if end < 0:
                raise _html_error(f"Unclosed end tag at byte offset {at}")
            name = src[i + 2:end].strip().lower()
            if not stack:
                raise _html_error(f"Unexpected end tag at byte offset {at}")
            tag, attrs, start = stack.pop()
            if name != tag:
                raise _html_error(f'Unmatched end tag at byte offset {at}, '
                                  f'expected "</{tag}>", found "</{name}>"')
            if offset > start and (tag != "a" or attrs.get("href")):
                entities.append(_html_entity(tag, attrs, start, offset - start))
            i = end + 1
            continue
        name = re.match(r"[^\s>]*", src[i + 1:]).group()  # type: ignore[union-attr]
        tag = name.lower()
        if i + 1 + len(name) >= len(src):
            raise _html_error(f"Unclosed start tag at byte offset {at}")
        if tag not in _HTML_TAGS:
            raise _html_error(f'Unsupported start tag "{tag}" at byte offset {at}')
        attrs, i = _read_attributes(src, i + 1 + len(name), at)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _html_error(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        if tag == "tg-emoji" and not attrs.get("emoji-id"):
            raise _html_error(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {at}')
        stack.append((tag, attrs, offset))
    if stack:
        raise _html_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _html_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> dict[str, Any]:
    entity: dict[str, Any] = {"type": _HTML_TAGS[tag], "offset": offset, "length": length}
    if tag == "a":
        entity["url"] = attrs["href"]
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def check_reply_markup(markup: Any) -> None:
    """Telegram refuses inline buttons whose callback_data is empty or over 64 bytes."""
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

