"""Benchmark: importing one busy outlet's news against the same number of items from many outlets.

Generated daily-report style articles (headlines that differ only in a place and a figure, as a
ministry's daily summaries and the wires that run them do), each with its own guid and URL, are
written to a JSON Lines file and imported with `monitors.importing.import_file` into a fresh
on-disk store: once all from one outlet, once spread over `--outlets` outlets, over the same
days, each in a fresh process.  Prints items per second for both, how many items were stored,
and the ratio of the rates, in one run; the busy outlet should
import at least half as fast as the spread one (storing an item must not read the outlet's other
items of the same days).

    .venv/bin/python bench/news_import.py                      # 12,000 items, 200 outlets
    .venv/bin/python bench/news_import.py --items 20000
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from communique.monitors.importing import import_file  # noqa: E402

from communique.settings import load_settings  # noqa: E402
from communique.store import open_db  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 60
PLACES = ["the Belgorod region", "the Kursk region", "the Bryansk region", "Crimea", "the Black Sea", "Kharkiv",
          "Odesa", "Kherson", "Zaporizhzhia", "Donetsk", "Voronezh", "Rostov"]
WHAT = ["drones", "missiles", "glide bombs", "rockets"]


def articles(count: int, outlets: int, seed: int = 7) -> list[dict[str, object]]:
    """`count` distinct articles from `outlets` outlets, spread evenly over DAYS days."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        outlet = f"Outlet {n % outlets}"
        what, place, figure = rng.choice(WHAT), rng.choice(PLACES), rng.randint(2, 120)
        rows.append({
            "id": f"{outlet}/{n}", "source": outlet, "url": f"https://outlet{n % outlets}.example/news/{n}",
            "title": f"Air defences shot down {figure} {what} over {place} overnight, the ministry says",
            "text": f"The ministry said {figure} {what} were intercepted over {place}. Report number {n}.",
            "date": (START + timedelta(days=DAYS) * (n / count)).isoformat(),
        })
    return rows


def import_rate(count: int, outlets: int) -> tuple[float, int]:
    """Items per second of importing the generated file into a fresh store, and how many were stored."""
    settings = load_settings(ROOT / "config" / "communique.toml")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "news.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in articles(count, outlets)), encoding="utf-8")
        db = open_db(Path(folder) / "bench.db")
        began = time.perf_counter()
        report = import_file(db, path, settings, now=START + timedelta(days=DAYS), as_kind="news")
        elapsed = time.perf_counter() - began
        db.conn.close()
    return count / elapsed, report.added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=12_000)
    parser.add_argument("--outlets", type=int, default=200)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # import from this many outlets, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(import_rate(args.items, args.one)))
        return
    rates = {}
    for outlets in (args.outlets, 1):  # each in a fresh process: no caches warmed by the other run
        out = subprocess.run([sys.executable, __file__, "--items", str(args.items), "--one", str(outlets)],
                             check=True, capture_output=True, text=True).stdout
        rates[outlets], stored = json.loads(out)
        print(f"{args.items:,} items from {outlets} outlet(s): {rates[outlets]:,.0f} items/s, {stored:,} stored")
    print(f"one outlet / {args.outlets} outlets: {rates[1] / rates[args.outlets]:.2f} (at least 0.5 wanted)")


if __name__ == "__main__":
    main()
