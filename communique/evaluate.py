"""Measuring the matcher on labelled files: the engine behind `communique evaluate`.

The statements are matched against the news by `batch.match_all`, the same code as
`communique match` and live matching.  `qrels` lists the right answers, one
`statement_id<TAB>news_id[<TAB>relevance]` a line (relevance 0 means "not relevant").

Metrics, each averaged over the statements that have right answers:
- recall@k: the share of a statement's right answers among its first k results;
- MAP@5: average precision over the first 5 results, divided by min(right answers, 5);
- MRR: 1 / the rank of the first right answer (0 when none is returned).
When the files say each item's `lang`, the same metrics are also given for same-language and
for cross-language pairs.  For one kind of pair, the right answers of the other kind are left
out of the ranking: they are neither hits nor mistakes there, while every wrong result stays.

The covered decision is measured too: of the returned pairs scored at or above the
threshold, how many are right (precision), and how many of all right pairs they are (recall),
with the lowest threshold that keeps precision at 0.95 or more on these files.

Three more protocols test the decision where it is hardest:
- the busy window (`busy_window=True`): the news items' dates are dropped, so every item is a
  candidate for every statement, as in a window crowded with same-body reports of other days;
- the crowded window (`crowded=True`): every news item is dated at the statement's own time, so
  every item is a candidate and the time agrees for all of them (a daily bulletin's channel, whose
  next days' reports fall in the window, is between this and the news as dated);
- unrelated texts (`count_unrelated`): statements and news that share no story, where any
  "covered" pair is a false one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import numpy as np

from communique.errors import ImportFormatError
from communique.matching.embedder import Embedder
from communique.models import NewsItem, Statement

DEPTH = 20
"""How many results per statement are asked for (MRR and recall look that deep, at most)."""


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def average_precision_at(ranked: Sequence[str], relevant: set[str], k: int = 5) -> float:
    hits, total = 0, 0.0
    for rank, item in enumerate(ranked[:k], 1):
        if item in relevant:
            hits += 1
            total += hits / rank
    return total / min(len(relevant), k) if relevant else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: set[str]) -> float:
    return next((1.0 / rank for rank, item in enumerate(ranked, 1) if item in relevant), 0.0)


@dataclass(frozen=True, slots=True)
class Metrics:
    statements: int
    pairs: int
    recall_1: float
    recall_5: float
    map_5: float
    mrr: float


def metrics(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, set[str]]) -> Metrics:
    """Metrics over the statements of `qrels` that have right answers (missing rankings count as empty)."""
    judged = [(rankings.get(sid, []), relevant) for sid, relevant in qrels.items() if relevant]
    if not judged:
        return Metrics(0, 0, 0.0, 0.0, 0.0, 0.0)
    n = len(judged)
    return Metrics(
        statements=n,
        pairs=sum(len(relevant) for _, relevant in judged),
        recall_1=sum(recall_at(r, rel, 1) for r, rel in judged) / n,
        recall_5=sum(recall_at(r, rel, 5) for r, rel in judged) / n,
        map_5=sum(average_precision_at(r, rel, 5) for r, rel in judged) / n,
        mrr=sum(reciprocal_rank(r, rel) for r, rel in judged) / n,
    )


def split_by_language(rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, set[str]],
                      statement_lang: Mapping[str, str | None], news_lang: Mapping[str, str | None],
                      ) -> dict[str, Metrics]:
    """Metrics for same-language and cross-language pairs (pairs whose languages are known)."""
    result = {}
    for kind in ("same-language", "cross-language"):
        subset: dict[str, set[str]] = {}
        subset_rankings: dict[str, list[str]] = {}
        for sid, relevant in qrels.items():
            lang = statement_lang.get(sid)
            known = {n for n in relevant if lang and news_lang.get(n)}
            chosen = {n for n in known if (news_lang[n] == lang) == (kind == "same-language")}
            if not chosen:
                continue
            subset[sid] = chosen
            others = relevant - chosen
            subset_rankings[sid] = [n for n in rankings.get(sid, []) if n not in others]
        if subset:
            result[kind] = metrics(subset_rankings, subset)
    return result


@dataclass(frozen=True, slots=True)
class Decision:
    threshold: float
    precision: float
    recall: float


def covered_decision(scored: Iterable[tuple[float, bool]], total_relevant: int, threshold: float) -> Decision:
    """Precision and recall of "score >= threshold" over returned (score, is_right) pairs."""
    chosen = [right for score, right in scored if score >= threshold]
    hits = sum(chosen)
    return Decision(threshold, hits / len(chosen) if chosen else 1.0,
                    hits / total_relevant if total_relevant else 0.0)


def threshold_for_precision(scored: Iterable[tuple[float, bool]], total_relevant: int,
                            precision: float = 0.95) -> Decision | None:
    """The lowest threshold whose decision keeps at least `precision` (None: no threshold does)."""
    ordered = sorted(scored, key=lambda pair: -pair[0])
    best, hits = None, 0
    for taken, (score, right) in enumerate(ordered, 1):
        hits += right
        next_score = ordered[taken][0] if taken < len(ordered) else None
        if next_score == score:
            continue  # a threshold takes every pair with the same score
        if hits / taken >= precision:
            best = Decision(score, hits / taken, hits / total_relevant if total_relevant else 0.0)
    return best


def read_qrels(path: Path) -> dict[str, set[str]]:
    """`statement_id<TAB>news_id[<TAB>relevance]` lines; blank lines and # comments are skipped."""
    qrels: dict[str, set[str]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(path, f"cannot read ({exc})") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise ImportFormatError(path, f"line {number}: expected statement_id<TAB>news_id[<TAB>relevance]")
        relevance = fields[2].strip() if len(fields) > 2 else "1"
        try:
            relevant = float(relevance) > 0
        except ValueError:
            raise ImportFormatError(path, f"line {number}: relevance must be a number, got {relevance!r}") from None
        entry = qrels.setdefault(fields[0].strip(), set())
        if relevant:
            entry.add(fields[1].strip())
    return qrels


@dataclass(frozen=True, slots=True)
class Evaluation:
    rows: dict[str, Metrics]
    covered: Decision
    calibrated: Decision | None
    seconds: float
    related: tuple[int, int] = (0, 0)
    """Pairs shown as related (same kind, other figures, regions or day), and how many are labelled reports."""
    through: tuple[int, int] = (0, 0)
    """Covered pairs covered through another report (`Candidate.via`), and how many are labelled reports."""


def undated(news: list[NewsItem]) -> list[NewsItem]:
    """The news without their dates: the busy-window protocol."""
    return [replace(item, date=None) for item in news]


def crowded(statement: Statement, news: list[NewsItem]) -> list[NewsItem]:
    """The news each dated at the statement's time: the crowded-window protocol."""
    return [replace(item, date=statement.date) for item in news]


class _Remembered:
    """An embedder that embeds each text once, however many stores it is asked for (the crowded window
    stores the news once for each statement)."""

    def __init__(self, inner: Embedder) -> None:
        self.name = inner.name
        self._inner = inner
        self._known: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._known]
        if missing:
            self._known.update(zip(missing, self._inner.embed(missing), strict=True))
        return np.stack([self._known[t] for t in texts]) if texts else self._inner.embed(texts)


def evaluate(statements: list[Statement], news: list[NewsItem], qrels: Mapping[str, set[str]], *,
             embedder: Embedder | None = None, progress: Callable[[int, int, str], None] | None = None,
             crowd: bool = False) -> Evaluation:
    """Match the statements against the news as `communique match` does and measure the result; with
    `crowd`, against the news dated at each statement's time (`crowded`)."""
    from communique.batch import match_all
    from communique.matching import COVERED_THRESHOLD

    started = time.perf_counter()
    rankings: dict[str, list[str]] = {}
    scored: list[tuple[float, bool]] = []
    related: list[bool] = []
    through: list[bool] = []
    if crowd:
        once = _Remembered(embedder) if embedder is not None else None
        results: Iterable[dict] = (result for statement in statements
                                   for result in match_all([statement], crowded(statement, news), top=DEPTH,
                                                           embedder=once))
    else:
        results = match_all(statements, news, top=DEPTH, embedder=embedder, progress=progress)
    for result in results:
        sid = str(result["statement_id"])
        matches: list[dict] = result["matches"]  # type: ignore[assignment]
        rankings[sid] = [m["news_id"] for m in matches]
        scored += [(m["score"], m["news_id"] in qrels.get(sid, set())) for m in matches]
        related += [m["news_id"] in qrels.get(sid, set()) for m in matches if m["related"]]
        through += [m["news_id"] in qrels.get(sid, set()) for m in matches
                    if m["via"] is not None and m["score"] >= COVERED_THRESHOLD]
    seconds = time.perf_counter() - started
    rows = {"all pairs": metrics(rankings, qrels)}
    rows.update(split_by_language(rankings, qrels, {s.ext_id: s.lang for s in statements},
                                  {n.guid: n.lang for n in news}))
    total_relevant = sum(len(r) for r in qrels.values())
    return Evaluation(rows, covered_decision(scored, total_relevant, COVERED_THRESHOLD),
                      threshold_for_precision(scored, total_relevant), seconds, (len(related), sum(related)),
                      (len(through), sum(through)))


@dataclass(frozen=True, slots=True)
class Unrelated:
    statements: int
    news: int
    pairs: int
    covered: list[tuple[str, str, float]]
    seconds: float
    related: int = 0


def count_unrelated(statements: list[Statement], news: list[NewsItem], *, embedder: Embedder | None = None,
                    progress: Callable[[int, int, str], None] | None = None) -> Unrelated:
    """The pairs scored "covered" among texts that share no story (each of them a false report)."""
    from communique.batch import match_all
    from communique.matching import COVERED_THRESHOLD

    started = time.perf_counter()
    covered, pairs, related = [], 0, 0
    for result in match_all(statements, news, top=DEPTH, embedder=embedder, progress=progress):
        matches: list[dict] = result["matches"]  # type: ignore[assignment]
        pairs += len(matches)
        covered += [(str(result["statement_id"]), m["news_id"], m["score"]) for m in matches
                    if m["score"] >= COVERED_THRESHOLD]
        related += sum(bool(m["related"]) for m in matches)
    return Unrelated(len(statements), len(news), pairs, covered, time.perf_counter() - started, related)


def run_unrelated(statements: list[Statement], news: list[NewsItem], out: TextIO = sys.stdout, *,
                  embedder: Embedder | None = None,
                  progress: Callable[[int, int, str], None] | None = None) -> Unrelated:
    """`communique evaluate --unrelated S N`: print how many pairs of unrelated texts are "covered" (should be 0)."""
    from communique.matching import COVERED_THRESHOLD

    result = count_unrelated(statements, news, embedder=embedder, progress=progress)
    print(f"{result.statements} statements, {result.news} news items that share no story, "
          f"matched in {result.seconds:.1f} s", file=out)
    print(f"covered (score >= {COVERED_THRESHOLD:.2f}): {len(result.covered)} of {result.pairs} pairs returned "
          f"(each one is a false report); related: {result.related} (want 0: an alert would list them)", file=out)
    for statement_id, news_id, score in sorted(result.covered, key=lambda c: -c[2])[:20]:
        print(f"  {statement_id} ~ {news_id}  {score:.3f}", file=out)
    return result


def run_evaluate(statements: list[Statement], news: list[NewsItem], qrels: Mapping[str, set[str]],
                 out: TextIO = sys.stdout, *, embedder: Embedder | None = None, busy_window: bool = False,
                 crowded_window: bool = False,
                 progress: Callable[[int, int, str], None] | None = None) -> Evaluation:
    """`communique evaluate`: evaluate, print the metrics table and the covered decision."""
    if busy_window:
        news = undated(news)
    result = evaluate(statements, news, qrels, embedder=embedder, progress=progress, crowd=crowded_window)
    protocol = ("busy window (news undated: every item a candidate)" if busy_window else
                "crowded window (every item dated at its statement's time)" if crowded_window else "as dated")
    print(f"{len(statements)} statements, {len(news)} news items, {protocol}, matched in {result.seconds:.1f} s",
          file=out)
    print(f"{'':<16}{'statements':>11}{'pairs':>7}{'recall@1':>10}{'recall@5':>10}{'MAP@5':>8}{'MRR':>8}", file=out)
    for name, m in result.rows.items():
        print(f"{name:<16}{m.statements:>11}{m.pairs:>7}{m.recall_1:>10.3f}{m.recall_5:>10.3f}"
              f"{m.map_5:>8.3f}{m.mrr:>8.3f}", file=out)
    covered = result.covered
    print(f"covered (score >= {covered.threshold:.2f}, first {DEPTH} results): "
          f"precision {covered.precision:.3f}, recall {covered.recall:.3f}; {result.through[0]} of them covered "
          f"through another report ({result.through[1]} labelled reports)", file=out)
    print(f"related (same kind, other figures, regions or day; never covered): {result.related[0]} pairs, "
          f"{result.related[1]} of them labelled reports", file=out)
    if result.calibrated is None:
        print("no threshold reaches precision 0.95 on these files", file=out)
    else:
        print(f"lowest threshold with precision >= 0.95 here: {result.calibrated.threshold:.3f} "
              f"(precision {result.calibrated.precision:.3f}, recall {result.calibrated.recall:.3f})", file=out)
    return result
