"""The catalogue in the store: how the configuration file and changes made in chat combine, start after start."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from communique.bot.digest_jobs import DigestJob, send_digest
from conftest import NOW
from sqlite_utils import Database

from communique.digest_schedule import Occurrence
from communique.models import Statement
from communique.settings import ChannelConfig, FeedConfig, Settings, TopicConfig
from communique.store import StoreThread
from communique.store.catalogue import LiveSettings, add, load, provenance, remove, revision, seed
from communique.store.outbox import pending_for
from communique.store.statements import upsert_statement
from communique.store.subscribers import ensure_subscriber, subscribe, update_subscriber

ADMIN = 777
MOD = ChannelConfig("mod_russia", None, "Минобороны России", "ru")
MID = ChannelConfig("mid_russia", None, "МИД России", "ru")
WIRE = FeedConfig("https://wire.example/rss", "Wire", "en")
SYRIA = TopicConfig("syria", "Syria", ("syria", "сирия"))
CONFIG = Settings(channels=(MOD, MID), feeds=(WIRE,), topics=(SYRIA,))


def keys(db: Database) -> tuple[list[str], list[str], list[str]]:
    catalogue = load(db)
    return ([c.key for c in catalogue.channels], [f.url for f in catalogue.feeds], [t.name for t in catalogue.topics])


def test_the_configuration_seeds_the_catalogue_and_a_second_start_changes_nothing(db: Database) -> None:
    assert seed(db, CONFIG, now=NOW) is True
    assert keys(db) == (["mod_russia", "mid_russia"], [WIRE.url], ["syria"])
    assert load(db).topics == (SYRIA,)
    moved = revision(db)
    assert seed(db, CONFIG, now=NOW) is False and revision(db) == moved


def test_the_configuration_wins_for_what_it_lists_and_drops_what_it_no_longer_lists(db: Database) -> None:
    seed(db, CONFIG, now=NOW)
    slower = replace(WIRE, interval=1800)
    seed(db, replace(CONFIG, channels=(MOD,), feeds=(slower,)), now=NOW)
    assert keys(db)[0] == ["mod_russia"]
    assert load(db).feeds == (slower,)


def test_a_removal_in_chat_outlasts_the_configuration_until_added_again_in_chat(db: Database) -> None:
    seed(db, CONFIG, now=NOW)
    assert remove(db, "channel", "mod_russia", by=ADMIN, now=NOW) == MOD
    assert remove(db, "channel", "mod_russia", by=ADMIN, now=NOW) is None
    seed(db, CONFIG, now=NOW)  # the configuration still lists it
    assert keys(db)[0] == ["mid_russia"]
    assert add(db, MOD, by=ADMIN, now=NOW) is True
    assert keys(db)[0] == ["mid_russia", "mod_russia"]  # additions in chat come after the configuration's


def test_a_removal_in_chat_is_forgotten_once_the_configuration_drops_the_entry_too(db: Database) -> None:
    seed(db, CONFIG, now=NOW)
    remove(db, "feed", WIRE.url, by=ADMIN, now=NOW)
    assert provenance(db, "feed") == (set(), [WIRE.url])  # what /feeds names as removed in chat
    seed(db, replace(CONFIG, feeds=()), now=NOW)
    assert provenance(db, "feed") == (set(), [])
    seed(db, CONFIG, now=NOW)  # listed in the file again: polled again
    assert keys(db)[1] == [WIRE.url]


def test_an_addition_in_chat_stays_whatever_the_configuration_says(db: Database) -> None:
    seed(db, CONFIG, now=NOW)
    ceasefire = TopicConfig("ceasefire", "ceasefire", ("ceasefire", "перемирие"))
    assert add(db, ceasefire, by=ADMIN, now=NOW) is True
    assert add(db, ceasefire, by=ADMIN, now=NOW) is False
    seed(db, replace(CONFIG, topics=()), now=NOW)
    assert load(db).topics == (ceasefire,)


def test_live_settings_read_the_catalogue_again_only_when_it_changed(db: Database) -> None:
    live = LiveSettings(CONFIG)
    assert live.start(db, now=NOW).channels == (MOD, MID)
    assert live.refresh(db) is False
    remove(db, "topic", "syria", by=ADMIN, now=NOW)
    assert live.refresh(db) is True
    assert live.current.topics == () and live.current.channels == (MOD, MID)
    assert live.configured.topics == (SYRIA,)


async def test_a_topic_added_in_chat_counts_in_the_next_digest_without_a_restart(
        db: Database, db_path: Path, settings: Settings) -> None:
    yesterday = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # 08:00 in Moscow
    today = yesterday + timedelta(days=1)
    ensure_subscriber(db, 501, now=yesterday - timedelta(days=30))
    update_subscriber(db, 501, timezone="Europe/Moscow", digest_time="08:00")
    seed(db, settings, now=yesterday)
    add(db, TopicConfig("ceasefire", "ceasefire", ("перемирие",)), by=ADMIN, now=yesterday)
    subscribe(db, 501, "topic", "ceasefire", now=yesterday)
    upsert_statement(db, Statement(channel="mod_russia", ext_id="1", message_id=1, date=yesterday + timedelta(hours=3),
                                   text="Стороны договорились о перемирии на трое суток.", lang="ru"),
                     now=yesterday + timedelta(hours=3))
    store = StoreThread(db_path)
    try:  # the digest job was scheduled with the configuration read at start, which has no such topic
        job = DigestJob(501, Occurrence(date(2026, 11, 28), today), settings, store, lambda: today)
        assert await send_digest(job)
    finally:
        store.close()
    [text] = [row["text"] for row in pending_for(db, 501) if row["kind"] == "digest"]
    assert "ceasefire" in text and "перемирии на трое суток" in text
