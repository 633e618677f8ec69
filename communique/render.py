"""The texts subscribers receive: alerts and their follow-ups, as Telegram HTML under 4096 characters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from communique.discrepancy import Difference
from communique.i18n import ENGLISH, N_, Tr
from communique.matching import group_near_duplicates
from communique.messages import MESSAGE_LIMIT, esc, excerpt, length, link, word_diff
from communique.store.timefmt import from_db

MAX_NEWS_LINES = 8
MAX_RELATED_LINES = 3
COVERAGE_ROOM = 1600  # characters an alert keeps for a coverage block filled in when it is sent
NOT_YET_REPORTED = N_("No tracked outlet has reported this yet.")


def local_time(value: str | datetime | None, tz: tzinfo, t: Tr = ENGLISH) -> str:
    moment = from_db(value) if isinstance(value, str) else value
    if moment is None:
        return t.gettext("time unknown")
    local = moment.astimezone(tz)
    # TRANSLATORS: a date and time as a CLDR pattern (dd day, MMM month's short name, MMMM its full name, y year).
    return t.datetime(local, t.gettext("dd MMM y, HH:mm")) + " " + (local.tzname() or "")


def delay_text(minutes: int | None, t: Tr = ENGLISH) -> str:
    if minutes is None:
        return ""
    if minutes < 0:
        return t.gettext("before the post")
    if minutes < 60:
        return t.gettext("+{minutes} min").format(minutes=minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return t.gettext("+{hours} h {minutes} min").format(hours=hours, minutes=f"{rest:02d}")
    return t.ngettext("+{count} day", "+{count} days", hours // 24).format(count=hours // 24)


def news_line(item: Mapping[str, Any], t: Tr = ENGLISH) -> str:
    title = excerpt(item.get("title") or item.get("text") or t.gettext("(untitled)"), 140)
    when = delay_text(item.get("delay_minutes"), t)
    lang = f" ({esc(item['lang'])})" if item.get("lang") else ""
    outlet, title = f"<b>{t.isolate(esc(item['source']))}</b>{lang}", link(item.get("url"), t.isolate(title))
    if when:
        line = "• " + t.gettext("{outlet}, {delay}: {title}").format(outlet=outlet, delay=esc(when), title=title)
    else:
        line = "• " + t.gettext("{outlet}: {title}").format(outlet=outlet, title=title)
    if item.get("via_source"):  # covered through another outlet's report, which it repeats in its language
        carrier = link(item.get("via_url"), t.isolate(item["via_source"]))
        line += " · " + t.gettext("repeats {outlet}'s report").format(outlet=carrier)
    return line


def difference_note(differences: Sequence[Difference], t: Tr = ENGLISH) -> str:
    """"⚠ reports 31 drones (statement: 46)": what a report gives otherwise than the statement."""
    return "⚠ " + "; ".join(esc(d.describe(t)) for d in differences)


def coverage_block(news: Sequence[Mapping[str, Any]], max_lines: int = MAX_NEWS_LINES,
                   differs: Mapping[int, Sequence[Difference]] | None = None, t: Tr = ENGLISH,
                   related: Sequence[Mapping[str, Any]] = ()) -> str:
    """Who reported the statement, earliest first; one wire story carried by several outlets is one line.
    A report whose figures, regions or day differ from the statement's (`differs`, by news id) says so
    under its line.  Then the `related` news, which report a statement of the same kind with other
    figures, regions or day: never coverage, but a misreport or a post of another day worth a look."""
    block = _reports_block(news, max_lines, differs, t)
    if related and max_lines:
        block += "\n" + _related_block(related, min(max_lines, MAX_RELATED_LINES), differs, t)
    return block


def _more(count: int, t: Tr) -> str:
    return t.ngettext("… and {count} more", "… and {count} more", count).format(count=count)


def _related_block(related: Sequence[Mapping[str, Any]], max_lines: int,
                   differs: Mapping[int, Sequence[Difference]] | None, t: Tr) -> str:
    head = t.gettext("Related, with other figures, regions or day:")
    lines = []
    for item in related[:max_lines]:
        note = (differs or {}).get(item.get("news_id", -1))
        lines.append(news_line(item, t) + (f"\n   {difference_note(note, t)}" if note else ""))
    if len(related) > max_lines:
        lines.append(_more(len(related) - max_lines, t))
    return t.lines("\n".join([f"<b>{head}</b>", *lines]))


def _reports_block(news: Sequence[Mapping[str, Any]], max_lines: int,
                   differs: Mapping[int, Sequence[Difference]] | None, t: Tr) -> str:
    if not news:
        return "<i>" + t.gettext(NOT_YET_REPORTED) + "</i>"
    outlets = len({n["source"] for n in news})
    head = t.ngettext("Reported by {count} outlet", "Reported by {count} outlets", outlets).format(count=outlets)
    if len(news) != outlets:
        head += " " + t.ngettext("in {count} item", "in {count} items", len(news)).format(count=len(news))
    stories = group_near_duplicates((i, n.get("title") or n.get("text") or "") for i, n in enumerate(news))
    lines = []
    for first, *copies in stories[:max_lines]:
        also = t.join(link(news[i].get("url"), t.isolate(news[i]["source"])) for i in copies)
        note = (differs or {}).get(news[first].get("news_id", -1))
        lines.append(news_line(news[first], t) + (" · " + t.gettext("also {outlets}").format(outlets=also)
                                                  if also else "")
                     + (f"\n   {difference_note(note, t)}" if note else ""))
    if len(stories) > max_lines:
        lines.append(_more(len(stories) - max_lines, t))
    return t.lines("\n".join([f"<b>{head}:</b>", *lines]))


def alert_text(statement: Mapping[str, Any], channel_title: str, news: Sequence[Mapping[str, Any]] | str,
               reasons: Sequence[str], tz: tzinfo, *,
               first_posted: tuple[str, Mapping[str, Any]] | None = None, t: Tr = ENGLISH) -> str:
    """A new statement: who said it, when, an excerpt, the source link, and who has reported it.

    `first_posted` names the channel and statement this one reposts, shown as a second source.
    `news` may be a placeholder (`communique.alert_coverage`) that `with_coverage` replaces when the
    alert is sent; the excerpt then leaves room for the coverage block.
    """
    header = f"🔔 <b>{t.isolate(esc(channel_title))}</b> · {esc(local_time(statement['date'], tz, t))}"
    source = link(statement.get("url"), t.gettext("Source post"))
    if first_posted is not None:
        first_title, first = first_posted
        source += "\n" + t.gettext("First posted by {channel} · {time}: {post}").format(
            channel=f"<b>{t.isolate(esc(first_title))}</b>", time=esc(local_time(first["date"], tz, t)),
            post=link(first.get("url"), t.gettext("post")))
    followed = esc(t.join(t.isolate(_reason_label(r, t)) for r in reasons))
    why = "<i>" + t.gettext("You follow: {subscriptions}").format(subscriptions=followed) + "</i>" if reasons else ""
    coverage = news if isinstance(news, str) else coverage_block(news, t=t)
    extras = [b for b in (source, coverage, why) if b]
    room = COVERAGE_ROOM - length(coverage) if isinstance(news, str) else 0
    fixed = length(header) + sum(length(b) + 2 for b in extras) + room + 40
    body = excerpt(statement.get("text") or "", max(200, min(1500, MESSAGE_LIMIT - fixed)))
    media = f"[{statement['media']}] " if statement.get("media") else ""
    quote = f"<blockquote>{esc(media)}{esc(body)}</blockquote>" if body or media else ""
    return _fit(t.lines("\n\n".join(b for b in (header, quote, *extras) if b)))


def _post_of(statement: Mapping[str, Any], tz: tzinfo, t: Tr) -> str:
    return t.gettext("post of {time}").format(time=esc(local_time(statement["date"], tz, t)))


def edit_text(statement: Mapping[str, Any], channel_title: str, old_text: str, tz: tzinfo, t: Tr = ENGLISH) -> str:
    header = ("✏️ <b>" + t.gettext("Edited") + f"</b> · {t.isolate(esc(channel_title))} · "
              f"{_post_of(statement, tz, t)}")
    diff = word_diff(old_text, statement.get("text") or "", limit=MESSAGE_LIMIT - 600)
    return _fit("\n\n".join([t.lines(header), diff, t.lines(link(statement.get("url"), t.gettext("Source post")))]))


def deletion_text(statement: Mapping[str, Any], channel_title: str, tz: tzinfo, t: Tr = ENGLISH) -> str:
    header = ("🗑 <b>" + t.gettext("Deleted") + f"</b> · {t.isolate(esc(channel_title))} · "
              f"{_post_of(statement, tz, t)}")
    archived = excerpt(statement.get("text") or "", 2500)
    archived_label = t.gettext("Archived text:")
    return _fit(t.lines(f"{header}\n\n{archived_label}\n<blockquote>{esc(archived)}</blockquote>"))


def coverage_text(statement: Mapping[str, Any], channel_title: str, item: Mapping[str, Any], tz: tzinfo,
                  differs: Sequence[Difference] = (), t: Tr = ENGLISH) -> str:
    header = ("📰 <b>" + t.gettext("Now reported") + f"</b> · {t.isolate(esc(channel_title))} · "
              f"{_post_of(statement, tz, t)}")
    note = [difference_note(differs, t)] if differs else []
    return _fit(t.lines("\n".join([header, t.isolate(esc(excerpt(statement.get("text") or "", 300))),
                                   news_line(item, t), *note,
                                   link(statement.get("url"), t.gettext("Source post"))])))


def with_coverage(text: str, placeholder: str, news: Sequence[Mapping[str, Any]],
                  differs: Mapping[int, Sequence[Difference]] | None = None, t: Tr = ENGLISH,
                  related: Sequence[Mapping[str, Any]] = ()) -> str:
    """An alert rendered with a coverage placeholder, completed with the coverage (and related news) as it
    is now; fewer lines if an unusually long block would not fit."""
    for lines in range(MAX_NEWS_LINES, -1, -1):
        done = text.replace(placeholder, coverage_block(news, lines, differs, t, related))
        if length(done) <= MESSAGE_LIMIT:
            return done
    return _fit(done)


def _reason_label(reason: str, t: Tr) -> str:
    kind, _, value = reason.partition(":")
    if kind == "keyword":
        return t.gettext("“{keyword}”").format(keyword=value)
    return f"@{value}" if kind == "channel" else value


def _fit(text: str) -> str:
    if length(text) <= MESSAGE_LIMIT:
        return text
    raise ValueError(f"rendered message is {length(text)} characters, over Telegram's {MESSAGE_LIMIT}")
