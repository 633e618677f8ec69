"""The running channel monitors follow the catalogue: a channel an admin adds in chat is watched, one removed is
let go, without a restart, whether the bot runs in the same process or another (the store is the contract)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bot_harness import ADMIN, running_bot
from communique.monitors.main import start_channel_side
from fakebotapi import FakeBotAPI
from faketelegram import FakeTelegram, offline, post  # noqa: F401 (fixture)
from loopback import serving
from telethon.crypto import AuthKey
from telethon.sessions import StringSession
from test_bot_catalogue import ask, press
from test_preview import PreviewSite

from communique.settings import Secrets, TopicConfig, parse_settings
from communique.store import StoreThread, open_db
from communique.store.catalogue import add, remove
from communique.store.outbox import pending_for
from communique.store.subscribers import ensure_subscriber, subscribe

pytestmark = pytest.mark.usefixtures("offline")
MFA, OTHER = 7001, 7002
READER = 4242


@pytest.fixture
def site() -> Iterator[PreviewSite]:
    with serving(PreviewSite()) as server:
        server.page("/s/mfa_bulletin", "page_latest.html")
        yield server


def statements(db_path: Path, channel: str) -> list[tuple[int, str]]:
    db = open_db(db_path)
    try:
        return db.execute("SELECT message_id, source FROM statements WHERE channel = ? ORDER BY message_id",
                          (channel,)).fetchall()
    finally:
        db.conn.close()


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting")


async def test_a_channel_added_in_chat_is_read_from_its_preview_page_and_one_removed_is_let_go(
        site: PreviewSite, db_path: Path, fake_bot_api: FakeBotAPI) -> None:
    settings = parse_settings({"admins": [ADMIN], "monitor": {"backfill": 3, "preview_base_url": site.base_url}})
    store = StoreThread(db_path)  # the monitors' own, as `communique monitor` beside `communique bot`
    side = await start_channel_side(settings, Secrets(), store, follow_every=0.05)
    try:
        assert side.preview is None  # nothing to watch yet
        async with running_bot(fake_bot_api, db_path, settings) as bot:
            _, buttons = await ask(bot, "/addchannel @MFA_Bulletin")
            await press(bot, buttons, "Confirm")
            await until(lambda: statements(db_path, "mfa_bulletin") == [(124, "preview"), (127, "preview"),
                                                                        (128, "preview")])
            _, buttons = await ask(bot, "/removechannel @mfa_bulletin")
            await press(bot, buttons, "Confirm")
            await until(lambda: side.preview is not None and side.preview.channels == ())
    finally:
        await side.stop()
        store.close()


class _Ministries(FakeTelegram):
    """An offline Telegram with two ministries' channels; only the other one is configured."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.add_channel(MFA, "MFA_Bulletin", "MFA Bulletin")
        self.add_channel(OTHER, "Other_Ministry", "Other Ministry")
        self.history[MFA] = [post(MFA, 1, "Заявление министра о переговорах."), post(MFA, 2, "Брифинг.")]


async def test_telethon_watches_a_channel_added_to_the_catalogue_and_ignores_one_removed(db_path: Path) -> None:
    settings = parse_settings({"admins": [ADMIN], "channel": [{"username": "Other_Ministry", "source": "telethon"}]})
    session = StringSession()
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(bytes(256))
    secrets = Secrets(api_id=1, api_hash="x", session=StringSession.save(session))
    store = StoreThread(db_path)
    side = await start_channel_side(settings, secrets, store, client_class=_Ministries, follow_every=0.05)
    db = open_db(db_path)  # the bot's side of the contract: a change written to the store
    try:
        assert side.telethon is not None and isinstance(side.client, _Ministries)
        ensure_subscriber(db, READER, now=side.clock())
        subscribe(db, READER, "topic", "talks", now=side.clock())
        add(db, TopicConfig("talks", "talks", ("переговоры",)), by=ADMIN, now=side.clock())
        add(db, parse_settings({"channel": [{"username": "MFA_Bulletin"}]}).channels[0], by=ADMIN,
            now=side.clock())
        await until(lambda: statements(db_path, "mfa_bulletin") == [(1, "telethon"), (2, "telethon")])
        assert pending_for(db, READER) == []  # a first read stores without alerting
        await side.client.new_post(post(MFA, 3, "Новое заявление о переговорах."))
        await until(lambda: len(statements(db_path, "mfa_bulletin")) == 3)  # live events of the new channel
        [alert] = pending_for(db, READER)  # and the topic added meanwhile routes its alert
        assert "переговорах" in alert["text"]

        remove(db, "channel", "mfa_bulletin", by=ADMIN, now=side.clock())
        await until(lambda: [c.key for c in side.telethon.channels] == ["other_ministry"])  # type: ignore[union-attr]
        await side.client.new_post(post(MFA, 4, "Ещё одно заявление."))
        await side.telethon.idle()
        assert len(statements(db_path, "mfa_bulletin")) == 3  # no longer watched
    finally:
        db.conn.close()
        await side.stop()
        store.close()
