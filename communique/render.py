"""The texts subscribers receive: alerts and their follow-ups, as Telegram HTML under 4096 characters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from communique.discrepancy import Difference
from communique.matching import group_near_duplicates
from communique.messages import MESSAGE_LIMIT, esc, excerpt, length, link, word_diff
from communique.store.timefmt import from_db

MAX_NEWS_LINES = 8
COVERAGE_ROOM = 1600  # characters an alert keeps for a coverage block filled in when it is sent
NOT_YET_REPORTED = "No tracked outlet has reported this yet."


def local_time(value: str | datetime | None, tz: tzinfo) -> str:
    moment = from_db(value) if isinstance(value, str) else value
    if moment is None:
        return "time unknown"
    local = moment.astimezone(tz)
    return local.strftime("%d %b %Y, %H:%M ") + (local.tzname() or "")


def delay_text(minutes: int | None) -> str:
    if minutes is None:
        return ""
    if minutes < 0:
        return "before the post"
    if minutes < 60:
        return f"+{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"+{hours} h {rest:02d} min" if hours < 48 else f"+{hours // 24} days"


def news_line(item: Mapping[str, Any]) -> str:
    title = excerpt(item.get("title") or item.get("text") or "(untitled)", 140)
    when = delay_text(item.get("delay_minutes"))
    lang = f" ({esc(item['lang'])})" if item.get("lang") else ""
    return f"• <b>{esc(item['source'])}</b>{lang}{', ' + esc(when) if when else ''}: {link(item.get('url'), title)}"


def difference_note(differences: Sequence[Difference]) -> str:
    """"⚠ reports 31 drones (statement: 46)": what a report gives otherwise than the statement."""
    return "⚠ " + "; ".join(esc(d.describe()) for d in differences)


def coverage_block(news: Sequence[Mapping[str, Any]], max_lines: int = MAX_NEWS_LINES,
                   differs: Mapping[int, Sequence[Difference]] | None = None) -> str:
    """Who reported the statement, earliest first; one wire story carried by several outlets is one line.
    A report whose figures, regions or day differ from the statement's (`differs`, by news id) says so
    under its line."""
    if not news:
        return f"<i>{NOT_YET_REPORTED}</i>"
    outlets = len({n["source"] for n in news})
    items = f" in {len(news)} items" if len(news) != outlets else ""
    head = f"<b>Reported by {outlets} outlet{'s' if outlets != 1 else ''}{items}:</b>"
    stories = group_near_duplicates((i, n.get("title") or n.get("text") or "") for i, n in enumerate(news))
    lines = []
    for first, *copies in stories[:max_lines]:
        also = ", ".join(link(news[i].get("url"), news[i]["source"]) for i in copies)
        note = (differs or {}).get(news[first].get("news_id", -1))
        lines.append(news_line(news[first]) + (f" · also {also}" if also else "")
                     + (f"\n   {difference_note(note)}" if note else ""))
    if len(stories) > max_lines:
        lines.append(f"… and {len(stories) - max_lines} more")
    return "\n".join([head, *lines])


def alert_text(statement: Mapping[str, Any], channel_title: str, news: Sequence[Mapping[str, Any]] | str,
               reasons: Sequence[str], tz: tzinfo, *,
               first_posted: tuple[str, Mapping[str, Any]] | None = None) -> str:
    """A new statement: who said it, when, an excerpt, the source link, and who has reported it.

    `first_posted` names the channel and statement this one reposts, shown as a second source.
    `news` may be a placeholder (`communique.alert_coverage`) that `with_coverage` replaces when the
    alert is sent; the excerpt then leaves room for the coverage block.
    """
    header = f"🔔 <b>{esc(channel_title)}</b> · {esc(local_time(statement['date'], tz))}"
    source = link(statement.get("url"), "Source post")
    if first_posted is not None:
        first_title, first = first_posted
        source += (f"\nFirst posted by <b>{esc(first_title)}</b> · {esc(local_time(first['date'], tz))}: "
                   f"{link(first.get('url'), 'post')}")
    why = f"<i>You follow: {esc(', '.join(_reason_label(r) for r in reasons))}</i>" if reasons else ""
    coverage = news if isinstance(news, str) else coverage_block(news)
    extras = [b for b in (source, coverage, why) if b]
    room = COVERAGE_ROOM - length(coverage) if isinstance(news, str) else 0
    fixed = length(header) + sum(length(b) + 2 for b in extras) + room + 40
    body = excerpt(statement.get("text") or "", max(200, min(1500, MESSAGE_LIMIT - fixed)))
    media = f"[{statement['media']}] " if statement.get("media") else ""
    quote = f"<blockquote>{esc(media)}{esc(body)}</blockquote>" if body or media else ""
    return _fit("\n\n".join(b for b in (header, quote, *extras) if b))


def edit_text(statement: Mapping[str, Any], channel_title: str, old_text: str, tz: tzinfo) -> str:
    header = f"✏️ <b>Edited</b> · {esc(channel_title)} · post of {esc(local_time(statement['date'], tz))}"
    diff = word_diff(old_text, statement.get("text") or "", limit=MESSAGE_LIMIT - 600)
    return _fit("\n\n".join([header, diff, link(statement.get("url"), "Source post")]))


def deletion_text(statement: Mapping[str, Any], channel_title: str, tz: tzinfo) -> str:
    header = f"🗑 <b>Deleted</b> · {esc(channel_title)} · post of {esc(local_time(statement['date'], tz))}"
    archived = excerpt(statement.get("text") or "", 2500)
    return _fit(f"{header}\n\nArchived text:\n<blockquote>{esc(archived)}</blockquote>")


def coverage_text(statement: Mapping[str, Any], channel_title: str, item: Mapping[str, Any], tz: tzinfo,
                  differs: Sequence[Difference] = ()) -> str:
    header = f"📰 <b>Now reported</b> · {esc(channel_title)} · post of {esc(local_time(statement['date'], tz))}"
    note = [difference_note(differs)] if differs else []
    return _fit("\n".join([header, esc(excerpt(statement.get("text") or "", 300)), news_line(item), *note,
                           link(statement.get("url"), "Source post")]))


def with_coverage(text: str, placeholder: str, news: Sequence[Mapping[str, Any]],
                  differs: Mapping[int, Sequence[Difference]] | None = None) -> str:
    """An alert rendered with a coverage placeholder, completed with the coverage as it is now; fewer
    lines if an unusually long block would not fit."""
    for lines in range(MAX_NEWS_LINES, -1, -1):
        done = text.replace(placeholder, coverage_block(news, lines, differs))
        if length(done) <= MESSAGE_LIMIT:
            return done
    return _fit(done)


def _reason_label(reason: str) -> str:
    kind, _, value = reason.partition(":")
    return {"channel": f"@{value}", "keyword": f"“{value}”"}.get(kind, value)


def _fit(text: str) -> str:
    if length(text) <= MESSAGE_LIMIT:
        return text
    raise ValueError(f"rendered message is {length(text)} characters, over Telegram's {MESSAGE_LIMIT}")
