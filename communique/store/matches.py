"""Matches between statements and news items: the coverage of each statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from communique.store.timefmt import to_db


def save_match(db: Database, statement_id: int, news_id: int, score: float, method: str, *, now: datetime) -> bool:
    """Record a match; returns True if the pair is new.  A later, higher score replaces a lower one."""
    cursor = db.execute(
        "INSERT INTO matches (statement_id, news_id, score, method, matched_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(statement_id, news_id) DO NOTHING",
        (statement_id, news_id, round(score, 4), method, to_db(now)),
    )
    if cursor.rowcount:
        return True
    db.execute("UPDATE matches SET score = ?, method = ? WHERE statement_id = ? AND news_id = ? AND score < ?",
               (round(score, 4), method, statement_id, news_id, round(score, 4)))
    return False


def coverage(db: Database, statement_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """For each statement, the news items that report it, earliest first, with the delay in minutes."""
    result: dict[int, list[dict[str, Any]]] = {sid: [] for sid in statement_ids}
    if not statement_ids:
        return result
    marks = ",".join("?" * len(statement_ids))
    rows = db.query(
        f"""SELECT m.statement_id, m.score, m.method, n.id AS news_id, n.source, n.title, n.url, n.date, n.lang,
                   CAST(round((julianday(n.date) - julianday(s.date)) * 1440) AS INTEGER) AS delay_minutes
            FROM matches m JOIN news n ON n.id = m.news_id JOIN statements s ON s.id = m.statement_id
            WHERE m.statement_id IN ({marks})
            ORDER BY m.statement_id, coalesce(n.date, m.matched_at), m.score DESC""",
        statement_ids,
    )
    for row in rows:
        result[row["statement_id"]].append(row)
    return result
