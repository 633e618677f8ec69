"""A report in another language than the statement is covered when it repeats a covered report in its own language.

An Arabic outlet's short item on a Russian Defence Ministry count shares a figure and little else with the
Russian post, but says what another Arabic outlet's covered report says.  It is covered through that report
(one hop), whichever of the three arrived first, and the store and the export say which report carried it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
from datetime import timedelta

import pytest
from communique.monitors.jsonl import read_news, read_statements
from conftest import ROOT
from sqlite_utils import Database

from communique import alert_coverage
from communique.export import period_records, to_csv
from communique.matching import COVERED_THRESHOLD, MatchOptions, match_news
from communique.models import NewsItem, Statement
from communique.pipeline import ingest_news, ingest_statement
from communique.settings import Settings
from communique.store import transaction
from communique.store.matches import coverage, save_match
from communique.store.news import upsert_news

MULTILINGUAL = ROOT / "tests" / "data" / "multilingual"
NEWS = {n.guid: n for n in read_news(MULTILINGUAL / "news.jsonl")}
AIR_DEFENCE = next(s for s in read_statements(MULTILINGUAL / "statements.jsonl") if s.ext_id == "s03")
COVERED = NEWS["n039"]  # Arabic: "Russian defence: 46 Ukrainian drones downed over four regions" (names them)
CARRIED = NEWS["n044"]  # Arabic: "Russia announces the destruction of 46 drones launched by Ukraine"
assert AIR_DEFENCE.date is not None
NIGHT = [n for n in NEWS.values() if n.date and abs(n.date - AIR_DEFENCE.date) < timedelta(hours=30)]
OTHERS = [n for n in NIGHT if n.guid not in (COVERED.guid, CARRIED.guid)]


def _store(db: Database, items: list[NewsItem]) -> dict[str, int]:
    with transaction(db):
        return {item.guid: upsert_news(db, item, now=AIR_DEFENCE.date)[0] for item in items}


def test_a_report_that_repeats_a_covered_report_in_its_language_is_covered_through_it(db: Database) -> None:
    ids = _store(db, NIGHT)

    found = {c.row_id: c for c in match_news(db, AIR_DEFENCE.text, date=AIR_DEFENCE.date)}

    carried = found[ids[CARRIED.guid]]
    assert carried.score >= COVERED_THRESHOLD and carried.via == ids[COVERED.guid]
    assert found[ids[COVERED.guid]].via is None  # covered on its own evidence
    assert found[ids["n059"]].score < COVERED_THRESHOLD and found[ids["n059"]].related  # 29 drones: another night
    order = [c.score for c in found.values()]
    assert order == sorted(order, reverse=True)


def test_an_item_in_the_statements_own_language_is_judged_on_its_own_evidence(db: Database) -> None:
    """Nearly the Russian report's words, without its figures: any night's count.  In the statement's own
    language the words already meet, and what they lack is not made up by the report they resemble."""
    figureless = dataclasses.replace(
        NEWS["n037"], guid="figureless", url="https://vesti-sample.example/figureless",
        title="Над четырьмя областями ночью сбиты беспилотники",
        text="Больше всего дронов уничтожено над Брянской областью, ещё над Курской, Белгородской и Орловской, "
             "сообщило Минобороны России.")
    ids = _store(db, [*NIGHT, figureless])

    found = {c.row_id: c for c in match_news(db, AIR_DEFENCE.text, date=AIR_DEFENCE.date, options=MatchOptions(top=20))}

    assert found[ids["n037"]].score >= COVERED_THRESHOLD
    assert found[ids["figureless"]].score < COVERED_THRESHOLD and found[ids["figureless"]].via is None


def test_without_the_covered_report_the_same_item_is_not_covered(db: Database) -> None:
    ids = _store(db, [n for n in NIGHT if n.guid != COVERED.guid])

    [carried] = [c for c in match_news(db, AIR_DEFENCE.text, date=AIR_DEFENCE.date) if c.row_id == ids[CARRIED.guid]]

    assert carried.score < COVERED_THRESHOLD and carried.via is None


def _arrive(db: Database, settings: Settings, order: tuple[object, ...]) -> None:
    with transaction(db):
        for news in OTHERS:
            ingest_news(db, news, settings=settings, now=AIR_DEFENCE.date)
    for arrival in order:
        with transaction(db):
            if isinstance(arrival, Statement):
                ingest_statement(db, arrival, settings=settings, now=AIR_DEFENCE.date, alert=False)
            else:
                assert isinstance(arrival, NewsItem)
                ingest_news(db, arrival, settings=settings, now=AIR_DEFENCE.date)


@pytest.mark.parametrize("order", list(itertools.permutations([AIR_DEFENCE, COVERED, CARRIED])),
                         ids=lambda order: " then ".join(getattr(x, "guid", "post") for x in order))
def test_whichever_arrives_first_the_item_is_covered_through_the_report(db: Database, settings: Settings,
                                                                        order: tuple[object, ...]) -> None:
    _arrive(db, settings, order)

    statement_id = db.execute("SELECT id FROM statements").fetchone()[0]
    reports = {row["url"]: row for row in coverage(db, [statement_id])[statement_id]}
    assert reports[CARRIED.url]["via"] == db.execute("SELECT id FROM news WHERE guid = ?",
                                                     (COVERED.guid,)).fetchone()[0]
    assert reports[COVERED.url]["via"] is None
    assert "n059" not in {row["url"] for row in reports.values()}


def test_a_pair_covered_on_its_own_evidence_stays_so(db: Database) -> None:
    ids = _store(db, [COVERED, CARRIED])
    statement = db.execute("INSERT INTO statements (channel, ext_id, text, source, ingested_at) "
                           "VALUES ('mod_russia', '1', 'text', 'test', '2026-01-01')").lastrowid
    direct, carried = ids[COVERED.guid], ids[CARRIED.guid]
    now = AIR_DEFENCE.date

    save_match(db, statement, direct, 0.81, "lexical", now=now)
    save_match(db, statement, direct, 0.95, "lexical", now=now, via=carried)  # higher, but through a report
    save_match(db, statement, carried, 0.9, "fused", now=now, via=direct)
    save_match(db, statement, carried, 0.85, "fused", now=now)  # lower, but on its own evidence

    rows = {row["news_id"]: (row["score"], row["via"]) for row in coverage(db, [statement])[statement]}
    assert rows == {direct: (0.81, None), carried: (0.85, None)}


def test_the_export_names_the_report_an_item_is_covered_through(db: Database, settings: Settings) -> None:
    _arrive(db, settings, (AIR_DEFENCE, COVERED, CARRIED))

    [record] = period_records(db, start=AIR_DEFENCE.date - timedelta(hours=1),
                              end=AIR_DEFENCE.date + timedelta(hours=1), settings=settings)

    via = {report["url"]: report["via"] for report in record["reports"]}
    assert via[CARRIED.url] == COVERED.url and via[COVERED.url] is None
    rows = list(csv.DictReader(io.StringIO(to_csv([record]).decode("utf-8-sig"), newline="")))
    assert {row["report_url"]: row["via"] for row in rows}[CARRIED.url] == COVERED.url


@pytest.mark.parametrize(("lang", "says"), [("en", "repeats {outlet}'s report"),
                                            ("ru", "повторяет сообщение {outlet}")])
def test_the_alert_says_which_report_the_item_repeats(db: Database, settings: Settings, lang: str, says: str) -> None:
    _arrive(db, settings, (AIR_DEFENCE, COVERED, CARRIED))
    statement_id = db.execute("SELECT id FROM statements").fetchone()[0]

    text = alert_coverage.complete(db, alert_coverage.placeholder([statement_id], lang))

    lines = [line for line in text.splitlines() if line.startswith("•")]
    [carried] = [line for line in lines if CARRIED.url in line]
    [covered] = [line for line in lines if COVERED.url in line and CARRIED.url not in line]
    carrier = f'<a href="{COVERED.url}">{COVERED.source}</a>'
    assert carried.endswith(says.format(outlet=carrier))
    assert says.split(" ")[0] not in covered  # the report covered on its own evidence repeats nobody's
