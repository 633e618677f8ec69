"""Embedding vectors in the store: one int8 row per statement or news item, searched exactly.

A vector is stored as one signed byte a component (each component of its unit vectors times 127,
rounded): a quarter of float32's size, and cosine similarities stay within about 0.005 of the exact
ones.  The search is an exact scan of the meaning part (`MEANING_DIMS`) of the vectors of the rows
inside a rowid range (the time window), which at live matching's window is a few thousand rows: no
approximate index is needed.

News vectors are only ever added in ascending news id order (the embedding pass follows a
cursor) or all removed (another model), so each connection keeps them in memory as they are
read and only reads the rows added since (its highest id and the model in `meta` tell): a
scan then costs a matrix product, not a read of the table.  It holds the rows from the oldest
window asked for on, not the whole table.  Statement vectors change when a
statement is edited; they are few and read each time.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

from communique.matching.embedder import MEANING_DIMS
from communique.store.meta import get_meta

_SCALE = 127.0
MODEL_KEY = "embedding_model"  # in `meta`: the model that made the stored vectors


@dataclass(frozen=True, slots=True)
class VectorTable:
    table: str
    key: str
    append_only: bool  # rows are added in ascending key order, never changed (see the module docstring)


NEWS_VECTORS = VectorTable("news_vectors", "news_id", append_only=True)
STATEMENT_VECTORS = VectorTable("statement_vectors", "statement_id", append_only=False)


class _Loaded:
    """A table's vectors from id `low` on, held in memory: ascending ids, and the int8 rows' meaning parts in a
    buffer that doubles as it fills."""

    def __init__(self, model: str | None, low: int) -> None:
        self.model = model
        self.low = low
        self.top = low - 1  # the highest id read so far
        self.size = 0
        self.ids = np.zeros(0, dtype=np.int64)
        self.rows = np.zeros((0, 0), dtype=np.int8)

    def add(self, ids: list[int], blobs: list[bytes]) -> None:
        if not ids:
            return
        new = _int8_rows(blobs)[:, :MEANING_DIMS]  # what the scan reads; the check's part is read per candidate
        if self.size + len(ids) > len(self.ids):
            capacity = max(2 * (self.size + len(ids)), 1024)
            ids_buffer = np.zeros(capacity, dtype=np.int64)
            rows_buffer = np.zeros((capacity, new.shape[1]), dtype=np.int8)
            if self.size:
                ids_buffer[: self.size] = self.ids[: self.size]
                rows_buffer[: self.size] = self.rows[: self.size]
            self.ids, self.rows = ids_buffer, rows_buffer
        self.ids[self.size: self.size + len(ids)] = ids
        self.rows[self.size: self.size + len(ids)] = new
        self.size += len(ids)
        self.top = ids[-1]

    def forget_below(self, low: int) -> None:
        """Let go of the rows below `low` once they are most of what is held (the window has moved on)."""
        start = int(np.searchsorted(self.ids[: self.size], low))
        if start > self.size // 2:
            self.ids = self.ids[start: self.size].copy()
            self.rows = self.rows[start: self.size].copy()
            self.size -= start
            self.low = low


_loaded: weakref.WeakKeyDictionary[Database, dict[str, _Loaded]] = weakref.WeakKeyDictionary()


def pack(vector: np.ndarray) -> bytes:
    return np.clip(np.rint(vector * _SCALE), -127, 127).astype(np.int8).tobytes()


def unpack(blobs: list[bytes]) -> np.ndarray:
    """Rows of float32 vectors (unit length, to quantisation error) from stored blobs."""
    return _int8_rows(blobs).astype(np.float32) / _SCALE


def _int8_rows(blobs: list[bytes]) -> np.ndarray:
    if not blobs:
        return np.zeros((0, 0), dtype=np.int8)
    return np.frombuffer(b"".join(blobs), dtype=np.int8).reshape(len(blobs), -1)


def save_vectors(db: Database, table: VectorTable, row_ids: list[int], vectors: np.ndarray) -> None:
    db.conn.executemany(
        f"INSERT OR REPLACE INTO {table.table} ({table.key}, vector) VALUES (?, ?)",
        [(row_id, pack(vector)) for row_id, vector in zip(row_ids, vectors, strict=True)],
    )


def vectors_of(db: Database, table: VectorTable, row_ids: list[int]) -> dict[int, np.ndarray]:
    if not row_ids:
        return {}
    marks = ",".join("?" * len(row_ids))
    rows = db.execute(f"SELECT {table.key}, vector FROM {table.table} WHERE {table.key} IN ({marks})",
                      row_ids).fetchall()
    return dict(zip((r[0] for r in rows), unpack([r[1] for r in rows]), strict=True))


def nearest(db: Database, table: VectorTable, query: np.ndarray, ids: tuple[int, int] | None,
            limit: int) -> list[tuple[int, float]]:
    """(row id, cosine) of the `limit` stored vectors closest in meaning to `query`, within the rowid range `ids`."""
    if table.append_only:
        row_ids, rows = _in_memory(db, table, ids)
    else:
        sql = f"SELECT {table.key}, vector FROM {table.table}"
        found = db.execute(sql + f" WHERE {table.key} BETWEEN ? AND ?", ids).fetchall() if ids else \
            db.execute(sql).fetchall()
        row_ids = np.array([r[0] for r in found], dtype=np.int64)
        rows = _int8_rows([r[1] for r in found])
    if not len(row_ids):
        return []
    similarity = _dot(rows, query)
    k = min(limit, len(row_ids))
    best = np.argpartition(-similarity, k - 1)[:k]
    best = best[np.argsort(-similarity[best], kind="stable")]
    return [(int(row_ids[i]), float(similarity[i])) for i in best]


def _in_memory(db: Database, table: VectorTable, ids: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """The table's vectors in the rowid range, from memory after reading only what was added since.

    Only rows from the lowest id asked for are held, and rows the time window has left behind are
    let go, so a long-running service holds about a window's worth, not every vector ever stored.
    """
    model = get_meta(db, MODEL_KEY)
    top = db.execute(f"SELECT max({table.key}) FROM {table.table}").fetchone()[0] or 0
    low = ids[0] if ids is not None else 0
    tables = _loaded.setdefault(db, {})
    loaded = tables.get(table.table)
    if loaded is None or loaded.model != model or top < loaded.top or low < loaded.low:
        loaded = tables[table.table] = _Loaded(model, low)
    else:
        loaded.forget_below(low)
    if top > loaded.top:
        found = db.execute(f"SELECT {table.key}, vector FROM {table.table} WHERE {table.key} > ? ORDER BY {table.key}",
                           (loaded.top,)).fetchall()
        loaded.add([r[0] for r in found], [r[1] for r in found])
    start, end = 0, loaded.size
    if ids is not None:
        start, end = np.searchsorted(loaded.ids[: loaded.size], [ids[0], ids[1] + 1])
    return loaded.ids[start:end], loaded.rows[start:end]


def _dot(rows: np.ndarray, query: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Meaning cosines of int8 rows with a float query, converting a chunk at a time (cache-sized, not the whole
    matrix)."""
    q = query[:MEANING_DIMS].astype(np.float32) / _SCALE
    out = np.empty(len(rows), dtype=np.float32)
    for start in range(0, len(rows), chunk):
        out[start:start + chunk] = rows[start:start + chunk, :MEANING_DIMS].astype(np.float32) @ q
    return out

