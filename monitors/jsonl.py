"""JSON Lines files of statements or news, the batch format of `communique match` and `import`.

Statements: {"id", "text", "date"?, "channel"?, "url"?, "lang"?}
News:       {"id", "text", "title"?, "url"?, "source"?, "date"?, "lang"?}
An invalid line stops the read with an error naming the file and the line number: not JSON (NaN
and Infinity are not JSON numbers), nested too deeply, a date outside 1900-2199, a numeric id too
large for a message id, a lone surrogate in a text, a `url` that is not an http(s) link, a
`channel` that is neither a Telegram username nor a numeric id, a line over `inputs.MAX_LINE`.
A longer text than `inputs` allows is cut, with a note.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from communique.errors import ImportFormatError
from communique.inputs import (
    MAX_LINE,
    MAX_NEWS_TEXT,
    MAX_STATEMENT_TEXT,
    capped,
    channel_name,
    checked_date,
    from_unix,
    http_url,
    message_id,
    unicode_text,
)
from communique.models import NewsItem, Statement


def parse_date(value: Any) -> datetime | None:
    """ISO 8601 text (a trailing Z allowed) or Unix seconds, between 1900 and 2199; naive times are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return from_unix(value)
    if not isinstance(value, str):
        raise ValueError(f"date must be ISO 8601 text or Unix seconds, got {value!r:.40}")
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return checked_date(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ImportFormatError(path, f"cannot read ({exc.strerror or exc})") from exc
    with handle:
        try:
            number = 0
            while line := handle.readline(MAX_LINE + 1):  # a huge line is refused, not read whole
                number += 1
                if len(line) > MAX_LINE:
                    raise ImportFormatError(path, f"line {number}: longer than {MAX_LINE:,} characters; a record's "
                                                  f"text is cut at {MAX_NEWS_TEXT:,} anyway")
                if not line.strip():
                    continue
                try:
                    record = json.loads(line, parse_constant=_no_constant)
                except json.JSONDecodeError as exc:
                    raise ImportFormatError(path, f"line {number}: not valid JSON ({exc.msg})") from exc
                except ValueError as exc:  # NaN or Infinity, or a number of thousands of digits
                    raise ImportFormatError(path, f"line {number}: not valid JSON ({str(exc).split(';')[0]})") from exc
                except RecursionError:
                    raise ImportFormatError(path, f"line {number}: not valid JSON (nested too deeply)") from None
                if not isinstance(record, dict):
                    raise ImportFormatError(path, f"line {number}: expected a JSON object")
                yield number, record
        except UnicodeDecodeError as exc:
            raise ImportFormatError(path, f"not UTF-8 text ({exc.reason})") from exc


def _text_field(path: Path, number: int, record: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = record.get(name)
    if value is None:
        if required:
            raise ImportFormatError(path, f"line {number}: missing field {name!r}")
        return None
    if isinstance(value, int) and not isinstance(value, bool) and name == "id":
        return str(value)
    if not isinstance(value, str):
        raise ImportFormatError(path, f"line {number}: field {name!r} must be a string")
    try:
        return unicode_text(value)
    except ValueError as exc:
        raise ImportFormatError(path, f"line {number}: field {name!r} {exc}") from None


def _checked(path: Path, number: int, name: str, value: str | None, check: Callable[[str], str]) -> str | None:
    """`check(value)` unless the field is absent or empty; its ValueError names the file and line."""
    if not value:
        return None
    try:
        return check(value)
    except ValueError as exc:
        raise ImportFormatError(path, f"line {number}: field {name!r}: {exc}") from None


def _date(path: Path, number: int, record: dict[str, Any]) -> datetime | None:
    try:
        return parse_date(record.get("date"))
    except ValueError as exc:
        raise ImportFormatError(path, f"line {number}: bad date ({exc})") from exc


def read_statements(path: Path) -> list[Statement]:
    statements: list[Statement] = []
    seen: set[tuple[str, str]] = set()
    for number, record in _records(path):
        ext_id = _text_field(path, number, record, "id", required=True)
        assert ext_id is not None
        text = _text_field(path, number, record, "text", required=True) or ""
        given_channel = _text_field(path, number, record, "channel", required=False)
        channel = _checked(path, number, "channel", given_channel, channel_name) or path.stem.lower()
        try:
            number_id = message_id(ext_id)
        except ValueError as exc:
            raise ImportFormatError(path, f"line {number}: {exc}") from None
        if (channel, ext_id) in seen:
            raise ImportFormatError(path, f"line {number}: id {ext_id!r} appears twice")
        seen.add((channel, ext_id))
        url = _checked(path, number, "url", _text_field(path, number, record, "url", required=False), http_url)
        text, truncated = capped(text, MAX_STATEMENT_TEXT)
        statements.append(Statement(
            channel=channel, ext_id=ext_id, text=text, truncated=truncated, date=_date(path, number, record),
            url=url if url or not given_channel else None,
            lang=_text_field(path, number, record, "lang", required=False),
            message_id=number_id if given_channel else None, source="jsonl",
        ))
    return statements


def read_news(path: Path) -> list[NewsItem]:
    items: list[NewsItem] = []
    for number, record in _records(path):
        guid = _text_field(path, number, record, "id", required=True)
        assert guid is not None
        text, truncated = capped(_text_field(path, number, record, "text", required=True) or "", MAX_NEWS_TEXT)
        items.append(NewsItem(
            source=_text_field(path, number, record, "source", required=False) or path.stem,
            guid=guid,
            text=text,
            truncated=truncated,
            title=_text_field(path, number, record, "title", required=False) or "",
            url=_checked(path, number, "url", _text_field(path, number, record, "url", required=False),
                         http_url),
            date=_date(path, number, record),
            lang=_text_field(path, number, record, "lang", required=False),
            feed=str(path),
        ))
    return items
