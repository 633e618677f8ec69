"""Precision and recall of the discrepancy flag on the hand-labelled pairs of tests/data/discrepancies.jsonl.

    python bench/discrepancies.py [--show]

A pair is flagged when `communique.discrepancy.differences` names anything; it should be when its
label lists a difference.  Precision first: a flag must be right.  The differences named are
checked too: one is right when the label has it (the same kind and the report's value; for figures
the statement's value too).  `--show` prints each pair the flag gets wrong.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from communique.discrepancy import Difference, differences

SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "discrepancies.jsonl"


@dataclass
class Counts:
    pairs: int = 0
    flagged: int = 0
    expected: int = 0
    right: int = 0  # flagged and expected
    named: int = 0
    named_right: int = 0

    @property
    def precision(self) -> float:
        return self.right / self.flagged if self.flagged else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.expected if self.expected else 1.0

    @property
    def named_precision(self) -> float:
        return self.named_right / self.named if self.named else 1.0


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def found(pair: dict) -> list[Difference]:
    statement, report = pair["statement"], pair["report"]
    return differences(statement["text"], statement.get("lang"), report["text"], report.get("lang"),
                       statement_date=_day(statement.get("date")), report_date=_day(report.get("date")))


def _is_labelled(difference: Difference, labels: list[dict]) -> bool:
    return any(label["kind"] == difference.kind and label["report"] == difference.report
               and (difference.kind in ("place", "day") or label["statement"] == difference.statement)
               for label in labels)


def evaluate(pairs: Iterable[dict], show: bool = False) -> dict[str, Counts]:
    """Counts overall ("all") and for each origin of the pairs (real, real-other-day, constructed)."""
    counts: dict[str, Counts] = {}
    for pair in pairs:
        named = found(pair)
        for key in ("all", pair["origin"]):
            c = counts.setdefault(key, Counts())
            c.pairs += 1
            c.flagged += bool(named)
            c.expected += bool(pair["differs"])
            c.right += bool(named) and bool(pair["differs"])
            c.named += len(named)
            c.named_right += sum(_is_labelled(d, pair["differs"]) for d in named)
        if show and bool(named) != bool(pair["differs"]):
            print(f"{pair['id']} {pair['origin']}: found {[d.as_dict() for d in named]}, labelled {pair['differs']}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print the pairs the flag gets wrong")
    args = parser.parse_args()
    pairs = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    langs = sorted({p[side]["lang"] for p in pairs for side in ("statement", "report")})
    differing = sum(bool(p["differs"]) for p in pairs)
    print(f"{len(pairs)} pairs, {differing} with a difference; languages: {', '.join(langs)}")
    print(f"{'pairs':<16}{'n':>5}{'differ':>8}{'flagged':>9}{'precision':>11}{'recall':>8}{'named right':>13}")
    for key, c in evaluate(pairs, show=args.show).items():
        print(f"{key:<16}{c.pairs:>5}{c.expected:>8}{c.flagged:>9}{c.precision:>11.3f}{c.recall:>8.3f}"
              f"{c.named_right:>7}/{c.named:<5}")


if __name__ == "__main__":
    main()
