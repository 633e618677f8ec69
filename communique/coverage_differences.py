"""The differences between stored statements and the stored reports of them, for alerts and digests.

`differing_reports` reads the texts of the pairs in a coverage listing (`store.matches.coverage`)
in two queries and compares each pair (`communique.discrepancy`).  A pair's answer never changes,
so it is remembered: a digest asks it of the same statements for every chat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from sqlite_utils import Database

from communique.discrepancy import Difference, differences
from communique.store.timefmt import from_db


def differing_reports(db: Database, coverage: Iterable[Mapping[str, Any]]) -> dict[tuple[int, int], list[Difference]]:
    """(statement id, news id) -> what the report gives otherwise, for the coverage rows that differ."""
    pairs = {(row["statement_id"], row["news_id"]) for row in coverage}
    if not pairs:
        return {}
    statements = _rows(db, "SELECT id, text, lang, date FROM statements", {s for s, _ in pairs})
    news = _rows(db, "SELECT id, title, text, lang, date FROM news", {n for _, n in pairs})
    found = {}
    for statement_id, news_id in pairs:
        st, item = statements.get(statement_id), news.get(news_id)
        if st is None or item is None:
            continue
        report = f"{item['title']}\n{item['text']}" if item["title"] else item["text"]
        named = _differences(st["text"] or "", st["lang"], _day(st["date"]), report, item["lang"], _day(item["date"]))
        if named:
            found[(statement_id, news_id)] = list(named)
    return found


def _rows(db: Database, select: str, ids: set[int]) -> dict[int, dict[str, Any]]:
    marks = ",".join("?" * len(ids))
    return {row["id"]: row for row in db.query(f"{select} WHERE id IN ({marks})", list(ids))}


def _day(value: str | None) -> date | None:
    moment = from_db(value)
    return moment.date() if moment else None


@lru_cache(maxsize=8192)
def _differences(statement: str, statement_lang: str | None, statement_date: date | None, report: str,
                 report_lang: str | None, report_date: date | None) -> tuple[Difference, ...]:
    return tuple(differences(statement, statement_lang, report, report_lang, statement_date=statement_date,
                             report_date=report_date))
