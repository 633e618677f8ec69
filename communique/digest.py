"""The daily digest: what a chat follows, since its previous digest, grouped by topic then channel.

Building (`build_digest`) reads the store; rendering (`render_digest`) is a pure function that
returns messages under Telegram's size limit, split between entries, never mid-word.  Sending is
two steps so the chart can be drawn off the store's thread: `plan_digest` reads, `record_digest`
enqueues the messages and marks the chat's day done, in one transaction, at most once per day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from communique.audience import reasons_by_chat, statement_stems
from communique.coverage_differences import differing_reports
from communique.coverage_stats import StatementCoverage, minutes_text, outlet_speeds
from communique.digest_chart import ChartData, count_by_day, render_chart
from communique.i18n import ENGLISH, N_, Tr, tr
from communique.matching import group_near_duplicates
from communique.messages import MESSAGE_LIMIT, esc, excerpt, length, link, split_blocks
from communique.models import Alert
from communique.pipeline import channel_title
from communique.render import delay_text, local_time
from communique.settings import Settings
from communique.store import matches as match_store
from communique.store import outbox, transaction
from communique.store.subscribers import get_subscriber, subscriptions_of
from communique.store.timefmt import from_db, to_db

OTHER_GROUP = N_("Also followed")
FIRST_PERIOD = timedelta(hours=24)  # a chat's first digest covers the last day
MAX_PERIOD = timedelta(days=7)  # a digest turned back on after a month covers a week, not the month
LATE_ARRIVALS = timedelta(days=1)  # posts fetched after the previous digest, dated up to a day before it
CHART_DAYS = 7
FASTEST_SHOWN, UNREPORTED_SHOWN = 3, 5  # the speed section stays a few lines
NOTHING_NEW = N_("Nothing new on what you follow.")
_stems = lru_cache(maxsize=8192)(lambda text: frozenset(statement_stems(text)))


@dataclass(slots=True)
class Entry:
    statement: dict[str, Any]
    channel_title: str
    coverage: list[dict[str, Any]]
    reposts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (channel title, statement)
    differing: int = 0  # reports whose figures, regions or day differ from the statement's
    related: int = 0  # news of a statement of the same kind with other figures, regions or day (not coverage)

    @property
    def covered(self) -> bool:
        return bool(self.coverage)


@dataclass(slots=True)
class Digest:
    chat_id: int
    start: datetime | None
    end: datetime
    groups: dict[str, dict[str, list[Entry]]] = field(default_factory=dict)  # topic -> channel -> entries
    changes: list[tuple[str, Entry]] = field(default_factory=list)  # ("edited" | "deleted", entry)
    chart: ChartData | None = None

    @property
    def entries(self) -> list[Entry]:
        return [e for channels in self.groups.values() for entries in channels.values() for e in entries]

    @property
    def empty(self) -> bool:
        return not self.groups and not self.changes


def _chart_days(end: datetime, tz: tzinfo) -> tuple[date, ...]:
    """The whole local days before the digest's own (a morning digest's few hours of today would look like a drop)."""
    today = end.astimezone(tz).date()
    return tuple(today - timedelta(days=n) for n in range(CHART_DAYS, 0, -1))


def _candidates(db: Database, *, since: str, lower: str, upper: str) -> list[dict[str, Any]]:
    """Statements dated since `since`, or fetched, edited or deleted in [lower, upper): one indexed scan each."""
    return list(db.query(
        "SELECT * FROM statements WHERE id IN ("
        "SELECT id FROM statements WHERE date >= :since AND date < :upper "
        "UNION SELECT id FROM statements WHERE ingested_at >= :lower AND ingested_at < :upper "
        "UNION SELECT id FROM statements WHERE edited_at >= :lower AND edited_at < :upper "
        "UNION SELECT id FROM statements WHERE deleted_at >= :lower AND deleted_at < :upper) "
        "ORDER BY coalesce(date, ingested_at), id",
        {"since": since, "lower": lower, "upper": upper},
    ))


def _posted(row: dict[str, Any]) -> str:
    return row["date"] or row["ingested_at"]


def build_digest(db: Database, chat_id: int, *, start: datetime | None, end: datetime, settings: Settings,
                 tz: tzinfo | None = None) -> Digest:
    """What the chat follows among statements posted in [start, end), or fetched in it late (dated up to
    LATE_ARRIVALS before it, so a post fetched just after a digest is in the next one); and the period's
    edits and deletions.  With `tz`, also the chat's statements per local day over the week, for the chart.
    """
    subs = [(s.chat_id, s.kind, s.value) for s in subscriptions_of(db, chat_id)]
    digest = Digest(chat_id, start, end)
    if not subs:
        return digest
    topics = {t.name: t.keywords for t in settings.topics}
    titles: dict[str, str] = {}
    lower, upper = to_db(start) or "", to_db(end)
    late = to_db(start - LATE_ARRIVALS) if start else ""
    days = _chart_days(end, tz) if tz else ()
    since = min(lower, to_db(datetime.combine(days[0], time(), tzinfo=tz))) if days else lower
    in_period = lambda value: value is not None and lower <= value < upper  # noqa: E731
    relevant = []
    for row in _candidates(db, since=since, lower=lower, upper=upper):
        reasons = reasons_by_chat(channel=row["channel"], stems=_stems(row["text"]), subscriptions=subs,
                                  topics=topics).get(chat_id)
        if reasons:
            title = titles.setdefault(row["channel"], channel_title(db, row["channel"], settings))
            new = in_period(_posted(row)) or (in_period(row["ingested_at"]) and _posted(row) >= late)
            relevant.append((row, reasons, title, new))
    shown = [r for r in relevant if r[3] or in_period(r[0]["deleted_at"]) or in_period(r[0]["edited_at"])]
    coverage = match_store.coverage(db, [row["id"] for row, *_ in shown])
    related = match_store.related(db, [row["id"] for row, *_ in shown])
    left_out, reposts = _reposts([(row, title) for row, _, title, new in shown if new], coverage)
    differs = differing_reports(db, (item for items in coverage.values() for item in items))
    for row, reasons, title, new in shown:
        if row["id"] in left_out:
            continue  # a repost is shown once, with the post of the channel that published it first
        differing = sum((item["statement_id"], item["news_id"]) in differs for item in coverage[row["id"]])
        entry = Entry(row, title, coverage[row["id"]], reposts.get(row["id"], []), differing,
                      len(related[row["id"]]))
        if new:
            digest.groups.setdefault(_group(reasons, settings), {}).setdefault(title, []).append(entry)
        if in_period(row["deleted_at"]):
            digest.changes.append(("deleted", entry))
        elif in_period(row["edited_at"]):
            digest.changes.append(("edited", entry))
    order = [t.title for t in settings.topics] + [OTHER_GROUP]
    digest.groups = {g: {c: sorted(e, key=lambda x: (x.covered, _posted(x.statement)))
                         for c, e in sorted(digest.groups[g].items())}
                     for g in sorted(digest.groups, key=order.index)}
    if tz is not None:
        dated = ((title, datetime.fromisoformat(row["date"]).astimezone(tz).date())
                 for row, _, title, _ in relevant if row["date"] and row["date"] < upper)
        digest.chart = count_by_day(dated, days)
    return digest


def _reposts(new: list[tuple[dict[str, Any], str]], coverage: dict[int, list[dict[str, Any]]]
             ) -> tuple[set[int], dict[int, list[tuple[str, dict[str, Any]]]]]:
    """Near-duplicate statements of the period (one post on several channels): the reposts' ids,
    to leave out, and for each first post the reposts' channels and statements.  The first post
    takes over the reposts' coverage."""
    by_id = {row["id"]: (row, title) for row, title in new}
    left_out: set[int] = set()
    reposts: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for first, *others in group_near_duplicates((row["id"], row["text"]) for row, _ in new
                                                if (row["text"] or "").strip()):
        for other in others:
            left_out.add(other)
            row, title = by_id[other]
            reposts.setdefault(first, []).append((title, row))
            known = {n["news_id"] for n in coverage[first]}
            coverage[first] += [n for n in coverage[other] if n["news_id"] not in known]
    return left_out, reposts


def _group(reasons: list[str], settings: Settings) -> str:
    """A statement goes under the first configured topic it meets, else under "Also followed"."""
    followed = {r.partition(":")[2] for r in reasons if r.startswith("topic:")}
    return next((t.title for t in settings.topics if t.name in followed), OTHER_GROUP)


def _when(value: str | None, tz: tzinfo, t: Tr = ENGLISH) -> str:
    moment = from_db(value)
    # TRANSLATORS: a day and time as a CLDR pattern (dd day, MMM month's short name, MMMM its full name).
    return t.datetime(moment.astimezone(tz), t.gettext("dd MMM HH:mm")) if moment else t.gettext("time unknown")


def _entry_line(entry: Entry, tz: tzinfo, t: Tr = ENGLISH) -> str:
    st = entry.statement
    text = excerpt((st["text"] or "[" + (st["media"] or t.gettext("no text")) + "]").replace("\n", " "), 160)
    if entry.coverage:
        first = entry.coverage[0]
        outlets = len({c["source"] for c in entry.coverage})
        delay = delay_text(first.get("delay_minutes"), t)
        first_report = t.isolate(esc(first["source"])) + (", " + esc(delay) if delay else "")
        status = t.ngettext("reported by {count} outlet (first: {first})",
                            "reported by {count} outlets (first: {first})", outlets).format(count=outlets,
                                                                                             first=first_report)
        if entry.differing:
            status += f" · ⚠ {_differ(entry.differing, t)}"
    else:
        status = "<b>" + t.gettext("not yet reported") + "</b>"
    if entry.related:
        status += " · " + t.ngettext("{count} related report", "{count} related reports",
                                     entry.related).format(count=entry.related)
    when = _when(st["date"] or st["ingested_at"], tz, t)
    post = t.gettext("→ post")
    also = "".join(" · " + t.gettext("also {channel}").format(channel=t.isolate(esc(title))) +
                   f" {link(row.get('url'), post)}" for title, row in entry.reposts)
    return f"• {esc(when)} · {t.isolate(esc(text))} {link(st.get('url'), post)}{also} · {status}"


@dataclass(slots=True)
class _Block:
    """Lines that read as one section; `resume` heads its continuation when it spills into the next message."""

    lines: list[str]
    resume: str | None = None


CHANGES = {"edited": N_("edited"), "deleted": N_("deleted")}


def _blocks(digest: Digest, tz: tzinfo, t: Tr = ENGLISH) -> list[_Block]:
    blocks = []
    continued = t.gettext("(continued)")
    for group, channels in digest.groups.items():
        group = t.gettext(OTHER_GROUP) if group == OTHER_GROUP else group
        heading = f"<b>■ {t.isolate(esc(group))}</b>\n"
        for channel, entries in channels.items():
            lines = [_entry_line(e, tz, t) for e in entries]
            lines[0] = f"{heading}<b>{t.isolate(esc(channel))}</b>\n{lines[0]}"  # a heading never ends a message
            blocks.append(_Block(lines, f"<b>■ {t.isolate(esc(group))} · {t.isolate(esc(channel))}</b> "
                                        f"<i>{continued}</i>"))
            heading = ""
    speed = _speed_lines(digest, tz, t)
    if speed:
        blocks.append(_Block(speed))
    if digest.changes:
        lines = ["• " + t.gettext("{change}: {channel}, post of {time}").format(
                    change=t.gettext(CHANGES[kind]), channel=t.isolate(esc(e.channel_title)),
                    time=esc(_when(e.statement["date"], tz, t))) +
                 " " + link(e.statement.get("url"), t.gettext("→ post")) for kind, e in digest.changes]
        title = t.gettext("Edits and deletions")
        lines[0] = f"<b>✏️ {title}</b>\n{lines[0]}"
        blocks.append(_Block(lines, f"<b>✏️ {title}</b> <i>{continued}</i>"))
    return blocks


def _speed_lines(digest: Digest, tz: tzinfo, t: Tr = ENGLISH) -> list[str]:
    """The period's fastest outlets (median time from post to report, over the statements in this digest)
    and the statements no outlet picked up, as a short section; none for a digest without statements."""
    entries = digest.entries
    if not entries:
        return []
    lines = ["<b>⏱ " + t.gettext("Speed of coverage") + "</b>"]
    fastest = outlet_speeds(StatementCoverage(e.statement, e.coverage) for e in entries)[:FASTEST_SHOWN]
    if fastest:
        lines.append("• " + t.gettext("Fastest (median time to report): {outlets}").format(outlets=" · ".join(
            f"{t.isolate(esc(s.outlet))} {esc(minutes_text(s.median, t))}" for s in fastest)))
    unreported = sorted((e for e in entries if not e.covered), key=lambda e: _posted(e.statement))
    if unreported:
        posts = [link(e.statement.get("url"), _when(_posted(e.statement), tz, t))
                 for e in unreported[:UNREPORTED_SHOWN]]
        rest = len(unreported) - UNREPORTED_SHOWN
        more = " " + t.ngettext("and {count} more", "and {count} more", rest).format(count=rest) if rest > 0 else ""
        lines.append("• " + t.gettext("Not picked up by any outlet: {count} of {total}: {posts}").format(
            count=len(unreported), total=len(entries), posts=" · ".join(posts)) + more)
    else:
        lines.append("• " + t.ngettext("Every statement here was picked up ({count})",
                                       "Every statement here was picked up ({count})", len(entries)).format(
            count=len(entries)))
    return ["\n".join(lines)]


def _counts(digest: Digest, t: Tr = ENGLISH) -> str:
    entries = digest.entries
    covered = sum(e.covered for e in entries)
    edited = sum(kind == "edited" for kind, _ in digest.changes)
    deleted = sum(kind == "deleted" for kind, _ in digest.changes)
    parts = [t.ngettext("{count} statement", "{count} statements", len(entries)).format(count=len(entries)),
             t.ngettext("{count} reported", "{count} reported", covered).format(count=covered),
             t.ngettext("{count} not yet reported", "{count} not yet reported", len(entries) - covered).format(
                 count=len(entries) - covered),
             t.ngettext("{count} edited", "{count} edited", edited).format(count=edited),
             t.ngettext("{count} deleted", "{count} deleted", deleted).format(count=deleted)]
    differing = sum(e.differing for e in entries)
    if differing:
        parts.append(_differ(differing, t))
    return f"<i>{' · '.join(parts)}</i>"


def _differ(reports: int, t: Tr = ENGLISH) -> str:
    """"1 report differs", "2 reports differ": reports whose figures, regions or day are not the statement's."""
    return t.ngettext("{count} report differs", "{count} reports differ", reports).format(count=reports)


def render_digest(digest: Digest, tz: tzinfo, t: Tr = ENGLISH) -> list[str]:
    """The digest as Telegram HTML messages under 4096 characters, in the chat's language.  The counts
    come first, under the period; messages break between entries, never inside one; a channel that
    spills over is headed again with "(continued)"."""
    period = f"{local_time(digest.start, tz, t)} – {local_time(digest.end, tz, t)}" if digest.start else \
        t.gettext("until {time}").format(time=local_time(digest.end, tz, t))
    header = t.lines("🗞 <b>" + t.gettext("Your Communique digest") + f"</b>\n<i>{esc(period)}</i>")
    if digest.empty:
        return [f"{header}\n\n{t.lines(t.gettext(NOTHING_NEW))}"]
    messages: list[str] = []
    current = f"{header}\n{t.lines(_counts(digest, t))}"
    for block in _blocks(digest, tz, t):
        for index, line in enumerate(map(t.lines, block.lines)):
            candidate = current + ("\n" if index else "\n\n") + line
            if length(candidate) <= MESSAGE_LIMIT:
                current = candidate
                continue
            messages.append(current)
            current = f"{t.lines(block.resume)}\n{line}" if index and block.resume else line
            if length(current) > MESSAGE_LIMIT:  # a line no message can hold: cut it between words
                *whole, current = split_blocks([current])
                messages.extend(whole)
    return [*messages, current]


def period_bounds(db: Database, chat_id: int, now: datetime) -> tuple[datetime, datetime]:
    """Everything since the chat's previous digest: at most a week, the last day for a first digest."""
    row = db.execute("SELECT last_digest_at FROM subscribers WHERE chat_id = ?", (chat_id,)).fetchone()
    previous = from_db(row[0]) if row else None
    return (max(previous, now - MAX_PERIOD) if previous else now - FIRST_PERIOD), now


def chat_zone(name: str | None, settings: Settings) -> ZoneInfo:
    """The chat's time zone, or the configured default for chats that never set one."""
    return ZoneInfo(name or settings.timezone)


@dataclass(slots=True)
class DigestPlan:
    """A chat's digest for one of its local days, built and waiting to be rendered and recorded."""

    digest: Digest
    local_date: date
    tz: ZoneInfo
    send_empty: bool  # the chat asked for "nothing today" messages
    t: Tr = ENGLISH  # the chat's language

    @property
    def wanted(self) -> bool:
        return not self.digest.empty or self.send_empty

    @property
    def chart(self) -> ChartData | None:
        """The week's activity, if this digest is sent and there are enough days to draw."""
        chart = self.digest.chart
        return chart if self.wanted and chart is not None and chart.enough else None

    def messages(self) -> list[str]:
        return render_digest(self.digest, self.tz, self.t) if self.wanted else []


def digest_done(db: Database, chat_id: int, local_date: date) -> bool:
    return db.execute("SELECT 1 FROM digests WHERE chat_id = ? AND local_date = ?",
                      (chat_id, local_date.isoformat())).fetchone() is not None


def plan_digest(db: Database, chat_id: int, *, now: datetime, settings: Settings, local_date: date | None = None,
                preview: bool = False) -> DigestPlan | None:
    """The chat's digest for `local_date` (default: its today), or None when there is nothing to do:
    the day already had its digest (unless `preview`), or the chat is gone or has blocked the bot.
    (/pause stops alerts, not the digest.)"""
    sub = get_subscriber(db, chat_id)
    if sub is None or not sub["active"]:
        return None
    tz = chat_zone(sub["timezone"], settings)
    day = local_date or now.astimezone(tz).date()
    if digest_done(db, chat_id, day) and not preview:
        return None
    start, end = period_bounds(db, chat_id, now)
    digest = build_digest(db, chat_id, start=start, end=end, settings=settings, tz=tz)
    return DigestPlan(digest, day, tz, bool(sub["empty_digest"]), tr(sub["language"]))


def record_digest(db: Database, plan: DigestPlan, *, photo: bytes | None, now: datetime) -> int | None:
    """Queue the digest's messages (the photo with the first), mark the day done and start the chat's next
    period, in one transaction.  Returns the number of messages queued (0 for an empty day nobody asked
    about), or None if the day already had its digest: it is never sent twice."""
    digest, chat_id, day = plan.digest, plan.digest.chat_id, plan.local_date.isoformat()
    with transaction(db):
        cursor = db.execute(
            "INSERT OR IGNORE INTO digests (chat_id, local_date, period_start, period_end, statements, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (chat_id, day, to_db(digest.start), to_db(digest.end), len(digest.entries), to_db(now)))
        if not cursor.rowcount:
            return None
        messages = plan.messages()
        for part, text in enumerate(messages):
            alert = Alert(f"digest:{chat_id}:{day}:{part}", chat_id, text, kind="digest",
                          photo=photo if part == 0 else None)
            outbox.enqueue(db, alert, now=now)
        db.execute("UPDATE subscribers SET last_digest_at = ? WHERE chat_id = ?", (to_db(digest.end), chat_id))
    return len(messages)


def enqueue_digest(db: Database, chat_id: int, *, now: datetime, settings: Settings,
                   local_date: date | None = None) -> int | None:
    """Plan, chart and record in one go, on the calling thread (the command line, tests)."""
    plan = plan_digest(db, chat_id, now=now, settings=settings, local_date=local_date)
    if plan is None:
        return None
    photo = render_chart(plan.chart, plan.t) if plan.chart else None
    return record_digest(db, plan, photo=photo, now=now)
