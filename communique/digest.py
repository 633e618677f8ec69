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

OTHER_GROUP = "Also followed"
FIRST_PERIOD = timedelta(hours=24)  # a chat's first digest covers the last day
MAX_PERIOD = timedelta(days=7)  # a digest turned back on after a month covers a week, not the month
LATE_ARRIVALS = timedelta(days=1)  # posts fetched after the previous digest, dated up to a day before it
CHART_DAYS = 7
FASTEST_SHOWN, UNREPORTED_SHOWN = 3, 5  # the speed section stays a few lines
NOTHING_NEW = "Nothing new on what you follow."
_stems = lru_cache(maxsize=8192)(lambda text: frozenset(statement_stems(text)))


@dataclass(slots=True)
class Entry:
    statement: dict[str, Any]
    channel_title: str
    coverage: list[dict[str, Any]]
    reposts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (channel title, statement)
    differing: int = 0  # reports whose figures, regions or day differ from the statement's

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
    left_out, reposts = _reposts([(row, title) for row, _, title, new in shown if new], coverage)
    differs = differing_reports(db, (item for items in coverage.values() for item in items))
    for row, reasons, title, new in shown:
        if row["id"] in left_out:
            continue  # a repost is shown once, with the post of the channel that published it first
        differing = sum((item["statement_id"], item["news_id"]) in differs for item in coverage[row["id"]])
        entry = Entry(row, title, coverage[row["id"]], reposts.get(row["id"], []), differing)
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


def _when(value: str | None, tz: tzinfo) -> str:
    moment = from_db(value)
    return moment.astimezone(tz).strftime("%d %b %H:%M") if moment else "time unknown"


def _entry_line(entry: Entry, tz: tzinfo) -> str:
    st = entry.statement
    text = excerpt((st["text"] or f"[{st['media'] or 'no text'}]").replace("\n", " "), 160)
    if entry.coverage:
        first = entry.coverage[0]
        outlets = len({c["source"] for c in entry.coverage})
        delay = delay_text(first.get("delay_minutes"))
        status = (f"reported by {outlets} outlet{'s' if outlets != 1 else ''} "
                  f"(first: {esc(first['source'])}{', ' + esc(delay) if delay else ''})")
        if entry.differing:
            status += f" · ⚠ {_differ(entry.differing)}"
    else:
        status = "<b>not yet reported</b>"
    when = _when(st["date"] or st["ingested_at"], tz)
    also = "".join(f" · also {esc(title)} {link(row.get('url'), '→ post')}" for title, row in entry.reposts)
    return f"• {esc(when)} · {esc(text)} {link(st.get('url'), '→ post')}{also} · {status}"


@dataclass(slots=True)
class _Block:
    """Lines that read as one section; `resume` heads its continuation when it spills into the next message."""

    lines: list[str]
    resume: str | None = None


def _blocks(digest: Digest, tz: tzinfo) -> list[_Block]:
    blocks = []
    for group, channels in digest.groups.items():
        heading = f"<b>■ {esc(group)}</b>\n"
        for channel, entries in channels.items():
            lines = [_entry_line(e, tz) for e in entries]
            lines[0] = f"{heading}<b>{esc(channel)}</b>\n{lines[0]}"  # a heading never ends a message
            blocks.append(_Block(lines, f"<b>■ {esc(group)} · {esc(channel)}</b> <i>(continued)</i>"))
            heading = ""
    speed = _speed_lines(digest, tz)
    if speed:
        blocks.append(_Block(speed))
    if digest.changes:
        lines = [f"• {kind}: {esc(e.channel_title)}, post of {esc(_when(e.statement['date'], tz))} "
                 f"{link(e.statement.get('url'), '→ post')}" for kind, e in digest.changes]
        lines[0] = f"<b>✏️ Edits and deletions</b>\n{lines[0]}"
        blocks.append(_Block(lines, "<b>✏️ Edits and deletions</b> <i>(continued)</i>"))
    return blocks


def _speed_lines(digest: Digest, tz: tzinfo) -> list[str]:
    """The period's fastest outlets (median time from post to report, over the statements in this digest)
    and the statements no outlet picked up, as a short section; none for a digest without statements."""
    entries = digest.entries
    if not entries:
        return []
    lines = ["<b>⏱ Speed of coverage</b>"]
    fastest = outlet_speeds(StatementCoverage(e.statement, e.coverage) for e in entries)[:FASTEST_SHOWN]
    if fastest:
        lines.append("• Fastest (median time to report): " + " · ".join(
            f"{esc(s.outlet)} {esc(minutes_text(s.median))}" for s in fastest))
    unreported = sorted((e for e in entries if not e.covered), key=lambda e: _posted(e.statement))
    if unreported:
        posts = [link(e.statement.get("url"), _when(_posted(e.statement), tz))
                 for e in unreported[:UNREPORTED_SHOWN]]
        more = f" and {len(unreported) - UNREPORTED_SHOWN} more" if len(unreported) > UNREPORTED_SHOWN else ""
        lines.append(f"• Not picked up by any outlet: {len(unreported)} of {len(entries)}: {' · '.join(posts)}{more}")
    else:
        lines.append(f"• Every statement here was picked up ({len(entries)})")
    return ["\n".join(lines)]


def _counts(digest: Digest) -> str:
    entries = digest.entries
    covered = sum(e.covered for e in entries)
    edited = sum(kind == "edited" for kind, _ in digest.changes)
    deleted = sum(kind == "deleted" for kind, _ in digest.changes)
    differing = sum(e.differing for e in entries)
    return (f"<i>{len(entries)} statement{'s' if len(entries) != 1 else ''} · {covered} reported · "
            f"{len(entries) - covered} not yet reported · {edited} edited · {deleted} deleted"
            f"{' · ' + _differ(differing) if differing else ''}</i>")


def _differ(reports: int) -> str:
    """"1 report differs", "2 reports differ": reports whose figures, regions or day are not the statement's."""
    return f"{reports} report differs" if reports == 1 else f"{reports} reports differ"


def render_digest(digest: Digest, tz: tzinfo) -> list[str]:
    """The digest as Telegram HTML messages under 4096 characters.  The counts come first, under the period;
    messages break between entries, never inside one; a channel that spills over is headed again with
    "(continued)"."""
    period = f"{local_time(digest.start, tz)} – {local_time(digest.end, tz)}" if digest.start else \
        f"until {local_time(digest.end, tz)}"
    header = f"🗞 <b>Your Communique digest</b>\n<i>{esc(period)}</i>"
    if digest.empty:
        return [f"{header}\n\n{NOTHING_NEW}"]
    messages: list[str] = []
    current = f"{header}\n{_counts(digest)}"
    for block in _blocks(digest, tz):
        for index, line in enumerate(block.lines):
            candidate = current + ("\n" if index else "\n\n") + line
            if length(candidate) <= MESSAGE_LIMIT:
                current = candidate
                continue
            messages.append(current)
            current = f"{block.resume}\n{line}" if index and block.resume else line
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

    @property
    def wanted(self) -> bool:
        return not self.digest.empty or self.send_empty

    @property
    def chart(self) -> ChartData | None:
        """The week's activity, if this digest is sent and there are enough days to draw."""
        chart = self.digest.chart
        return chart if self.wanted and chart is not None and chart.enough else None

    def messages(self) -> list[str]:
        return render_digest(self.digest, self.tz) if self.wanted else []


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
    return DigestPlan(digest, day, tz, bool(sub["empty_digest"]))


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
    photo = render_chart(plan.chart) if plan.chart else None
    return record_digest(db, plan, photo=photo, now=now)
