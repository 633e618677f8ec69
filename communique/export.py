"""`communique export` and the bot's /export: statements with their provenance, as csv, jsonl or xlsx.

One record per statement: its t.me permalink, time, channel and text; its edits (each stored version
with the time it was recorded) and deletions (the post, and each message of an album, with times);
and every report: outlet, URL, language, time, minutes after the post, score, `differs` and `via` (the URL of
the covered report in its language that it is covered through, or null: `matching.match_news`); then the
related news (a statement of the same kind with other figures, regions or day: never coverage), the same way.

The formats, for the people who open them:
- jsonl: one nested JSON object per statement, as above.
- csv: what a spreadsheet expects, one flat row per statement and report, `relation` saying "report" or
  "related" (a statement with neither has one row with empty report columns), so rows sort and filter
  by outlet or delay.
  The edits are summarised (count and times); their texts are in jsonl and xlsx.  UTF-8 with a
  byte-order mark, so Excel reads Cyrillic, Arabic and Hebrew right; a text cell that a spreadsheet
  would run as a formula (starting with = + - @) is prefixed with an apostrophe.
- xlsx: three sheets: Statements (one row each), Reports (one row per report or related item, with its
  relation), Edits and deletions;
  times are real date cells (UTC), links are clickable, texts are never formulas.

Times are UTC, ISO 8601.  `minutes_after_post` is negative when the outlet dated its report before
the post (its clock, or a date-only feed); the speed figures count those as 0, the export keeps them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from communique.audience import reasons_by_chat, statement_stems
from communique.coverage_differences import differing_reports
from communique.coverage_stats import in_chunks, statements_between, with_reports
from communique.pipeline import channel_title
from communique.settings import Settings
from communique.store import matches as match_store
from communique.store.subscribers import subscriptions_of

FORMATS = ("csv", "jsonl", "xlsx")
MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/jsonl",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
def _edits(db: Database, statement_id: int) -> list[dict[str, Any]]:
    return [{"version": v, "at": at, "text": text} for v, text, at in db.execute(
        "SELECT version, text, recorded_at FROM statement_versions WHERE statement_id = ? AND version > 1 "
        "ORDER BY version", (statement_id,)).fetchall()]


def _deletions(db: Database, statement: dict[str, Any]) -> list[dict[str, Any]]:
    """Each deleted message of the post (an album has several), with its time."""
    return [{"message_id": ext_id, "at": at} for ext_id, at in db.execute(
        "SELECT ext_id, deleted_at FROM statement_parts WHERE statement_id = ? AND deleted_at IS NOT NULL "
        "ORDER BY deleted_at, CAST(ext_id AS INTEGER)", (statement["id"],)).fetchall()]


def _original(db: Database, statement_id: int) -> str | None:
    row = db.execute("SELECT text FROM statement_versions WHERE statement_id = ? AND version = 1",
                     (statement_id,)).fetchone()
    return row[0] if row else None


def records(db: Database, statements: Sequence[dict[str, Any]], *, settings: Settings) -> list[dict[str, Any]]:
    """The export's records for these statement rows, in their order; each report carries what its figures,
    regions or day give otherwise (`differs`, empty when they agree)."""
    titles: dict[str, str] = {}
    result = []
    covered = with_reports(db, list(statements))
    related = in_chunks(match_store.related, db, [item.statement["id"] for item in covered])
    differing = differing_reports(db, [r for item in covered for r in item.reports] +
                                  [r for rows in related.values() for r in rows])

    def report(r: dict[str, Any]) -> dict[str, Any]:
        return {"outlet": r["source"], "url": r["url"], "title": r["title"], "language": r["lang"],
                "published_at": r["date"], "minutes_after_post": r["delay_minutes"], "score": r["score"],
                "differs": [d.as_dict() for d in differing.get((r["statement_id"], r["news_id"]), [])],
                "via": r["via_url"]}

    for item in covered:
        st = item.statement
        edits = _edits(db, st["id"])
        result.append({
            "statement_id": st["id"], "url": st["url"], "posted_at": st["date"], "channel": st["channel"],
            "channel_title": titles.setdefault(st["channel"], channel_title(db, st["channel"], settings)),
            "language": st["lang"], "text": st["text"], "media": st["media"],
            "original_text": _original(db, st["id"]) if edits else None, "edits": edits,
            "edited_at": st["edited_at"], "deleted_at": st["deleted_at"], "deletions": _deletions(db, st),
            "reports": [report(r) for r in item.reports], "related": [report(r) for r in related[st["id"]]],
        })
    return result


def period_records(db: Database, *, start: datetime, end: datetime, settings: Settings,
                   channels: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The statements posted in [start, end), of `channels` if given (usernames, without @)."""
    return records(db, statements_between(db, start, end, channels), settings=settings)


def chat_records(db: Database, chat_id: int, *, start: datetime, end: datetime,
                 settings: Settings) -> list[dict[str, Any]]:
    """The statements posted in [start, end) that the chat's subscriptions meet (what it was alerted to)."""
    subs = [(s.chat_id, s.kind, s.value) for s in subscriptions_of(db, chat_id)]
    topics = {t.name: t.keywords for t in settings.topics}
    mine = [row for row in statements_between(db, start, end) if subs and chat_id in reasons_by_chat(
        channel=row["channel"], stems=statement_stems(row["text"]), subscriptions=subs, topics=topics)]
    return records(db, mine, settings=settings)


# -- writers -------------------------------------------------------------------------------------------

CSV_COLUMNS = ("statement_id", "posted_at", "channel", "channel_title", "post_url", "text", "media", "edits",
               "edited_at", "deleted_at", "outlet", "report_url", "report_title", "report_language",
               "report_published_at", "minutes_after_post", "score", "differs", "relation", "via")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A text a spreadsheet would run as a formula, made inert with a leading apostrophe (OWASP's advice)."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def differs_text(differs: list[dict[str, str]]) -> str:
    return "; ".join(f"report {d.get('report')} (statement: {d.get('statement')})" for d in differs)


def reports_and_related(record: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """A record's reports, then its related items, each with what it is: "report" or "related"."""
    return [(r, "report") for r in record["reports"]] + [(r, "related") for r in record["related"]]


def _edits_text(record: dict[str, Any]) -> str:
    return "; ".join(f"v{e['version']} {e['at']}" for e in record["edits"])


def to_csv(items: list[dict[str, Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for record in items:
        head = [record["statement_id"], record["posted_at"], record["channel"], record["channel_title"],
                record["url"], record["text"], record["media"], _edits_text(record), record["edited_at"],
                record["deleted_at"]]
        for report, relation in reports_and_related(record) or [(None, "")]:
            tail = ([report["outlet"], report["url"], report["title"], report["language"], report["published_at"],
                     report["minutes_after_post"], report["score"], differs_text(report["differs"]), relation,
                     report["via"]]
                    if report else [""] * 10)
            writer.writerow([_cell(v) if v is not None else "" for v in head + tail])
    return out.getvalue().encode("utf-8-sig")


def to_jsonl(items: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in items).encode("utf-8")


def to_xlsx(items: list[dict[str, Any]]) -> bytes:
    from communique.export_xlsx import workbook_bytes

    return workbook_bytes(items)


WRITERS: dict[str, Callable[[list[dict[str, Any]]], bytes]] = {"csv": to_csv, "jsonl": to_jsonl, "xlsx": to_xlsx}


def render(items: list[dict[str, Any]], fmt: str) -> bytes:
    return WRITERS[fmt](items)
