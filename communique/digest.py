"""The daily digest: what a chat follows, over a period, grouped by topic then channel.

Building (`build_digest`) reads the store; rendering (`render_digest`) is a pure function
that returns messages under Telegram's size limit, split between entries, never mid-word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlite_utils import Database

from communique.audience import reasons_by_chat, statement_stems
from communique.messages import esc, excerpt, link, split_blocks
from communique.pipeline import channel_title
from communique.render import delay_text, local_time
from communique.settings import Settings
from communique.store import matches as match_store
from communique.store.subscribers import subscriptions_of
from communique.store.timefmt import from_db, to_db

OTHER_GROUP = "Also followed"


@dataclass(slots=True)
class Entry:
    statement: dict[str, Any]
    channel_title: str
    coverage: list[dict[str, Any]]

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

    @property
    def entries(self) -> list[Entry]:
        return [e for channels in self.groups.values() for entries in channels.values() for e in entries]

    @property
    def empty(self) -> bool:
        return not self.groups and not self.changes


def build_digest(db: Database, chat_id: int, *, start: datetime | None, end: datetime, settings: Settings) -> Digest:
    subs = [(s.chat_id, s.kind, s.value) for s in subscriptions_of(db, chat_id)]
    digest = Digest(chat_id, start, end)
    if not subs:
        return digest
    topics = {t.name: t.keywords for t in settings.topics}
    topic_titles = {t.name: t.title for t in settings.topics}
    lower = to_db(start) if start else ""
    rows = list(db.query(
        "SELECT * FROM statements WHERE (date >= ? AND date < ?) OR (edited_at >= ? AND edited_at < ?) "
        "OR (deleted_at >= ? AND deleted_at < ?) ORDER BY date, id",
        [lower, to_db(end)] * 3,
    ))
    coverage = match_store.coverage(db, [r["id"] for r in rows])
    in_period = lambda value: value is not None and lower <= value < to_db(end)  # noqa: E731
    for row in rows:
        reasons = reasons_by_chat(channel=row["channel"], stems=statement_stems(row["text"]), subscriptions=subs,
                                  topics=topics).get(chat_id)
        if not reasons:
            continue
        entry = Entry(row, channel_title(db, row["channel"], settings), coverage[row["id"]])
        if in_period(row["date"]):
            topic = next((r.partition(":")[2] for r in reasons if r.startswith("topic:")), None)
            group = topic_titles.get(topic, OTHER_GROUP) if topic else OTHER_GROUP
            digest.groups.setdefault(group, {}).setdefault(entry.channel_title, []).append(entry)
        if in_period(row["deleted_at"]):
            digest.changes.append(("deleted", entry))
        elif in_period(row["edited_at"]):
            digest.changes.append(("edited", entry))
    order = [topic_titles[t.name] for t in settings.topics] + [OTHER_GROUP]
    digest.groups = {g: {c: sorted(e, key=lambda x: (x.covered, x.statement["date"] or ""))
                         for c, e in sorted(digest.groups[g].items())}
                     for g in sorted(digest.groups, key=order.index)}
    return digest


def _entry_line(entry: Entry, tz: tzinfo) -> str:
    st = entry.statement
    when = local_time(st["date"], tz)
    text = excerpt((st["text"] or f"[{st['media'] or 'no text'}]").replace("\n", " "), 160)
    if entry.coverage:
        first = entry.coverage[0]
        outlets = len({c["source"] for c in entry.coverage})
        delay = delay_text(first.get("delay_minutes"))
        status = (f"reported by {outlets} outlet{'s' if outlets != 1 else ''} "
                  f"(first: {esc(first['source'])}{', ' + esc(delay) if delay else ''})")
    else:
        status = "<b>not yet reported</b>"
    return f"• {esc(when)} · {esc(text)} {link(st.get('url'), '→ post')} · {status}"


def render_digest(digest: Digest, tz: tzinfo) -> list[str]:
    """The digest as Telegram HTML messages, each under 4096 characters."""
    period = f"{local_time(digest.start, tz)} – {local_time(digest.end, tz)}" if digest.start else \
        f"until {local_time(digest.end, tz)}"
    blocks = [f"🗞 <b>Your Communique digest</b>\n<i>{esc(period)}</i>"]
    for group, channels in digest.groups.items():
        blocks.append(f"<b>■ {esc(group)}</b>")
        for channel, entries in channels.items():
            blocks.append("\n".join([f"<b>{esc(channel)}</b>", *(_entry_line(e, tz) for e in entries)]))
    if digest.changes:
        lines = [f"• {kind}: {esc(e.channel_title)}, post of {esc(local_time(e.statement['date'], tz))} "
                 f"{link(e.statement.get('url'), '→ post')}" for kind, e in digest.changes]
        blocks.append("\n".join(["<b>✏️ Edits and deletions</b>", *lines]))
    entries = digest.entries
    covered = sum(e.covered for e in entries)
    edited = sum(kind == "edited" for kind, _ in digest.changes)
    deleted = sum(kind == "deleted" for kind, _ in digest.changes)
    blocks.append(f"<i>{len(entries)} statement{'s' if len(entries) != 1 else ''} · {covered} reported · "
                  f"{len(entries) - covered} not yet reported · {edited} edited · {deleted} deleted</i>")
    return split_blocks(blocks)


def period_bounds(db: Database, chat_id: int, now: datetime, default_hours: float = 24.0) -> tuple[datetime, datetime]:
    """Everything since the chat's previous digest (or the last `default_hours` for a first digest)."""
    from datetime import timedelta

    row = db.execute("SELECT last_digest_at FROM subscribers WHERE chat_id = ?", (chat_id,)).fetchone()
    start = from_db(row[0]) if row and row[0] else now - timedelta(hours=default_hours)
    assert start is not None
    return start, now
