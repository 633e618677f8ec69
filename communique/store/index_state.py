"""Keeping the full-text indexes in step with the normaliser that reads them.

The FTS rows hold terms made by `normalise.index_text`.  When a new version of the normaliser
makes different terms (a better stemmer, a new skeleton rule), rows indexed by the old one no
longer meet queries made by the new one, and matches are silently missed.  The store keeps a
fingerprint of the normaliser that built its indexes: the terms it makes of a few fixed
sentences.  A store whose fingerprint differs is rebuilt from the stored texts (the folded
news headlines that find near-duplicates, `store.news.title_key`, too).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from sqlite_utils import Database

from communique.normalise import index_text
from communique.store.meta import get_meta, set_meta
from communique.store.news import title_key

log = logging.getLogger("communique.store")

_PROBES = (
    "Минобороны России: силы ПВО перехватили 24 беспилотника над Белгородской областью #ПВО",
    "وزارة الدفاع الروسية: الدفاعات الجوية أسقطت 24 مسيرة فوق بيلغورود والجيش",
    "Сили ППО збили 24 безпілотники над Харківською областю; Генштаб ЗСУ",
    "צה\"ל: מערך ההגנה האווירית יירט 24 כטב\"מים מעל הגליל; בלאוסוב",
    "Russia's Defence Minister Belousov says air defences intercepted 24 drones https://t.me/mod_russia/1",
    "Кр\u00adым, Бел\u200bгород и \u200fКурск",  # invisible characters inside words
    "сорока шести дронов, 1 230 солдат; ستة وأربعين طائرة و13 فوق كورسك; п'ять",  # figures as words and groups
    "外交部發言人：中方堅決反對 Taiwan",  # Chinese, Traditional folded to Simplified, in pairs of characters
    "с 23:30 мск 16 июня до 07:00 мск 17 июня",  # clock times are no figures
    "مليون و144 ألفا و830 فردا",  # figures inside numbers spelled with scale words
    "бойцы 110-й бригады в ночь на 23-го ноября",  # a figure's case ending is dropped: a day beside its month
)
PROGRESS_EVERY = 50_000
FINGERPRINT_KEY = "index_fingerprint"


def fingerprint() -> str:
    """What this version of the normaliser makes of the probe sentences, hashed."""
    terms = "\n".join(index_text("", probe) for probe in _PROBES)
    return hashlib.sha256(terms.encode()).hexdigest()[:16]


def index_is_current(db: Database) -> bool:
    recorded = get_meta(db, FINGERPRINT_KEY)
    if recorded is None:
        empty = not db.execute("SELECT 1 FROM statements LIMIT 1").fetchone() and \
            not db.execute("SELECT 1 FROM news LIMIT 1").fetchone()
        if empty:  # a new store: whatever gets indexed from now on is indexed by this normaliser
            _record(db)
        return empty
    return recorded == fingerprint()


def reindex(db: Database, progress: Callable[[str, int], None] | None = None) -> tuple[int, int]:
    """Rebuild both full-text indexes, and the news headline keys, from the stored texts; returns
    (statements, news items) indexed."""
    counts = []
    for table, fts, text_sql in (("statements", "statements_fts", "'', text"), ("news", "news_fts", "title, text")):
        db.execute(f"DELETE FROM {fts}")
        done = 0
        for row_id, title, text in db.execute(f"SELECT id, {text_sql} FROM {table} ORDER BY id").fetchall():
            db.execute(f"INSERT INTO {fts} (rowid, terms) VALUES (?, ?)", (row_id, index_text(title, text)))
            if table == "news":
                db.execute("UPDATE news SET title_key = ? WHERE id = ?", (title_key(title), row_id))
            done += 1
            if progress and done % PROGRESS_EVERY == 0:
                progress(table, done)
        db.execute(f"INSERT INTO {fts}({fts}) VALUES ('optimize')")
        counts.append(done)
    _record(db)
    return counts[0], counts[1]


def ensure_current(db: Database) -> tuple[int, int] | None:
    """Reindex if the store was indexed by another version of the normaliser; None if it was current."""
    if index_is_current(db):
        return None
    log.warning("the full-text indexes were built by another version of the normaliser: rebuilding them")
    counts = reindex(db, lambda table, done: log.info("reindexing %s: %d rows", table, done))
    log.info("reindexed %d statements and %d news items", *counts)
    return counts


def _record(db: Database) -> None:
    set_meta(db, FINGERPRINT_KEY, fingerprint())
