"""Telegram Desktop JSON exports (`result.json`) of one chat or of a whole account.

The whole file is read and checked before anything is stored, so a truncated or invalid
export raises `ImportFormatError` naming the file and the problem, and changes nothing.

Exports before Telegram Desktop 3.x give times only as local time without an offset (the
exporting computer's); those are read in the zone the caller names, and counted, so the
import can say which zone it assumed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from communique.errors import ImportFormatError
from communique.inputs import MAX_MESSAGE_ID, MAX_STATEMENT_TEXT, capped, checked_date, from_unix, unicode_text
from communique.models import Statement

CHANNEL_TYPES = ("public_channel", "private_channel", "public_supergroup", "private_supergroup", "personal_chat",
                 "private_group", "bot_chat", "saved_messages")
MEDIA_TYPES = {"video_file": "video", "animation": "animation", "voice_message": "voice", "audio_file": "audio",
               "video_message": "video", "sticker": "sticker"}


@dataclass(slots=True)
class ExportedChat:
    name: str
    tg_id: int
    chat_type: str
    channel: str
    statements: list[Statement]
    local_times: int = 0  # posts dated only in local time (an older export)


def looks_like_export(data: Any) -> bool:
    return isinstance(data, dict) and ("messages" in data or "chats" in data)


def load_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read ({exc.strerror or exc})") from exc
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ImportFormatError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if not raw.rstrip().endswith((b"}", b"]")) else ""
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ImportFormatError(path, f"not valid JSON: {exc.msg} at {where}{hint}") from exc
    except ValueError as exc:  # a number of thousands of digits
        raise ImportFormatError(path, f"not valid JSON: {str(exc).split(';')[0]}") from exc
    except RecursionError:
        raise ImportFormatError(path, "not valid JSON: nested too deeply") from None


def read_export(path: Path, resolve: Callable[[int, str, str], str], *, zone: tzinfo = UTC) -> list[ExportedChat]:
    """Parse an export; `resolve(id, name, type)` gives a chat's channel key; local times are read in `zone`."""
    data = load_json(path)
    if not looks_like_export(data):
        raise ImportFormatError(path, "not a Telegram Desktop export (no 'messages' or 'chats' at the top level)")
    chats: list[dict[str, Any]]
    if "messages" in data:
        chats = [data]
    else:
        chats = []
        for section in ("chats", "left_chats"):
            block = data.get(section) or {}
            if not isinstance(block, dict) or not isinstance(block.get("list", []), list):
                raise ImportFormatError(path, f"'{section}.list' must be a list of chats")
            chats.extend(block.get("list", []))
    result = []
    for index, chat in enumerate(chats):
        where = f"chat {index + 1}" if len(chats) > 1 else "the chat"
        if not isinstance(chat, dict) or not isinstance(chat.get("messages"), list):
            raise ImportFormatError(path, f"{where} has no 'messages' list")
        tg_id = chat.get("id")
        if not _is_id(tg_id):
            raise ImportFormatError(path, f"{where} has no numeric 'id'")
        name = str(chat.get("name") or tg_id)
        chat_type = str(chat.get("type", ""))
        key = resolve(tg_id, name, chat_type)
        statements = [s for i, m in enumerate(chat["messages"]) if (s := _message(path, where, i, m, key, zone))]
        local = sum(1 for m in chat["messages"] if isinstance(m, dict) and "date_unixtime" not in m)
        result.append(ExportedChat(name, tg_id, chat_type, key, statements, local))
    return result


def _message(path: Path, where: str, index: int, message: Any, channel: str, zone: tzinfo) -> Statement | None:
    if not isinstance(message, dict):
        raise ImportFormatError(path, f"{where}, message {index + 1}: expected an object")
    if message.get("type", "message") != "message":
        return None  # service messages: pins, joins, title changes
    message_id = message.get("id")
    if not _is_id(message_id):
        raise ImportFormatError(path, f"{where}, message {index + 1}: missing numeric 'id'")
    label = f"{where}, message id {message_id}"
    try:
        text, truncated = capped(unicode_text(flatten_text(message.get("text", ""))), MAX_STATEMENT_TEXT)
        forwarded_from = unicode_text(str(message.get("forwarded_from") or "")) or None
    except ValueError as exc:
        raise ImportFormatError(path, f"{label}: {exc}") from exc
    return Statement(
        channel=channel, ext_id=str(message_id), message_id=message_id, text=text, truncated=truncated,
        date=_date(path, label, message, "date", zone),
        edit_date=_date(path, label, message, "edited", zone) if "edited" in message else None,
        forwarded_from=forwarded_from,
        media="photo" if "photo" in message else MEDIA_TYPES.get(message.get("media_type", "")),
        source="export",
    )


def _is_id(value: Any) -> bool:
    """A chat's or message's id: an integer SQLite can store (Telegram's ids are far smaller)."""
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_MESSAGE_ID


def flatten_text(value: Any) -> str:
    """An export's `text`: a plain string, or a list of strings and entity parts."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise ValueError(f"'text' must be a string or a list, got {type(value).__name__}")
    out = []
    for part in value:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            href = part.get("href")
            out.append(f"{part['text']} ({href})" if part.get("type") == "text_link" and href and href != part["text"]
                       else part["text"])
        else:
            raise ValueError(f"'text' has a part that is neither a string nor an entity: {part!r:.60}")
    return "".join(out)


def _date(path: Path, label: str, message: dict[str, Any], field: str, zone: tzinfo) -> datetime | None:
    unix = message.get(f"{field}_unixtime")
    try:
        if unix is not None:
            return from_unix(int(unix))
        if message.get(field):
            parsed = datetime.fromisoformat(str(message[field]))
            return checked_date(parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ImportFormatError(path, f"{label}: unreadable {field!r} ({exc})") from exc
    if field == "date":
        raise ImportFormatError(path, f"{label}: missing 'date'")
    return None
