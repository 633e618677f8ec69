"""Stored embedding vectors: exact nearest neighbours, within a rowid range, as rows keep arriving."""

from __future__ import annotations

import numpy as np
from conftest import NOW
from sqlite_utils import Database

from communique import embedding_index
from communique.matching.vectors import NEWS_VECTORS, STATEMENT_VECTORS, nearest, save_vectors, vectors_of
from communique.models import NewsItem
from communique.settings import Settings
from communique.store import transaction
from communique.store.news import upsert_news

RNG = np.random.default_rng(7)


def _unit(n: int, dim: int = 384) -> np.ndarray:
    v = RNG.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _news(db: Database, count: int, start: int = 0) -> list[int]:
    with transaction(db):
        return [upsert_news(db, NewsItem(source="wire", guid=f"g{i}", text=f"item {i}", date=NOW), now=NOW)[0]
                for i in range(start, start + count)]


def _store(db: Database, ids: list[int], vectors: np.ndarray) -> None:
    with transaction(db):
        save_vectors(db, NEWS_VECTORS, ids, vectors)


def test_the_nearest_vectors_are_the_exact_best_cosines_in_order(db: Database) -> None:
    ids = _news(db, 300)
    vectors = _unit(300)
    _store(db, ids, vectors)
    query = vectors[42] + 0.3 * _unit(1)[0]

    found = nearest(db, NEWS_VECTORS, query, None, 5)

    exact = vectors @ query
    assert [row_id for row_id, _ in found] == [ids[i] for i in np.argsort(-exact)[:5]]
    assert found[0][0] == ids[42]
    assert all(abs(c - exact[ids.index(row_id)]) < 0.02 for row_id, c in found)  # int8 storage: close, not exact


def test_with_the_cross_lingual_check_the_nearest_are_still_the_nearest_in_meaning(db: Database) -> None:
    ids = _news(db, 200)
    meaning, check = _unit(200), _unit(200, 512)
    _store(db, ids, np.hstack([meaning, check]))
    query = np.hstack([meaning[7] + 0.3 * _unit(1)[0], check[99]])  # the check alone would put row 99 first

    found = nearest(db, NEWS_VECTORS, query, None, 5)

    exact = meaning @ query[:384]
    assert found[0][0] == ids[7] and ids[99] not in {row_id for row_id, _ in found}
    assert all(abs(c - exact[ids.index(row_id)]) < 0.02 for row_id, c in found)


def test_only_rows_inside_the_rowid_range_are_searched(db: Database) -> None:
    ids = _news(db, 100)
    vectors = _unit(100)
    _store(db, ids, vectors)

    found = nearest(db, NEWS_VECTORS, vectors[10], (ids[50], ids[59]), 20)

    assert len(found) == 10 and {row_id for row_id, _ in found} == set(ids[50:60])


def test_vectors_added_after_a_search_are_found_by_the_next_one(db: Database) -> None:
    first = _news(db, 50)
    _store(db, first, _unit(50))
    later_vectors = _unit(5)
    nearest(db, NEWS_VECTORS, later_vectors[0], None, 3)

    later = _news(db, 5, start=50)
    _store(db, later, later_vectors)

    assert nearest(db, NEWS_VECTORS, later_vectors[3], None, 1)[0][0] == later[3]


def test_a_new_model_replaces_what_the_old_one_stored(db: Database) -> None:
    ids = _news(db, 20)
    _store(db, ids, _unit(20))
    with transaction(db):
        embedding_index.prepare(db, "model-a", settings=Settings(), now=NOW)
    nearest(db, NEWS_VECTORS, _unit(1)[0], None, 3)

    with transaction(db):
        embedding_index.prepare(db, "model-b", settings=Settings(), now=NOW)
    new_vectors = _unit(2)
    _store(db, ids[:2], new_vectors)

    found = nearest(db, NEWS_VECTORS, new_vectors[1], None, 5)
    assert [row_id for row_id, _ in found] == [ids[1], ids[0]]


def test_statement_vectors_are_read_afresh_after_an_edit(db: Database) -> None:
    with transaction(db):
        db.execute("INSERT INTO statements (id, channel, ext_id, text, source, ingested_at) "
                   "VALUES (1, 'c', '1', 'a', 'test', ?), (2, 'c', '2', 'b', 'test', ?)", (NOW.isoformat(),) * 2)
    before, after = _unit(2), _unit(1)[0]
    with transaction(db):
        save_vectors(db, STATEMENT_VECTORS, [1, 2], before)
    assert nearest(db, STATEMENT_VECTORS, before[0], None, 1)[0][0] == 1

    with transaction(db):
        save_vectors(db, STATEMENT_VECTORS, [1], after[None, :])

    assert nearest(db, STATEMENT_VECTORS, after, None, 1)[0][0] == 1
    assert np.allclose(vectors_of(db, STATEMENT_VECTORS, [1])[1], after, atol=0.01)


def test_windows_moving_forward_and_back_always_search_exactly_their_rows(db: Database) -> None:
    ids = _news(db, 400)
    vectors = _unit(400)
    _store(db, ids, vectors)

    for first in (0, 100, 300, 50, 350):  # later windows, then an earlier one again (a late statement)
        window = (ids[first], ids[first + 49])
        found = nearest(db, NEWS_VECTORS, vectors[first + 7], window, 100)
        assert {row_id for row_id, _ in found} == set(ids[first:first + 50])
        assert found[0][0] == ids[first + 7]
