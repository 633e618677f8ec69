"""An alert's coverage lines, filled in when it is sent rather than when it is queued, each with what its
report gives otherwise than the statement ("⚠ reports 31 drones (statement: 46)"), then the related news
(a statement of the same kind with other figures, regions or day: `store.matches.related`).

An alert to a large audience waits in the outbox for a while (50,000 chats take half an hour at
Telegram's 30 messages a second), and reports of the statement arrive meanwhile.  Rewriting every
waiting row for each report took seconds of store time; instead the queued text holds a
placeholder naming the statements whose coverage it shows (a repost shows its first post's
too), and `complete` renders the coverage from the matches table as the row is claimed.
Escaped post text can never contain the placeholder: its `<` would be `&lt;`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlite_utils import Database

from communique import render
from communique.coverage_differences import differing_reports
from communique.i18n import tr
from communique.store import matches

_PLACEHOLDER = re.compile(r'<coverage of="([0-9]+(?:,[0-9]+)*)"(?: lang="([a-z]+)")?/>')


def placeholder(statement_ids: list[int], lang: str = "en") -> str:
    """Where the coverage of `statement_ids` goes, and the language to write it in."""
    return f'<coverage of="{",".join(map(str, statement_ids))}" lang="{lang}"/>'


def complete(db: Database, text: str) -> str:
    """The alert's text with its coverage as the matches table has it now."""
    found = _PLACEHOLDER.search(text)
    if found is None:
        return text
    ids = [int(i) for i in found.group(1).split(",")]
    news, related = _by_news(ids, matches.coverage(db, ids)), _by_news(ids, matches.related(db, ids))
    for news_id in news:
        related.pop(news_id, None)  # a repost's related item that reports the first post is coverage
    differs = {news_id: named for (_, news_id), named in
               differing_reports(db, [*news.values(), *related.values()]).items()}
    return render.with_coverage(text, found.group(0), list(news.values()), differs, tr(found.group(2)),
                                list(related.values()))


def _by_news(ids: list[int], reports: dict[int, list[dict[str, Any]]]) -> dict[int, dict[str, Any]]:
    """The reports of the statements `ids`, each news item once (the first statement's row)."""
    news: dict[int, dict[str, Any]] = {}
    for statement_id in ids:
        for item in reports[statement_id]:
            news.setdefault(item["news_id"], item)
    return news
