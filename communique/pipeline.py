"""The path every post and article takes, whatever its source: store -> match -> alert.

Monitors (Telethon, preview pages, feeds) and imports call these functions inside one
transaction each; the alerts they produce go to the outbox, which the bot delivers.
Replaying the same input is harmless: the store and the outbox ignore what they have.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlite_utils import Database

from communique import alert_coverage, render
from communique.audience import reasons_by_chat, statement_stems
from communique.coverage_differences import differing_reports
from communique.i18n import Tr, tr
from communique.matching import COVERED_THRESHOLD, MatchOptions, duplicate_of, match_news, match_statements
from communique.matching.vectors import STATEMENT_VECTORS, vectors_of
from communique.models import Alert, Candidate, NewsItem, Statement
from communique.settings import Settings
from communique.store import matches as match_store
from communique.store import outbox
from communique.store.news import by_guid, update_article, upsert_news
from communique.store.statements import get_statement, mark_deleted, upsert_statement
from communique.store.subscribers import active_subscriptions
from communique.store.timefmt import from_db


@dataclass(slots=True)
class StatementOutcome:
    statement_id: int
    outcome: str  # new, unchanged, edited, merged
    covered_by: list[int] = field(default_factory=list)
    alerts: int = 0


@dataclass(slots=True)
class NewsOutcome:
    news_id: int
    is_new: bool
    reports: list[int] = field(default_factory=list)
    followups: int = 0


def match_options(settings: Settings) -> MatchOptions:
    # Every item above the threshold counts as coverage: an official statement is often reported by dozens.
    return MatchOptions(top=20, after=timedelta(hours=settings.match_window_hours))


def _zone_and_language(db: Database, chat_id: int, settings: Settings) -> tuple[ZoneInfo, Tr]:
    """The chat's time zone and language (the configured zone, English, for a chat that has none), in one read."""
    row = db.execute("SELECT timezone, language FROM subscribers WHERE chat_id = ?", (chat_id,)).fetchone()
    return ZoneInfo((row and row[0]) or settings.timezone), tr(row and row[1])


def channel_title(db: Database, channel: str, settings: Settings) -> str:
    configured = settings.channel(channel)
    if configured:
        return configured.title
    row = db.execute("SELECT title FROM channels WHERE key = ?", (channel,)).fetchone()
    return (row and row[0]) or (f"@{channel}" if not channel.startswith("id:") else channel)


def statement_key(row: dict) -> str:
    return f"{row['channel']}/{row['ext_id']}"


def still_news(date: datetime | None, *, now: datetime, settings: Settings) -> bool:
    """Whether a post read late (catch-up after downtime) is recent enough to alert.

    A channel last read long ago (say, its position came from an old export) is caught up
    without flooding subscribers with week-old posts; they are stored and reach the digest.
    """
    return date is None or now - date <= timedelta(hours=settings.catchup_alert_hours)


def ingest_statement(db: Database, st: Statement, *, settings: Settings, now: datetime,
                     alert: bool = True) -> StatementOutcome:
    """Store a post; a new one is matched against the news and, if `alert`, alerted to whom it concerns."""
    stored = upsert_statement(db, st, now=now)
    result = StatementOutcome(stored.id, stored.outcome)
    if stored.outcome in ("new", "merged", "edited"):
        result.covered_by = _match_statement(db, stored.id, now=now, settings=settings)
    if not alert:
        return result
    if stored.outcome == "new":
        result.alerts = _alert_new(db, stored.id, settings=settings, now=now)
    elif stored.outcome == "edited" and stored.previous_text is not None:
        result.alerts = _follow_up(db, stored.id, "edit", settings=settings, now=now,
                                   previous_text=stored.previous_text, version=stored.version)
    return result


def ingest_post(db: Database, parts: list[Statement], *, settings: Settings, now: datetime,
                alert: bool = True) -> StatementOutcome:
    """One post made of several messages (an album): stored part by part, then alerted once with all its text."""
    first = ingest_statement(db, parts[0], settings=settings, now=now, alert=False)
    for part in parts[1:]:
        ingest_statement(db, part, settings=settings, now=now, alert=False)
    if alert and first.outcome == "new":
        first.alerts = _alert_new(db, first.statement_id, settings=settings, now=now)
    return first


def ingest_deletions(db: Database, channel: str, ext_ids: list[str], *, settings: Settings,
                     now: datetime) -> list[int]:
    """Mark posts deleted (their text is kept) and tell the chats that got them, if they want to know."""
    deleted = mark_deleted(db, channel, ext_ids, now=now)
    for statement_id in deleted:
        _follow_up(db, statement_id, "delete", settings=settings, now=now)
    return deleted


def ingest_news(db: Database, item: NewsItem, *, settings: Settings, now: datetime,
                notify: bool = True) -> NewsOutcome:
    """Store an article and match it against the statements of the preceding window; an article the
    outlet has since updated (same guid, new text) is stored again and matched again.  An article
    without a date takes the time it was fetched: an undated item is no candidate for every window."""
    if item.date is None:
        item = dataclasses.replace(item, date=now)
    news_id, is_new = upsert_news(db, item, now=now)
    result = NewsOutcome(news_id, is_new)
    if not is_new and not (by_guid(db, item) == news_id and update_article(db, news_id, item)):
        return result
    found = match_statements(db, item.title, item.text, date=item.date, options=match_options(settings),
                             news_id=news_id)
    saved, result.followups = record_matches(db, [(c.row_id, news_id, c) for c in found], settings=settings,
                                             now=now, notify=notify)
    relayed, _ = record_matches(db, relay_candidates(db, found, settings=settings), settings=settings, now=now,
                                notify=notify)
    result.reports = [statement_id for statement_id, reported in saved + relayed if reported == news_id]
    return result


def relay_candidates(db: Database, found: list[Candidate], *, settings: Settings,
                     vectors: bool = False) -> list[tuple[int, int, Candidate]]:
    """The statements for which a news item's arrival may cover a pair through a report (`Candidate.via`),
    matched again: their candidates as (statement, news item, candidate) pairs for `record_matches`.

    Coverage through a report is decided by the statement's own match (`matching.match_news`), which sees
    all its reports at once.  So a statement is matched again when the item (`found`: the statements it, or
    a batch of items, was matched against) is one of its reports in another script, which may carry others
    in its own, or a candidate that one of its stored reports may carry (`Candidate.relay`).  With `vectors`,
    the statement's stored embedding is used, if it has one yet.
    """
    reported = {c.row_id for c in found if c.relay and c.score >= COVERED_THRESHOLD}
    carried = {c.row_id for c in found if c.relay and c.score < COVERED_THRESHOLD}
    if carried:
        marks = ",".join("?" * len(carried))
        carried = {r[0] for r in db.execute(
            f"SELECT DISTINCT statement_id FROM matches WHERE statement_id IN ({marks})", list(carried))}
    pairs = []
    for statement_id in sorted(reported | carried):
        vector = vectors_of(db, STATEMENT_VECTORS, [statement_id]).get(statement_id) if vectors else None
        found_now = _statement_candidates(db, statement_id, settings=settings, vector=vector)
        pairs += [(statement_id, c.row_id, c) for c in found_now]  # record_matches keeps what is new
    return pairs


def record_matches(db: Database, pairs: list[tuple[int, int, Candidate]], *, settings: Settings,
                   now: datetime, notify: bool = True) -> tuple[list[tuple[int, int]], int]:
    """Save the (statement, news item) pairs whose candidate is above the threshold, and the related ones.

    An alert of the statement still waiting in the outbox needs nothing: it shows the coverage as it
    is when it is sent (`communique.alert_coverage`).  A statement's first report is followed up to
    the chats whose alert is already on its way and who asked for coverage follow-ups.  Returns the
    pairs newly saved and the follow-ups queued.
    """
    saved, followups = [], 0
    for statement_id, news_id, candidate in pairs:
        if candidate.related:
            match_store.save_related(db, statement_id, news_id, candidate.score, now=now)
        if candidate.score < COVERED_THRESHOLD:
            continue
        first = not db.execute("SELECT 1 FROM matches WHERE statement_id = ?", (statement_id,)).fetchone()
        if match_store.save_match(db, statement_id, news_id, candidate.score, candidate.method, now=now,
                                  via=candidate.via):
            saved.append((statement_id, news_id))
            if first and notify:
                followups += _coverage_follow_up(db, statement_id, news_id, settings=settings, now=now)
    return saved, followups


def _statement_candidates(db: Database, statement_id: int, *, settings: Settings,
                          vector: np.ndarray | None = None) -> list[Candidate]:
    """What a stored statement's own match finds in the news now (nothing for a post without text)."""
    row = get_statement(db, statement_id)
    if row is None or not (row["text"] or "").strip():
        return []
    return match_news(db, row["text"], date=from_db(row["date"]), vector=vector, options=match_options(settings))


def _match_statement(db: Database, statement_id: int, *, now: datetime, settings: Settings) -> list[int]:
    """Match a stored statement and save its reports and related news; returns the reports."""
    found = _statement_candidates(db, statement_id, settings=settings)
    record_matches(db, [(statement_id, c.row_id, c) for c in found], settings=settings, now=now, notify=False)
    return [c.row_id for c in found if c.score >= COVERED_THRESHOLD]


def _alert_new(db: Database, statement_id: int, *, settings: Settings, now: datetime) -> int:
    """Alert the chats a new statement concerns.

    A repost of a statement another watched channel published shortly before (a near-duplicate)
    is not alerted again to chats that had the first one; the others get it with both sources,
    and the coverage of both.
    """
    key, texts = _alert_texts(db, statement_id, settings=settings)
    return sum(outbox.enqueue(db, Alert(key, chat_id, text, kind="alert", statement_id=statement_id), now=now)
               for chat_id, text in texts)


def _alert_texts(db: Database, statement_id: int, *, settings: Settings) -> tuple[str, list[tuple[int, str]]]:
    """The alert's outbox key, and its text for each chat it concerns (see `_alert_new`)."""
    row = get_statement(db, statement_id)
    assert row is not None
    key = f"alert:{statement_key(row)}"
    subs = [(s.chat_id, s.kind, s.value) for s in active_subscriptions(db)]
    if not subs:
        return key, []
    topics = {t.name: t.keywords for t in settings.topics}
    audience = reasons_by_chat(channel=row["channel"], stems=statement_stems(row["text"]), subscriptions=subs,
                               topics=topics)
    first_id = duplicate_of(db, "statements", statement_id) if audience else None
    first = get_statement(db, first_id) if first_id is not None else None
    had_it: set[int] = set()
    ids = [statement_id]
    if first is not None:
        had_it = set(outbox.sent_recipients(db, f"alert:{statement_key(first)}"))
        ids.append(first["id"])
    title = channel_title(db, row["channel"], settings)
    first_posted = (channel_title(db, first["channel"], settings), first) if first is not None else None
    texts: dict[tuple[str, str, tuple[str, ...]], str] = {}  # many chats share a language, zone and reasons
    result = []
    for chat_id, reasons in audience.items():
        if chat_id in had_it:
            continue
        tz, t = _zone_and_language(db, chat_id, settings)
        if (t.lang, tz.key, tuple(reasons)) not in texts:
            coverage = alert_coverage.placeholder(ids, t.lang)  # filled in when sent, with reports found meanwhile
            texts[(t.lang, tz.key, tuple(reasons))] = render.alert_text(row, title, coverage, reasons, tz,
                                                                        first_posted=first_posted, t=t)
        result.append((chat_id, texts[(t.lang, tz.key, tuple(reasons))]))
    return key, result


def _recipients(db: Database, row: dict, setting: str, *, queued: bool = True) -> list[int]:
    chats = outbox.sent_recipients(db, f"alert:{statement_key(row)}", queued=queued)
    if not chats:
        return []
    marks = ",".join("?" * len(chats))
    return [r[0] for r in db.execute(
        f"SELECT chat_id FROM subscribers WHERE chat_id IN ({marks}) AND active = 1 AND {setting} = 1", chats)]


def _follow_up(db: Database, statement_id: int, kind: str, *, settings: Settings, now: datetime,
               previous_text: str | None = None, version: int = 0) -> int:
    row = get_statement(db, statement_id)
    assert row is not None
    title = channel_title(db, row["channel"], settings)
    key = f"edit:{statement_key(row)}:v{version}" if kind == "edit" else f"delete:{statement_key(row)}"
    queued = 0
    for chat_id in _recipients(db, row, "edit_followups"):
        tz, t = _zone_and_language(db, chat_id, settings)
        text = (render.edit_text(row, title, previous_text or "", tz, t) if kind == "edit"
                else render.deletion_text(row, title, tz, t))
        queued += outbox.enqueue(db, Alert(key, chat_id, text, kind=kind, statement_id=statement_id), now=now)
    return queued


def _coverage_follow_up(db: Database, statement_id: int, news_id: int, *, settings: Settings, now: datetime) -> int:
    row = get_statement(db, statement_id)
    assert row is not None
    item = next(n for n in match_store.coverage(db, [statement_id])[statement_id] if n["news_id"] == news_id)
    differs = differing_reports(db, [item]).get((statement_id, news_id), [])
    title = channel_title(db, row["channel"], settings)
    queued = 0
    for chat_id in _recipients(db, row, "coverage_followups", queued=False):  # a waiting alert was rewritten
        tz, t = _zone_and_language(db, chat_id, settings)
        text = render.coverage_text(row, title, item, tz, differs, t)
        alert = Alert(f"coverage:{statement_key(row)}", chat_id, text, kind="coverage", statement_id=statement_id)
        queued += outbox.enqueue(db, alert, now=now)
    return queued
