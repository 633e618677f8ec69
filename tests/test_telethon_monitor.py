"""Watching channels live with Telethon: posts, albums, edits, deletions, catch-up, FloodWait, broken channels.

Real `telethon.tl.types` updates go through a real (never-connected) client's update
handling; history comes from `FakeTelegram`, which pages `GetHistoryRequest` as Telegram
does.  The store is a real SQLite file.  Any non-loopback socket use fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from communique.monitors.channel_state import outbox_notifier
from communique.monitors.importing import import_file
from communique.monitors.main import keep_watching
from communique.monitors.telethon_convert import album_statements, forwarded_from, media_kind, post_text, to_statement
from communique.monitors.telethon_monitor import TelethonMonitor
from conftest import NOW
from faketelegram import T0, FakeTelegram, NetworkUsed, offline, photo, post, service  # noqa: F401 (fixture)
from sqlite_utils import Database
from telethon import TelegramClient, errors
from telethon.sessions import StringSession
from telethon.tl import types

from communique.settings import Settings, parse_settings
from communique.store import StoreThread
from communique.store.statements import versions
from communique.store.subscribers import ensure_subscriber, subscribe, update_subscriber

pytestmark = pytest.mark.usefixtures("offline")

MOD, MID, TASS, ORIGIN = 1001, 1002, 1003, 1004
CONFIG = {
    "admins": [42],
    "monitor": {"backfill": 3},
    "channel": [
        {"username": "mod_russia", "title": "Минобороны России", "language": "ru"},
        {"username": "MID_Russia", "title": "МИД России", "language": "ru"},
        {"username": "tass_agency", "title": "ТАСС", "language": "ru", "role": "news"},
    ],
}


class Clock:
    """A fixed clock and a sleep that records how long it was asked to wait instead of waiting."""

    def __init__(self, now: datetime = NOW) -> None:
        self.slept: list[float] = []
        self.current = now

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def settings() -> Settings:
    return parse_settings(CONFIG)


@pytest.fixture
def telegram() -> FakeTelegram:
    client = FakeTelegram()
    client.add_channel(MOD, "mod_russia", "Минобороны России")
    client.add_channel(MID, "MID_Russia", "МИД России")
    client.add_channel(TASS, "tass_agency", "ТАСС")
    client.add_channel(ORIGIN, "gov_press", "Пресс-служба правительства")
    return client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def admin_notes() -> list[str]:
    return []


@pytest.fixture
def subscribers(db: Database) -> None:
    """100 follows the MoD channel; 200 the keyword "беспилотник" without edit follow-ups; 300 "калининград"."""
    for chat in (100, 200, 300):
        ensure_subscriber(db, chat, now=NOW)
    subscribe(db, 100, "channel", "mod_russia", now=NOW)
    subscribe(db, 200, "keyword", "беспилотник", now=NOW)
    update_subscriber(db, 200, edit_followups=0)
    subscribe(db, 300, "keyword", "калининград", now=NOW)


def monitor_for(telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock,
                admin_notes: list[str], **kwargs: object) -> TelethonMonitor:
    async def notify(text: str) -> None:
        admin_notes.append(text)

    options = {"channels": settings.channels, "notify_admins": notify, "sleep": clock.sleep, "clock": clock.now,
               **kwargs}
    return TelethonMonitor(telegram, settings, store, **options)  # type: ignore[arg-type]


def restarted(telegram: FakeTelegram) -> FakeTelegram:
    """A new process's client: same Telegram (channels and history), fresh client state."""
    client = FakeTelegram()
    client.channels, client.history = telegram.channels, telegram.history
    return client


def outbox(db: Database, *, kind: str | None = None) -> list[tuple[str, int, str]]:
    where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
    return [(r["dedupe_key"], r["chat_id"], r["kind"])
            for r in db.query(f"SELECT * FROM outbox {where} ORDER BY id", params)]


def statements(db: Database, channel: str = "mod_russia") -> list[dict]:
    return list(db.query("SELECT * FROM statements WHERE channel = ? ORDER BY message_id", [channel]))


# --- live updates --------------------------------------------------------------------------


async def run_until_idle(monitor: TelethonMonitor) -> None:
    """Start a monitor, let it catch up and handle what is queued, then stop it (one run of the service)."""
    await monitor.start()
    await monitor.idle()
    await monitor.stop()

async def test_a_post_an_album_an_edit_and_a_deletion_reach_the_store_and_only_the_right_subscribers(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database, subscribers: None) -> None:
    monitor = monitor_for(telegram, settings, store, clock, admin_notes)
    await monitor.start()
    await monitor.idle()
    await telegram.new_post(post(MOD, 4, "Дежурными средствами ПВО уничтожены 12 беспилотников над Белгородской "
                                         "областью."))
    await telegram.new_post(post(MOD, 5, "", grouped_id=77, media=photo()))
    await telegram.new_post(post(MOD, 6, "Вручение государственных наград военнослужащим", grouped_id=77,
                                 media=photo()))
    await telegram.new_post(post(MOD, 7, "", grouped_id=77, media=photo()))
    await telegram.edit_post(post(MOD, 4, "Дежурными средствами ПВО уничтожены 15 беспилотников над Белгородской "
                                          "и Курской областями.", edit_date=T0.replace(hour=10)))
    await telegram.delete_posts(MOD, [5, 6, 7])
    await monitor.idle()
    await monitor.stop()
    assert telegram.list_event_handlers() == []

    drone, album = statements(db)
    assert len(statements(db)) == 2
    assert (drone["ext_id"], drone["version"], drone["source"]) == ("4", 2, "telethon")
    assert [v["text"].split()[4] for v in versions(db, drone["id"])] == ["12", "15"]
    assert drone["url"] == "https://t.me/mod_russia/4"
    assert album["text"] == "Вручение государственных наград военнослужащим"
    assert (album["media"], album["grouped_id"], album["deleted_at"] is not None) == ("album: 3 photos", 77, True)
    assert db.execute("SELECT count(*) FROM statement_parts WHERE statement_id = ?", [album["id"]]).fetchone()[0] == 3

    assert outbox(db) == [
        ("alert:mod_russia/4", 100, "alert"),
        ("alert:mod_russia/4", 200, "alert"),
        ("alert:mod_russia/6", 100, "alert"),
        ("edit:mod_russia/4:v2", 100, "edit"),
        ("delete:mod_russia/6", 100, "delete"),
    ]
    texts = {(r["dedupe_key"], r["chat_id"]): r["text"] for r in db.query("SELECT * FROM outbox")}
    assert "Вручение государственных наград" in texts[("alert:mod_russia/6", 100)]
    assert "[album: 3 photos]" in texts[("alert:mod_russia/6", 100)]
    assert "<s>12</s>" in texts[("edit:mod_russia/4:v2", 100)]
    assert "<b>15</b>" in texts[("edit:mod_russia/4:v2", 100)]
    assert "Archived text" in texts[("delete:mod_russia/6", 100)]
    assert "Вручение государственных наград" in texts[("delete:mod_russia/6", 100)]
    assert admin_notes == []


async def test_an_album_on_its_own_becomes_one_statement_after_a_short_wait(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database) -> None:
    monitor = monitor_for(telegram, settings, store, clock, admin_notes, album_delay=0.2)
    await monitor.start()
    await monitor.idle()
    for msg_id in (10, 11, 12):
        await telegram.new_post(post(MOD, msg_id, "Фото с учений" if msg_id == 12 else "", grouped_id=5,
                                     media=photo()))
    await monitor.idle()
    assert statements(db) == []  # still waiting for more parts
    for _ in range(100):
        await asyncio.sleep(0.02)
        await monitor.idle()
        if statements(db):
            break
    await monitor.stop()
    [album] = statements(db)
    assert (album["ext_id"], album["text"]) == ("12", "Фото с учений")


async def test_service_messages_are_ignored_and_forwarded_posts_name_their_origin(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database) -> None:
    monitor = monitor_for(telegram, settings, store, clock, admin_notes)
    await monitor.start()
    await monitor.idle()
    forwarded = types.MessageFwdHeader(date=T0, from_id=types.PeerChannel(ORIGIN), channel_post=9)
    await telegram.new_post(post(MOD, 20, "Заявление правительства", fwd_from=forwarded))
    await telegram.push(types.UpdateNewChannelMessage(message=service(MOD, 21), pts=telegram.pts, pts_count=1))
    await monitor.idle()
    await monitor.stop()
    [statement] = statements(db)
    assert statement["forwarded_from"] == "Пресс-служба правительства"


async def test_an_edit_of_an_old_post_never_seen_is_stored_without_alerting(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database, subscribers: None) -> None:
    telegram.history[MOD] = [post(MOD, i, f"Сводка {i}") for i in range(1, 11)]
    monitor = monitor_for(telegram, settings, store, clock, admin_notes)
    await monitor.start()
    await monitor.idle()
    await telegram.edit_post(post(MOD, 2, "Сводка 2 (исправлено)", edit_date=T0))
    await monitor.idle()
    await monitor.stop()
    assert [s["ext_id"] for s in statements(db)] == ["2", "8", "9", "10"]
    assert outbox(db) == []


async def test_posts_imported_before_the_channel_was_watched_are_not_stored_again_by_telethon(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database, tmp_path: Path) -> None:
    """An export whose name is not the configured title lands under id:<n>; Telethon learns the id and takes it."""
    export = tmp_path / "result.json"
    export.write_text(json.dumps({"name": "Минобороны", "type": "public_channel", "id": MOD, "messages": [
        {"id": i, "type": "message", "date_unixtime": str(int(T0.timestamp()) + 60 * i), "date": "",
         "text": f"Сводка {i}"} for i in (1, 2, 3)]}, ensure_ascii=False), encoding="utf-8")
    import_file(db, export, settings, now=NOW)
    assert [s["ext_id"] for s in statements(db, f"id:{MOD}")] == ["1", "2", "3"]
    telegram.history[MOD] = [post(MOD, i, f"Сводка {i}") for i in range(1, 5)]
    await run_until_idle(monitor_for(telegram, settings, store, clock, admin_notes))
    assert statements(db, f"id:{MOD}") == []
    assert [(s["ext_id"], s["url"]) for s in statements(db)] == [
        (str(i), f"https://t.me/mod_russia/{i}") for i in (1, 2, 3, 4)]


async def test_a_news_channel_gives_news_items_not_statements(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database) -> None:
    monitor = monitor_for(telegram, settings, store, clock, admin_notes)
    await monitor.start()
    await monitor.idle()
    await telegram.new_post(post(TASS, 501, "Минобороны сообщило об уничтожении 15 беспилотников"))
    await monitor.idle()
    await monitor.stop()
    assert statements(db, "tass_agency") == []
    [item] = db.query("SELECT source, guid, url, lang FROM news")
    assert item == {"source": "ТАСС", "guid": "501", "url": "https://t.me/tass_agency/501", "lang": "ru"}


async def test_a_channel_configured_by_numeric_id_is_watched_under_its_id(
        telegram: FakeTelegram, store: StoreThread, clock: Clock, admin_notes: list[str], db: Database) -> None:
    settings = parse_settings({"channel": [{"id": MID, "title": "МИД России"}]})
    monitor = monitor_for(telegram, settings, store, clock, admin_notes)
    await monitor.start()
    await monitor.idle()
    await telegram.new_post(post(MID, 8, "Брифинг официального представителя"))
    await monitor.idle()
    await monitor.stop()
    [statement] = statements(db, f"id:{MID}")
    assert statement["url"] == f"https://t.me/c/{MID}/8"
    assert admin_notes == []


# --- catch-up ------------------------------------------------------------------------------


async def test_a_first_start_keeps_the_latest_posts_without_alerting_anyone(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database, subscribers: None) -> None:
    telegram.history[MOD] = [post(MOD, i, f"Сводка {i}") for i in range(1, 11)] + [service(MOD, 11)]
    monitor = monitor_for(telegram, settings, store, clock, admin_notes)
    await run_until_idle(monitor)
    assert [s["ext_id"] for s in statements(db)] == ["9", "10"]  # backfill 3: posts 9, 10 and the pin 11
    assert db.execute("SELECT last_message_id FROM channels WHERE key = 'mod_russia'").fetchone()[0] == 11
    assert outbox(db) == []


async def test_a_first_start_still_alerts_posts_published_after_it_began(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, admin_notes: list[str], db: Database,
        subscribers: None) -> None:
    clock = Clock(T0 + timedelta(minutes=9, seconds=30))
    telegram.history[MOD] = [post(MOD, i, f"Сводка {i}") for i in range(1, 11)]  # post i is dated T0 + i min
    monitor = monitor_for(telegram, settings, store, clock, admin_notes)
    await monitor.start()
    await telegram.new_post(post(MOD, 11, "Сводка 11"))  # arrives while the first read is queued
    await monitor.idle()
    await monitor.stop()
    assert [s["ext_id"] for s in statements(db)] == ["9", "10", "11"]
    assert outbox(db) == [("alert:mod_russia/10", 100, "alert"), ("alert:mod_russia/11", 100, "alert")]


async def test_posts_published_while_down_are_stored_and_alerted_once_in_order(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database, subscribers: None, caplog: pytest.LogCaptureFixture) -> None:
    telegram.history[MOD] = [post(MOD, i, f"Сводка {i}") for i in range(1, 4)]
    first = monitor_for(telegram, settings, store, clock, admin_notes)
    await run_until_idle(first)
    assert outbox(db) == []

    telegram.history[MOD] += [post(MOD, i, f"Сводка {i}") for i in range(4, 124)]
    caplog.set_level(logging.INFO, logger="communique.monitors.telethon_monitor")
    second = monitor_for(restarted(telegram), settings, store, clock, admin_notes)
    await run_until_idle(second)
    assert [s["ext_id"] for s in statements(db)] == [str(i) for i in range(1, 124)]
    assert outbox(db) == [(f"alert:mod_russia/{i}", 100, "alert") for i in range(4, 124)]
    assert "catching up Минобороны России (@mod_russia): 100 messages read, up to id 103" in caplog.text

    third = monitor_for(restarted(telegram), settings, store, clock, admin_notes)
    await run_until_idle(third)
    assert len(outbox(db)) == 120


async def test_a_flood_wait_in_the_middle_of_catch_up_waits_as_asked_and_loses_nothing(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database, subscribers: None) -> None:
    telegram.history[MOD] = [post(MOD, i, f"Сводка {i}") for i in range(1, 4)]
    first = monitor_for(telegram, settings, store, clock, admin_notes)
    await run_until_idle(first)
    telegram.history[MOD] += [post(MOD, i, f"Сводка {i}") for i in range(4, 154)]
    client = restarted(telegram)
    client.flood_at = {2: 37}  # the MoD's second page of history
    second = monitor_for(client, settings, store, clock, admin_notes)
    await run_until_idle(second)
    assert clock.slept == [37]
    assert [s["ext_id"] for s in statements(db)] == [str(i) for i in range(1, 154)]
    assert outbox(db) == [(f"alert:mod_russia/{i}", 100, "alert") for i in range(4, 154)]


async def test_a_reconnect_catches_up_on_posts_missed_while_the_connection_was_down(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database, subscribers: None) -> None:
    telegram.history[MOD] = [post(MOD, 1, "Сводка 1")]
    monitor = monitor_for(telegram, settings, store, clock, admin_notes)
    await monitor.start()
    await monitor.idle()
    telegram.history[MOD] += [post(MOD, 2, "Сводка 2"), post(MOD, 3, "Сводка 3")]  # no updates came
    await telegram._handle_auto_reconnect()  # what Telethon's sender calls after reconnecting
    await monitor.idle()
    await monitor.stop()
    assert outbox(db) == [("alert:mod_russia/2", 100, "alert"), ("alert:mod_russia/3", 100, "alert")]


# --- faults --------------------------------------------------------------------------------


async def test_a_broken_channel_is_reported_to_the_admins_once_and_the_others_go_on(
        telegram: FakeTelegram, store: StoreThread, clock: Clock, db: Database) -> None:
    settings = parse_settings({**CONFIG, "channel": [*CONFIG["channel"], {"username": "closed_ministry"}]})
    telegram.unreadable[MID] = errors.ChannelPrivateError
    telegram.history[MOD] = [post(MOD, 1, "Сводка 1")]
    notify = outbox_notifier(store, settings, clock.now)
    for _ in range(2):
        monitor = TelethonMonitor(telegram, settings, store, channels=settings.channels, notify_admins=notify,
                                  sleep=clock.sleep, clock=clock.now)
        await run_until_idle(monitor)
    assert [s["ext_id"] for s in statements(db)] == ["1"]
    notices = [r["text"] for r in db.query("SELECT text FROM outbox WHERE kind = 'admin' AND chat_id = 42")]
    assert len(notices) == 2
    assert "МИД России (@mid_russia) cannot be read: it is private now" in notices[0]
    assert "closed_ministry (@closed_ministry) cannot be read: Telegram does not know it" in notices[1]
    errors_by_channel = dict(db.execute("SELECT key, last_error FROM channels").fetchall())
    assert errors_by_channel["mod_russia"] is None
    assert "private" in errors_by_channel["mid_russia"]


async def test_a_lost_connection_is_retried_with_growing_waits_and_caught_up_after(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database, subscribers: None) -> None:
    class Unreachable(FakeTelegram):
        failures = 3

        async def connect(self) -> None:
            if self.failures:
                self.failures -= 1
                raise ConnectionError("network is unreachable")
            await super().connect()

    client = Unreachable()
    client.channels, client.history = telegram.channels, telegram.history
    telegram.history[MOD] = [post(MOD, 1, "Сводка 1")]
    monitor = monitor_for(client, settings, store, clock, admin_notes)
    watching = asyncio.create_task(keep_watching(client, monitor, "TELEGRAM_SESSION", monitor.notify_admins,
                                                 clock.sleep))

    async def until(condition: Callable[[], bool]) -> None:
        for _ in range(200):
            await asyncio.sleep(0.01)
            await monitor.idle()
            if condition():
                return

    await until(lambda: bool(statements(db)))
    assert clock.slept == [1.0, 2.0, 4.0]
    telegram.history[MOD].append(post(MOD, 2, "Сводка 2"))  # published while the connection is lost
    client.drop()
    await until(lambda: len(statements(db)) == 2)
    watching.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watching
    await monitor.stop()
    assert clock.slept == [1.0, 2.0, 4.0, 8.0]
    assert outbox(db) == [("alert:mod_russia/2", 100, "alert")]
    assert admin_notes == []


async def test_a_channel_that_could_not_be_read_catches_up_before_its_next_post(
        telegram: FakeTelegram, settings: Settings, store: StoreThread, clock: Clock, admin_notes: list[str],
        db: Database, subscribers: None) -> None:
    telegram.history[MOD] = [post(MOD, i, f"Сводка {i}") for i in range(1, 4)]
    first = monitor_for(telegram, settings, store, clock, admin_notes)
    await run_until_idle(first)
    telegram.history[MOD] += [post(MOD, 4, "Сводка 4"), post(MOD, 5, "Сводка 5")]
    client = restarted(telegram)
    client.unreadable[MOD] = errors.RpcCallFailError  # Telegram fails this channel's history for a while
    monitor = monitor_for(client, settings, store, clock, admin_notes)
    await monitor.start()
    await monitor.idle()
    assert admin_notes == ["Channel Минобороны России (@mod_russia) cannot be read: RpcCallFailError: Telegram is "
                           "having internal issues, please try again later. (caused by GetHistoryRequest). It is "
                           "skipped for now (tried again after a reconnect and before its next post); the other "
                           "channels are watched."]
    del client.unreadable[MOD]
    await client.new_post(post(MOD, 6, "Сводка 6"))
    await monitor.idle()
    await monitor.stop()
    assert outbox(db) == [(f"alert:mod_russia/{i}", 100, "alert") for i in (4, 5, 6)]


async def test_the_offline_guard_stops_a_real_client_from_reaching_telegram() -> None:
    client = TelegramClient(StringSession(), 1, "x", connection_retries=0)
    with pytest.raises(NetworkUsed):
        await client.connect()


# --- conversion ----------------------------------------------------------------------------


def test_text_links_keep_their_address_even_after_emoji() -> None:
    text = "⚡️ Заявление 🇷🇺 МИД: полный текст"
    offset = len(text.encode("utf-16-le")) // 2 - len("полный текст")
    link = types.MessageEntityTextUrl(offset=offset, length=len("полный текст"), url="https://mid.ru/1")
    assert post_text(post(MID, 1, text, entities=[link])) == "⚡️ Заявление 🇷🇺 МИД: полный текст (https://mid.ru/1)"


def test_a_statement_has_its_utc_date_link_media_and_caption() -> None:
    video = types.MessageMediaDocument(video=True, document=types.Document(
        id=1, access_hash=1, file_reference=b"", date=T0, mime_type="video/mp4", size=1, dc_id=2, attributes=[]))
    statement = to_statement(post(MOD, 31, "Кадры применения", media=video, views=1200), channel="mod_russia")
    assert statement is not None
    assert (statement.media, statement.views, statement.text) == ("video", 1200, "Кадры применения")
    assert statement.date == datetime(2026, 11, 28, 9, 31, tzinfo=UTC)
    assert to_statement(post(MOD, 3), channel="id:1001").url == "https://t.me/c/1001/3"  # type: ignore[union-attr]
    assert to_statement(service(MOD, 4), channel="mod_russia") is None
    assert media_kind(post(MOD, 5, "x", media=types.MessageMediaWebPage(types.WebPageEmpty(id=1)))) is None


def test_forwards_without_a_known_origin_still_say_where_they_come_from() -> None:
    hidden = types.MessageFwdHeader(date=T0, from_name="Иван Петров")
    unknown = types.MessageFwdHeader(date=T0, from_id=types.PeerChannel(555))
    assert forwarded_from(post(MOD, 1, "x", fwd_from=hidden)) == "Иван Петров"
    assert forwarded_from(post(MOD, 2, "x", fwd_from=unknown)) == "channel 555"
    assert forwarded_from(post(MOD, 3, "x")) is None


def test_an_album_is_stored_caption_first_so_its_alert_has_the_caption() -> None:
    parts = [post(MOD, 5, "", grouped_id=1, media=photo()), post(MOD, 6, "Подпись", grouped_id=1, media=photo())]
    assert [s.ext_id for s in album_statements(parts, channel="mod_russia")] == ["6", "5"]
