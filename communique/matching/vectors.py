"""Embedding vectors in the store: one int8 row per statement or news item, searched exactly.

A unit vector is stored as 384 signed bytes (each component times 127, rounded): a quarter of
float32's size, and cosine similarities stay within about 0.005 of the exact ones.  The search
is a plain scan of the vectors of the rows inside a rowid range (the time window), which at
live matching's window is a few thousand rows: no approximate index is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

_SCALE = 127.0


@dataclass(frozen=True, slots=True)
class VectorTable:
    table: str
    key: str


NEWS_VECTORS = VectorTable("news_vectors", "news_id")
STATEMENT_VECTORS = VectorTable("statement_vectors", "statement_id")


def pack(vector: np.ndarray) -> bytes:
    return np.clip(np.rint(vector * _SCALE), -127, 127).astype(np.int8).tobytes()


def unpack(blobs: list[bytes]) -> np.ndarray:
    """Rows of float32 vectors (unit length, to quantisation error) from stored blobs."""
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32)
    flat = np.frombuffer(b"".join(blobs), dtype=np.int8)
    return flat.reshape(len(blobs), -1).astype(np.float32) / _SCALE


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
    """(row id, cosine) of the `limit` stored vectors closest to `query`, within the rowid range `ids`."""
    sql = f"SELECT {table.key}, vector FROM {table.table}"
    params: tuple[int, ...] = ()
    if ids is not None:
        sql += f" WHERE {table.key} BETWEEN ? AND ?"
        params = ids
    rows = db.execute(sql, params).fetchall()
    if not rows:
        return []
    similarity = unpack([r[1] for r in rows]) @ query.astype(np.float32)
    k = min(limit, len(rows))
    best = np.argpartition(-similarity, k - 1)[:k]
    best = best[np.argsort(-similarity[best], kind="stable")]
    return [(rows[i][0], float(similarity[i])) for i in best]


def has_vectors(db: Database, table: VectorTable) -> bool:
    return db.execute(f"SELECT 1 FROM {table.table} LIMIT 1").fetchone() is not None
