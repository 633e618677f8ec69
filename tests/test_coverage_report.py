"""Speed and spread of coverage: `communique report` (table and chart), the configuration's countries, /stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bot_harness import ADMIN, running_bot
from demo_store import PERIOD, build_demo_store
from matplotlib.image import imread

from communique.cli import main
from communique.coverage_stats import summarise
from communique.errors import ConfigError
from communique.models import NewsItem, Statement
from communique.settings import FeedConfig, parse_settings
from communique.store import open_db
from communique.store.matches import save_match
from communique.store.news import upsert_news
from communique.store.statements import upsert_statement


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    return build_demo_store(tmp_path_factory.mktemp("demo") / "demo.db")


def test_report_on_the_demo_data_shows_time_to_first_report_outlets_languages_and_the_unreported(
        demo_db, tmp_path, capsys):
    chart = tmp_path / "speed.png"
    assert main(["report", "--db", str(demo_db), *PERIOD, "--chart", str(chart)]) == 0
    lines = capsys.readouterr().out.splitlines()

    assert lines[:2] == ["Coverage of statements posted 2026-11-26 00:00 – 2026-11-29 00:00 UTC",
                         "14 statements · 9 reported · 5 not picked up by any outlet · "
                         "median time to the first report 25 min"]
    # the 24 drones of 26 November: Вести at +20 min, Sample Wire +45, the Arabic wire +1 h 15
    assert lines[6].split() == ["2026-11-26", "04:05", "mod_russia", "20", "min", "3", "ar", "en", "ru", "В",
                                "течение", "прошедшей", "ночи", "дежурными", "средствами…"]
    outlets = lines[lines.index("Outlets, fastest first: minutes from the post to the outlet's first report of it"):]
    rows = outlets[3:6]
    assert sorted(line.split("  ")[0] for line in rows) == ["Sample Wire", "Sample Wire عربي", "Вести-Образец: новости"]
    medians = [int(line.split("min")[0].split()[-1]) for line in rows]  # all under an hour here
    assert medians == sorted(medians)  # fastest first
    assert rows[0].split()[-7:] == ["6", "20", "min", "13", "min", "37", "min"]  # Вести: 6 statements, 20 min
    languages = next(line for line in lines if line.startswith("Languages of the coverage"))
    assert languages.startswith("Languages of the coverage (statements reported in each): ar 7, en ")
    unreported = lines[lines.index("Not picked up by any outlet (5)") + 3:]
    assert [line.split()[3] for line in unreported[:5]] == [
        f"https://t.me/mod_russia/{n}" for n in (41204, 41205, 41211, 41214, 41215)]
    assert lines[-1] == f"chart: {chart}"
    image = imread(chart)  # a PNG matplotlib reads back: one row per outlet
    assert image.shape[1] == 800 and image.shape[0] >= 260


def test_outlets_are_counted_by_the_country_configured_for_them(demo_db):
    settings = parse_settings({"feed": [{"url": "https://samplewire.example/en/rss.xml", "outlet": "Sample Wire",
                                         "country": "gb"}]})
    summary = summarise(open_db(demo_db), start=datetime(2026, 11, 26, tzinfo=UTC),
                        end=datetime(2026, 11, 29, tzinfo=UTC), settings=settings)
    wire = next(o for o in summary.outlets if o.outlet == "Sample Wire")
    others = {s.statement["id"] for s in summary.statements for r in s.reports if r["source"] != "Sample Wire"}
    assert dict(summary.countries) == {"GB": len(wire.delays), "unknown": len(others)}
    assert {(o.outlet, o.country) for o in summary.outlets} == {
        ("Вести-Образец: новости", None), ("Sample Wire عربي", None), ("Sample Wire", "GB")}
    assert settings.feeds[0] == FeedConfig("https://samplewire.example/en/rss.xml", "Sample Wire", country="GB")


def test_a_news_channel_is_an_outlet_with_a_country_too():
    settings = parse_settings({"channel": [
        {"username": "tass_agency", "title": "ТАСС", "role": "news", "country": "RU"},
        {"username": "mod_russia", "title": "Минобороны России", "role": "official", "country": "RU"}]})
    assert settings.outlet_country("ТАСС") == "RU"
    assert settings.outlet_country("Минобороны России") is None  # an official channel is no outlet


def test_a_country_that_is_not_a_two_letter_code_is_named_in_the_error():
    with pytest.raises(ConfigError, match=r"feed\[0\]\.country: must be a two-letter ISO 3166 country code "
                                          r"such as GB or QA \(got 'GBR'\)"):
        parse_settings({"feed": [{"url": "https://x.example/rss", "outlet": "X", "country": "GBR"}]})


def test_a_period_that_is_not_one_is_one_line_and_exit_2(demo_db, capsys):
    assert main(["report", "--db", str(demo_db), "--since", "last week"]) == 2
    assert capsys.readouterr().err == ("communique: error: --since: 'last week' is not a period or a date "
                                       "(7d, 36h, 2w or a date such as 2026-11-26)\n")
    assert main(["report", "--db", str(demo_db), "--since", "2026-11-29", "--until", "2026-11-26"]) == 2
    assert "is not before --until 2026-11-26" in capsys.readouterr().err


def test_no_chart_is_drawn_for_a_period_nobody_reported(demo_db, tmp_path, capsys):
    chart = tmp_path / "none.png"
    assert main(["report", "--db", str(demo_db), "--since", "2026-11-01", "--until", "2026-11-02",
                 "--chart", str(chart)]) == 2
    out, err = capsys.readouterr()
    assert "No statements were posted in this period." in out
    assert "no outlet reported a statement of this period" in err and not chart.exists()


async def test_stats_tells_admins_how_fast_and_where_the_last_30_days_were_covered(fake_bot_api, db, db_path,
                                                                                   settings):
    now = datetime.now(UTC).replace(microsecond=0)
    for n, (outlet, minutes) in enumerate([("Meduza", 12), ("BBC Arabic", 40), (None, None)], start=1):
        posted = now - timedelta(hours=n)
        sid = upsert_statement(db, Statement(channel="mod_russia", ext_id=str(n), message_id=n, date=posted,
                                             text=f"Заявление номер {n}"), now=posted).id
        if outlet:
            item = NewsItem(source=outlet, guid=str(n), title=f"Report {n}", text="...", lang="ru",
                            url=f"https://news.example/{n}", date=posted + timedelta(minutes=minutes))
            save_match(db, sid, upsert_news(db, item, now=now)[0], 0.9, "lexical", now=now)
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        [stats] = await bot.say(ADMIN, "/stats")
    assert stats.split("\n")[-5:] == [
        "Coverage, last 30 days",
        "3 statements, 2 reported (67%), 1 not picked up by any outlet; median time to the first report 26 min",
        "Fastest outlets (median): Meduza 12 min (1), BBC Arabic 40 min (1)",
        "Languages: ru 2",
        "Countries: GB 1, LV 1"]  # the configured feeds' countries


def test_the_chart_draws_an_arabic_outlet_name_joined_and_right_to_left():
    from communique.coverage_chart import _label

    label = _label("Sample Wire عربي")
    assert label.startswith("Sample Wire ") and "عربي" not in label  # matplotlib gets the shaped, visual order
    assert all("\ufe70" <= ch <= "\ufeff" for ch in label.removeprefix("Sample Wire "))  # joined letter forms
