"""Admins change the watched channels, feeds and topics from the chat: each change is confirmed with
buttons, listed at once, kept in the store across a restart, and refused to anyone else."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from bot_harness import ADMIN, Harness, running_bot
from communique.monitors.feed_jobs import schedule_feeds
from communique.monitors.feeds import new_client
from conftest import NOW
from fakebotapi import FakeBotAPI
from feedsite import FeedSite, site_fixture  # noqa: F401  (the `site` fixture)
from telegram.ext import Application

from communique.settings import Settings
from communique.store import StoreThread, open_db
from communique.store.catalogue import load, remove

READER, GROUP = 4242, -1001234567890
RSS = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire EN</title>
<item><title>Ceasefire talks resume</title><link>https://wire.example/1</link><guid>w1</guid>
<pubDate>Sat, 28 Nov 2026 20:00:00 GMT</pubDate></item></channel></rss>"""


async def ask(bot: Harness, text: str, *, chat_id: int = ADMIN, **kwargs: object) -> tuple[str, dict]:
    """Send an admin command; returns the bot's answer and its buttons by label ("Confirm", "Cancel")."""
    [answer] = await bot.say(chat_id, text, **kwargs)
    message = bot.fake.sent_messages(chat_id)[-1]
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return answer, {b["text"].split()[-1]: (b["callback_data"], message["message_id"]) for row in rows for b in row}


async def press(bot: Harness, buttons: dict, label: str, *, chat_id: int = ADMIN, user_id: int = ADMIN,
                edits: bool = True) -> str:
    """Press a button and return the text of the message it was under, once the bot has answered (and,
    with `edits`, rewritten that message)."""
    data, message_id = buttons[label]
    answered, edited = (len(bot.fake.calls_to(m)) for m in ("answerCallbackQuery", "editMessageText"))
    bot.fake.push_callback_query(chat_id, user_id, data, message_id)
    await bot.fake.wait_for(lambda: len(bot.fake.calls_to("answerCallbackQuery")) > answered)
    if edits:
        await bot.fake.wait_for(lambda: len(bot.fake.calls_to("editMessageText")) > edited)
    return next(m for m in bot.fake.sent_messages(chat_id) if m["message_id"] == message_id)["text"]


async def test_an_admin_adds_a_channel_and_a_topic_and_they_are_live_and_survive_a_restart(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "communique.bot")
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        question, buttons = await ask(bot, "/addchannel @rusemb_sy official")
        assert question == "Watch @rusemb_sy for official statements?"
        assert set(buttons) == {"Confirm", "Cancel"}
        assert all(len(data.encode()) <= 64 for data, _ in buttons.values())
        [before] = await bot.say(ADMIN, "/channels")
        assert "@rusemb_sy" not in before  # nothing changes before the confirmation
        done = await press(bot, buttons, "Confirm")
        assert done.startswith("✅ Added the channel @rusemb_sy (official).")
        [listed] = await bot.say(ADMIN, "/channels")
        assert "@rusemb_sy · official · source auto · added in chat\n" in listed

        _, buttons = await ask(bot, "/addtopic Ceasefire: перемирие; ceasefire ; هدنة")
        assert (await press(bot, buttons, "Confirm")).startswith("✅ Added the topic ceasefire")
        [followed] = await bot.say(READER, "/subscribe ceasefire")
        assert followed == "✅ Following the topic ceasefire (ceasefire)."
        await bot.say(READER, "/topics")
        keyboard = fake_bot_api.sent_messages(READER)[-1]["reply_markup"]["inline_keyboard"]
        assert any("ceasefire" in b["text"] for [b] in keyboard)

    audit = [r.getMessage() for r in caplog.records if r.getMessage().startswith("audit:")]
    assert audit == [f"audit: admin {ADMIN} added channel @rusemb_sy (official)",
                     f"audit: admin {ADMIN} added topic ceasefire (перемирие; ceasefire; هدنة)"]

    async with running_bot(fake_bot_api, db_path, settings) as bot:  # a new app on the same store
        [listed] = await bot.say(ADMIN, "/channels")
        assert "@rusemb_sy · official" in listed
        [again] = await bot.say(READER, "/subscribe ceasefire")
        assert "already follows the topic" in again


async def test_a_removal_survives_a_restart_though_the_configuration_still_lists_it(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    assert settings.channel("tass_agency") is not None and settings.topic("syria") is not None
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        question, buttons = await ask(bot, "/removechannel @tass_agency")
        assert question.startswith("Stop watching @tass_agency (ТАСС)?")
        assert (await press(bot, buttons, "Confirm")).startswith("✅ Removed the channel @tass_agency (news).")
        await bot.say(READER, "/subscribe syria")
        question, buttons = await ask(bot, "/removetopic syria")
        assert question.endswith("1 chat follows it; it stops getting its alerts.")
        await press(bot, buttons, "Confirm")
        [missing] = await bot.say(READER, "/subscribe syria")
        assert "keyword “syria”" in missing  # no longer a topic: a plain keyword
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        [listed] = await bot.say(ADMIN, "/channels")
        assert "@tass_agency ·" not in listed and "@mod_russia ·" in listed
        assert listed.endswith("Removed in chat, though the configuration lists them (/addchannel brings one back): "
                               "@tass_agency")
        assert "is not among the watched channels" in (await bot.say(ADMIN, "/removechannel @tass_agency"))[0]
        # added again in chat, it is back
        _, buttons = await ask(bot, "/addchannel t.me/tass_agency news")
        await press(bot, buttons, "Confirm")
    db = open_db(db_path)
    assert "tass_agency" in {c.key for c in load(db).channels}
    assert "syria" not in {t.name for t in load(db).topics}
    db.conn.close()


async def test_cancel_changes_nothing_and_a_button_works_once(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        _, buttons = await ask(bot, "/removechannel @mod_russia")
        assert await press(bot, buttons, "Cancel") == "Cancelled: nothing changed (channel @mod_russia (official))."
        await press(bot, buttons, "Confirm", edits=False)  # the request is gone with the cancellation
        assert fake_bot_api.calls_to("answerCallbackQuery")[-1].params["text"] == \
            "This request has expired; send the command again."
        [listed] = await bot.say(ADMIN, "/channels")
        assert "@mod_russia" in listed


async def test_only_admins_may_ask_or_confirm(fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        for command in ("/addchannel @someone_else", "/removefeed Meduza", "/addtopic x: y"):
            name = command.split()[0]
            assert await bot.say(READER, command) == [f"Sorry, {name} is only for this bot's administrators."]
        _, buttons = await ask(bot, "/removetopic baltic")
        await press(bot, buttons, "Confirm", user_id=READER, edits=False)  # a non-admin pressing the admin's button
        assert fake_bot_api.calls_to("answerCallbackQuery")[-1].params["text"] == \
            "Only this bot's administrators can confirm changes."
        [topics] = await bot.say(ADMIN, "/removetopic baltic")
        assert topics.startswith("Remove the topic")  # still there


async def test_bad_names_and_addresses_get_a_specific_message(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, site: FeedSite) -> None:
    page = site.serve("/page.html", b"<!doctype html><html><body>news</body></html>", content_type="text/html")
    missing = site.url("/nothing.xml")
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        cases = {
            "/addchannel @ab": "@ab is not a channel username",
            "/addchannel @mod_russia": "@mod_russia is already watched",
            "/addchannel @rusemb_sy offical": "The role is official or news, not “offical”.",
            "/addfeed ftp://example.org/feed": "“ftp://example.org/feed” is not an http(s) address.",
            f"/addfeed {page}": f"⚠️ Not added: {page} is not a feed: an HTML page (served as text/html), not an RSS "
                                "or Atom feed; is the feed address right?",
            f"/addfeed {missing}": f"⚠️ Not added: could not fetch {missing}: HTTP 404 Not Found",
            "/addfeed https://meduza.io/rss/all": "is already polled",
            "/removefeed https://nowhere.example/rss": "No polled feed has the address or name",
            "/addtopic no colon here": "Give the topic's name, a colon",
            "/addtopic bad name!: x": "A topic's name is 1 to 40 letters",
            "/addtopic empty: ; ;": "needs at least one keyword",
            "/addtopic baltic: x": "The topic baltic exists already",
            "/removetopic nonesuch": "There is no topic nonesuch",
            "/addchannel": "Which channel?",
        }
        for command, expected in cases.items():
            [answer] = await bot.say(ADMIN, command)
            assert expected in answer, (command, answer)
        assert not any("reply_markup" in m for m in fake_bot_api.sent_messages(ADMIN))


async def test_an_admin_adds_a_feed_checked_by_fetching_it_and_removes_it(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, site: FeedSite) -> None:
    url = site.serve("/wire.xml", RSS)
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        question, buttons = await ask(bot, f"/addfeed {url}")
        assert question == f"Poll the feed Wire EN (1 entry now) every 600 s?\n{url}"
        await press(bot, buttons, "Confirm")
        [listed] = await bot.say(ADMIN, "/feeds")
        assert f"Wire EN (any language) every 600 s · added in chat\n  {url}" in listed
        _, buttons = await ask(bot, "/removefeed wire en")
        await press(bot, buttons, "Confirm")
        [listed] = await bot.say(ADMIN, "/feeds")
        assert url not in listed and "Meduza" in listed
    assert len(site.requests_to("/wire.xml")) == 1  # checked once; the bot alone polls nothing


async def test_checking_a_slow_feed_keeps_nobody_waiting(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, site: FeedSite) -> None:
    url = site.serve("/slow.xml", RSS, delay=1.5)
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        fake_bot_api.push_message(ADMIN, f"/addfeed {url}")
        await fake_bot_api.wait_for(lambda: bool(site.requests_to("/slow.xml")))
        [answer] = await bot.say(READER, "/help")  # answered while the feed is still being fetched
        assert answer.startswith("Commands") and fake_bot_api.texts(ADMIN) == []
        [question] = await fake_bot_api.wait_for_messages(ADMIN, 1)
        assert question["text"].startswith("Poll the feed Wire EN")


async def test_a_feed_added_in_chat_is_polled_by_the_running_monitors_and_one_removed_is_not(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, site: FeedSite) -> None:
    url = site.serve("/wire.xml", RSS)
    settings = replace(settings, feeds=())  # no configured feeds: the monitors start with nothing to poll
    monitors = Application.builder().token("1:monitors").build()  # as `communique monitor`: its own store thread
    assert monitors.job_queue is not None
    store = StoreThread(db_path)
    jobs = schedule_feeds(monitors.job_queue, settings, store, follow_every=0.05,
                          client_factory=lambda: new_client(trust_env=False))
    await monitors.job_queue.start()
    try:
        async with running_bot(fake_bot_api, db_path, settings) as bot:
            _, buttons = await ask(bot, f"/addfeed {url}")
            await press(bot, buttons, "Confirm")
            await bot.fake.wait_for(lambda: len(site.requests_to("/wire.xml")) == 2)  # the check, then the poll
            await bot.fake.wait_for(lambda: news_count(db_path) == 1)
            _, buttons = await ask(bot, f"/removefeed {url}")
            await press(bot, buttons, "Confirm")
            await bot.fake.wait_for(lambda: not any(j.name == f"feed:{url}" for j in monitors.job_queue.jobs()))
    finally:
        await monitors.job_queue.stop()
        await jobs.aclose()
        store.close()


def news_count(db_path: Path) -> int:
    db = open_db(db_path)
    try:
        return db.execute("SELECT count(*) FROM news WHERE title = 'Ceasefire talks resume'").fetchone()[0]
    finally:
        db.conn.close()


async def test_the_bot_follows_a_change_another_process_made_to_the_store(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("communique.bot.app.FOLLOW_EVERY", 0.05)
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        db = open_db(db_path)  # say, a `communique monitor` started with a configuration without this topic
        try:
            remove(db, "topic", "baltic", by=ADMIN, now=NOW)
        finally:
            db.conn.close()
        await bot.fake.wait_for(lambda: bot.app.bot_data["settings"].current.topic("baltic") is None)
        [answer] = await bot.say(READER, "/subscribe baltic")
        assert "keyword “baltic”" in answer


async def test_stats_asked_in_a_group_is_answered_privately(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    group = {"chat_type": "supergroup", "user_id": ADMIN}
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        assert await bot.say(GROUP, "/stats", **group) == ["I have sent you the statistics in a private message."]
        [private] = fake_bot_api.texts(ADMIN)
        assert private.startswith("Communique statistics")
        fake_bot_api.block(ADMIN)
        [refused] = await bot.say(GROUP, "/stats", **group)
        assert refused.startswith("I cannot write to you privately")
