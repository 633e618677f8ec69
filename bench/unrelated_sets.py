"""Build real texts that share no story, for `communique evaluate --unrelated S N`.

Two pairs of files, from the real sets in ../shared/data (which stay out of this repository):
- `official-vs-claims`: the 41 official statements of statements-news-dev (military, diplomatic;
  ru, uk, ar, he, en, tr, zh) against 600 fact-checked claims of claims-en-dev (US politics,
  health, viral hoaxes, 2016-2020);
- `tweets-vs-news`: 300 tweets of claims-en-dev against the 213 news items of statements-news-dev.
Every text is re-dated into the same hour, so the time window keeps no pair apart: only the
matcher's evidence does.  None of these pairs is a report, so "covered" must be said of none.

    .venv/bin/python bench/unrelated_sets.py OUT_DIR
    communique evaluate --unrelated OUT_DIR/official-vs-claims/statements.jsonl OUT_DIR/official-vs-claims/news.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
HOUR = "2026-03-02T10:{minute:02d}:00+00:00"


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _write(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for i, record in enumerate(records):
            out.write(json.dumps({**record, "date": HOUR.format(minute=i % 60)}, ensure_ascii=False) + "\n")


def build(out: Path, shared: Path = SHARED, *, seed: int = 20261204) -> list[Path]:
    """Write both pairs under `out`; returns their folders."""
    dev = shared / "statements-news-dev"
    claims = shared / "claims-en-dev"
    rng = random.Random(seed)
    official = [{"id": s["id"], "text": s["text"], "lang": s["lang"]} for s in _read(dev / "statements.jsonl")]
    claim_news = rng.sample(_read(claims / "news.jsonl"), 600)
    tweets = rng.sample(_read(claims / "statements.jsonl"), 300)
    dev_news = [{"id": n["id"], "title": n.get("title") or "", "text": n["text"], "source": n["source"],
                 "url": n["url"], "lang": n["lang"]} for n in _read(dev / "news.jsonl")]
    pairs = {
        "official-vs-claims": (official, [{**c, "lang": "en", "source": "claims"} for c in claim_news]),
        "tweets-vs-news": ([{**t, "lang": "en"} for t in tweets], dev_news),
    }
    folders = []
    for name, (statements, news) in pairs.items():
        _write(out / name / "statements.jsonl", statements)
        _write(out / name / "news.jsonl", news)
        folders.append(out / name)
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED}: not found (the real sets live in ../shared/data)")
    for folder in build(args.out):
        print(folder)


if __name__ == "__main__":
    main()
