"""Watching channels without credentials: polling their preview pages into statements and alerts.

The saved pages under tests/fixtures/preview are served by a loopback HTTP server that
stands in for t.me (`[monitor] preview_base_url`); the store is a real SQLite file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import httpx
import pytest
from communique.monitors.main import plan_sources, start_channel_side
from communique.monitors.preview_monitor import PreviewMonitor
from communique.monitors.telethon_convert import to_statement
from conftest import NOW
from faketelegram import FakeTelegram, offline  # noqa: F401 (fixture)
from loopback import serving
from sqlite_utils import Database
from telethon import functions
from telethon.crypto import AuthKey
from telethon.sessions import StringSession
from telethon.tl import types
from test_preview import PreviewSite

from communique.pipeline import ingest_statement
from communique.settings import Secrets, Settings, parse_settings
from communique.store import StoreThread
from communique.store.outbox import claim, mark_sent, pending_for
from communique.store.statements import advance_channel
from communique.store.subscribers import ensure_subscriber, subscribe
from communique.store.timefmt import to_db

pytestmark = pytest.mark.usefixtures("offline")
LATEST, OLDER = "/s/mfa_bulletin", "/s/mfa_bulletin?before=120"  # configured usernames are lower-cased


@pytest.fixture(scope="module")
def running_site() -> Iterator[PreviewSite]:
    with serving(PreviewSite()) as server:
        yield server


@pytest.fixture
def site(running_site: PreviewSite) -> PreviewSite:
    """The loopback t.me serving the MFA Bulletin's two pages, with an empty request log."""
    running_site.routes.clear()
    running_site.requests.clear()
    running_site.page(LATEST, "page_latest.html")
    running_site.page(OLDER, "page_older.html")
    return running_site


def settings_for(site: PreviewSite, *channels: dict[str, str], backfill: int = 3,
                 catchup_alert_hours: float = 96) -> Settings:
    monitor = {"backfill": backfill, "preview_base_url": site.base_url, "catchup_alert_hours": catchup_alert_hours}
    return parse_settings({"admins": [42], "monitor": monitor,
                           "channel": list(channels) or [{"username": "MFA_Bulletin", "title": "MFA Bulletin",
                                                          "language": "en", "source": "preview"}]})


@pytest.fixture
def follower(db: Database) -> int:
    ensure_subscriber(db, 100, now=NOW)
    subscribe(db, 100, "channel", "mfa_bulletin", now=NOW)
    return 100


class Notes(list[str]):
    async def __call__(self, text: str) -> None:
        self.append(text)


async def poll(settings: Settings, store: StoreThread, notes: Notes | None = None) -> int:
    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        notify = Notes() if notes is None else notes
        monitor = PreviewMonitor(settings, store, channels=settings.channels, notify_admins=notify, http=http,
                                 clock=lambda: NOW)
        return await monitor.poll_once()


def stored(db: Database) -> dict[int, dict]:
    return {r["message_id"]: r for r in db.query("SELECT * FROM statements ORDER BY message_id")}


def alerts(db: Database) -> list[str]:
    return [r["dedupe_key"] for r in db.query("SELECT dedupe_key FROM outbox WHERE kind = 'alert' ORDER BY id")]


async def test_new_posts_on_the_preview_page_become_statements_and_alerts_in_order(
        site: PreviewSite, store: StoreThread, db: Database, follower: int) -> None:
    advance_channel(db, "mfa_bulletin", 117)  # seen before: read on from post 117
    settings = settings_for(site)
    assert await poll(settings, store) == 8
    posts = stored(db)
    assert list(posts) == [118, 119, 120, 122, 123, 124, 127, 128]
    assert "Statement on the Geneva & Vienna talks" in posts[120]["text"]
    assert "read the full text (https://mfa.example.org/statements?id=5&lang=en)." in posts[120]["text"]
    assert (posts[122]["text"], posts[122]["media"]) == ("", "photo")
    assert posts[123]["forwarded_from"] == "Министерство обороны"
    assert {p["source"] for p in posts.values()} == {"preview"}
    assert alerts(db) == [f"alert:mfa_bulletin/{i}" for i in posts]
    assert site.requests == [LATEST, OLDER]

    assert await poll(settings, store) == 0  # the next poll finds nothing new and alerts nothing again
    assert len(alerts(db)) == 8


def _serve_latest_with(site: PreviewSite, old: str, new: str) -> None:
    """The latest page as t.me would show it after a post's text changed from `old` to `new`."""
    site.page(LATEST, "page_latest.html")
    status, headers, body = site.routes[LATEST]
    assert old.encode() in body
    site.routes[LATEST] = (status, headers, body.replace(old.encode(), new.encode()))


async def test_a_post_the_page_marks_edited_becomes_a_new_version_with_its_follow_up(
        site: PreviewSite, store: StoreThread, db: Database, follower: int) -> None:
    advance_channel(db, "mfa_bulletin", 126)
    settings = settings_for(site)
    assert await poll(settings, store) == 2  # posts 127 and 128, alerted
    for row in claim(db, "bot", now=NOW):
        mark_sent(db, row["id"], [1], now=NOW)

    _serve_latest_with(site, "Briefing by the spokesperson, 27 November.",
                       "Briefing by the spokesperson, 27 November, moved to 15:00.")  # 127 is marked "edited"
    assert await poll(settings, store) == 1
    assert await poll(settings, store) == 0  # the same edit, seen again

    [followup] = pending_for(db)
    assert (followup["chat_id"], followup["kind"]) == (follower, "edit") and "moved to 15:00" in followup["text"]
    assert [v["text"].split("\n")[0] for v in db.query(
        "SELECT text FROM statement_versions WHERE statement_id = ? ORDER BY version", [stored(db)[127]["id"]])] == [
        "Briefing by the spokesperson, 27 November.", "Briefing by the spokesperson, 27 November, moved to 15:00."]


async def test_a_post_marked_edited_on_its_first_read_keeps_the_mark_and_an_album_without_text_says_what_it_holds(
        site: PreviewSite, store: StoreThread, db: Database, follower: int) -> None:
    advance_channel(db, "mfa_bulletin", 123)
    site.page(LATEST, "page_latest.html")  # album 124-126 as t.me shows it without a caption
    status, headers, body = site.routes[LATEST]
    site.routes[LATEST] = (status, headers, b"\n".join(
        line for line in body.split(b"\n") if "محادثات جنيف<br/>".encode() not in line))
    await poll(settings_for(site), store)
    posts = stored(db)
    assert (posts[127]["edited_at"], posts[124]["edited_at"]) == (to_db(NOW), None)  # 127 reads "edited"
    assert (posts[124]["text"], posts[124]["media"]) == ("", "album: 3 photos")
    assert [r[0] for r in db.execute("SELECT ext_id FROM statement_parts WHERE statement_id = ? ORDER BY ext_id",
                                      [posts[124]["id"]])] == ["124", "125", "126"]
    [alert] = [r["text"] for r in db.query("SELECT text FROM outbox WHERE dedupe_key = 'alert:mfa_bulletin/124'")]
    assert "[album: 3 photos]" in alert and 'href="https://t.me/mfa_bulletin/124"' in alert
    # Telethon reading the album's second message later finds it stored.
    member = types.Message(id=125, peer_id=types.PeerChannel(1), date=NOW, message="", grouped_id=9,
                           media=types.MessageMediaPhoto())
    statement = to_statement(member, channel="mfa_bulletin")
    assert statement is not None
    assert ingest_statement(db, statement, settings=settings_for(site), now=NOW).outcome == "unchanged"


async def test_a_changed_text_the_page_does_not_mark_edited_is_left_alone(
        site: PreviewSite, store: StoreThread, db: Database, follower: int) -> None:
    advance_channel(db, "mfa_bulletin", 126)
    settings = settings_for(site)
    await poll(settings, store)

    _serve_latest_with(site, "Full text of the joint communiqué (PDF).", "Full text of the communiqué (PDF).")
    assert await poll(settings, store) == 0  # 128 carries no "edited" mark: rendering noise, not an edit
    assert stored(db)[128]["version"] == 1


async def test_a_first_poll_keeps_the_latest_posts_without_alerting(
        site: PreviewSite, store: StoreThread, db: Database, follower: int) -> None:
    assert await poll(settings_for(site, backfill=3), store) == 0
    assert list(stored(db)) == [124, 127, 128]
    assert alerts(db) == []
    assert db.execute("SELECT last_message_id FROM channels WHERE key = 'mfa_bulletin'").fetchone()[0] == 128


async def test_unexpected_markup_is_logged_as_a_warning_and_the_readable_posts_are_kept(
        site: PreviewSite, store: StoreThread, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    site.page(LATEST, "changed_markup.html")
    advance_channel(db, "mfa_bulletin", 150)
    notes = Notes()
    await poll(settings_for(site), store, notes)
    assert list(stored(db)) == [200, 202]
    assert "preview of @mfa_bulletin: message block #2 has no data-post attribute" in caplog.text
    assert notes == []


async def test_an_unreadable_channel_is_reported_and_the_others_are_still_polled(
        site: PreviewSite, store: StoreThread, db: Database) -> None:
    site.status("/s/closed_ministry", 302, {"Location": "/closed_ministry"})
    site.page("/s/empty_card", "channel_card.html")
    advance_channel(db, "mfa_bulletin", 127)
    notes = Notes()
    settings = settings_for(site, {"username": "closed_ministry", "source": "preview"},
                            {"username": "empty_card", "source": "preview"},
                            {"username": "MFA_Bulletin", "source": "preview"})
    await poll(settings, store, notes)
    assert list(stored(db)) == [128]
    assert len(notes) == 2
    assert notes[0].startswith("Channel closed_ministry (@closed_ministry) cannot be read from its preview page: ")
    assert "redirects to /closed_ministry, not to a preview page" in notes[0]
    assert "no posts found" in notes[1]
    assert "redirects" in db.execute("SELECT last_error FROM channels WHERE key = 'closed_ministry'").fetchone()[0]


async def test_a_news_outlets_preview_posts_become_news_items(
        site: PreviewSite, store: StoreThread, db: Database) -> None:
    advance_channel(db, "mfa_bulletin", 123)
    await poll(settings_for(site, {"username": "MFA_Bulletin", "title": "Bulletin", "role": "news"}), store)
    assert stored(db) == {}
    items = list(db.query("SELECT source, guid, url FROM news ORDER BY guid"))
    assert items[0] == {"source": "Bulletin", "guid": "124", "url": "https://t.me/mfa_bulletin/124"}
    assert [i["guid"] for i in items] == ["124", "127", "128"]


def test_without_api_credentials_every_channel_is_read_from_its_preview_page() -> None:
    settings = parse_settings({"channel": [{"username": "mod_russia"}, {"username": "mid_russia",
                                                                        "source": "preview"}]})
    assert plan_sources(settings, Secrets()) == ((), settings.channels)
    telethon, preview = plan_sources(settings, Secrets(api_id=1, api_hash="x"))
    assert ([c.key for c in telethon], [c.key for c in preview]) == (["mod_russia"], ["mid_russia"])


async def test_the_channel_side_runs_on_preview_pages_alone_and_stops_cleanly(
        site: PreviewSite, store: StoreThread, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="communique.monitors")
    waits: list[float] = []
    forever = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await forever.wait()

    settings = settings_for(site, {"username": "MFA_Bulletin", "title": "MFA Bulletin"})  # source auto
    side = await start_channel_side(settings, Secrets(), store, sleep=sleep)
    for _ in range(200):
        if waits:
            break
        await asyncio.sleep(0.01)
    await side.stop()
    assert waits == [settings.preview_interval]
    assert list(stored(db)) == [124, 127, 128]
    assert "watching 0 channel(s) with Telethon and 1 from preview pages" in caplog.text


class _Ministry(FakeTelegram):
    """An offline Telegram that knows the MFA Bulletin's channel."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.add_channel(7001, "MFA_Bulletin", "MFA Bulletin")


async def test_when_the_telethon_session_is_revoked_its_channels_are_read_from_preview_pages(
        site: PreviewSite, store: StoreThread, db: Database) -> None:
    settings = settings_for(site, {"username": "MFA_Bulletin", "title": "MFA Bulletin", "source": "telethon"})
    session = StringSession()
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(bytes(256))
    notes = Notes()
    polled, forever = asyncio.Event(), asyncio.Event()

    async def sleep(seconds: float) -> None:
        if seconds == settings.preview_interval:  # a preview poll is done: wait for the next (forever)
            polled.set()
            await forever.wait()

    side = await start_channel_side(settings, Secrets(api_id=1, api_hash="x", session=StringSession.save(session)),
                                    store, notify_admins=notes, client_class=_Ministry, sleep=sleep)
    try:
        assert isinstance(side.client, _Ministry) and side.telethon is not None
        for _ in range(500):  # Telethon is watching: it has read the channel's history once
            if any(isinstance(r, functions.messages.GetHistoryRequest) for r in side.client.requests):
                break
            await asyncio.sleep(0.01)
        await side.telethon.idle()
        side.client.logged_in = False  # the session is revoked (say, from another device) and the link drops
        side.client.drop()
        await asyncio.wait_for(polled.wait(), 10)
    finally:
        await side.stop()

    assert notes[0].startswith("Telethon channel monitoring stopped: the Telegram session in TELEGRAM_SESSION is not")
    assert notes[1].startswith("Until the session is fixed and the service restarted, 1 channel(s) are read from "
                               "their public t.me/s/ preview pages")
    assert notes[1].endswith("MFA Bulletin (@mfa_bulletin)")
    assert list(stored(db)) == [124, 127, 128] and {p["source"] for p in stored(db).values()} == {"preview"}


async def test_posts_older_than_the_catch_up_window_are_stored_but_not_alerted(
        site: PreviewSite, store: StoreThread, db: Database, follower: int) -> None:
    advance_channel(db, "mfa_bulletin", 117)  # last read long ago: the pages hold posts 31 hours old and more
    assert await poll(settings_for(site, catchup_alert_hours=24), store) == 0
    assert len(stored(db)) == 8 and alerts(db) == []
