"""Matches between statements and news items: the coverage of each statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from communique.store.timefmt import to_db


def save_match(db: Database, statement_id: int, news_id: int, score: float, method: str, *, now: datetime,
               via: int | None = None) -> bool:
    """Record a match (`via`: the covered report it is covered through); returns True if the pair is new.  A
    later, higher score replaces a lower one, except that a pair covered on its own evidence stays so."""
    cursor = db.execute(
        "INSERT INTO matches (statement_id, news_id, score, method, matched_at, via) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(statement_id, news_id) DO NOTHING",
        (statement_id, news_id, round(score, 4), method, to_db(now), via),
    )
    if cursor.rowcount:
        return True
    db.execute("UPDATE matches SET score = ?, method = ?, via = ? WHERE statement_id = ? AND news_id = ? "
               "AND (score < ? AND (via IS NOT NULL OR ? IS NULL) OR via IS NOT NULL AND ? IS NULL)",
               (round(score, 4), method, via, statement_id, news_id, round(score, 4), via, via))
    return False


def save_related(db: Database, statement_id: int, news_id: int, score: float, *, now: datetime) -> bool:
    """Record a related report (`matching.evidence.is_related`); returns True if the pair is new.  A pair
    that is coverage already stays coverage only: related reports are what is not."""
    if db.execute("SELECT 1 FROM matches WHERE statement_id = ? AND news_id = ?", (statement_id, news_id)).fetchone():
        return False
    cursor = db.execute(
        "INSERT INTO related (statement_id, news_id, score, matched_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(statement_id, news_id) DO NOTHING",
        (statement_id, news_id, round(score, 4), to_db(now)),
    )
    return bool(cursor.rowcount)


def coverage(db: Database, statement_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """For each statement, the news items that report it, earliest first, with the delay in minutes (and `via`,
    `via_url`, `via_source`: the report it is covered through, if so)."""
    return _reports(db, "matches", statement_ids)


def related(db: Database, statement_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """For each statement, the news of a statement of the same kind with other figures, regions or day,
    earliest first (a pair found covered later is coverage only)."""
    return _reports(db, "related", statement_ids,
                    "AND NOT EXISTS (SELECT 1 FROM matches c WHERE c.statement_id = m.statement_id "
                    "AND c.news_id = m.news_id)")


def _reports(db: Database, table: str, statement_ids: list[int],
             condition: str = "") -> dict[int, list[dict[str, Any]]]:
    result: dict[int, list[dict[str, Any]]] = {sid: [] for sid in statement_ids}
    if not statement_ids:
        return result
    marks = ",".join("?" * len(statement_ids))
    covered = table == "matches"
    method = ("m.method, m.via, v.url AS via_url, v.source AS via_source" if covered
              else "'related' AS method, NULL AS via, NULL AS via_url, NULL AS via_source")
    through = "LEFT JOIN news v ON v.id = m.via" if covered else ""
    rows = db.query(
        f"""SELECT m.statement_id, m.score, {method}, n.id AS news_id, n.source, n.title, n.url, n.date, n.lang,
                   CAST(round((julianday(n.date) - julianday(s.date)) * 1440) AS INTEGER) AS delay_minutes
            FROM {table} m JOIN news n ON n.id = m.news_id JOIN statements s ON s.id = m.statement_id {through}
            WHERE m.statement_id IN ({marks}) {condition}
            ORDER BY m.statement_id, coalesce(n.date, m.matched_at), m.score DESC""",
        statement_ids,
    )
    for row in rows:
        result[row["statement_id"]].append(row)
    return result
