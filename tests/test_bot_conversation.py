"""Talking to the bot: the whole first conversation of a subscriber, through PTB and the fake Bot API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot_harness import running_bot
from communique.bot.context import on_schedule_change
from conftest import NOW
from fakebotapi import FakeBotAPI

from communique.models import Statement
from communique.pipeline import ingest_statement
from communique.settings import Settings
from communique.store.subscribers import get_subscriber, subscriptions_of

READER = 4242
BELGOROD = ("Средствами ПВО перехвачены и уничтожены 12 беспилотников над территорией Белгородской области. "
            "Пострадавших нет.")


def statement(ext_id: str, text: str, channel: str = "mod_russia") -> Statement:
    return Statement(channel=channel, ext_id=ext_id, text=text, date=NOW - timedelta(minutes=5),
                     message_id=int(ext_id), source="telethon")


async def test_first_conversation_ends_with_an_alert_linking_the_source_post(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    rescheduled: list[int] = []

    async def listener(chat_id: int) -> None:
        rescheduled.append(chat_id)

    async with running_bot(fake_bot_api, db_path, settings) as bot:
        on_schedule_change(bot.app, listener)
        [welcome] = await bot.say(READER, "/start")
        assert "First steps" in welcome and "/topics" in welcome
        assert rescheduled == [READER]  # a new chat gets the default digest time

        [prompt] = await bot.say(READER, "/topics")
        assert prompt.startswith("Tap a topic")
        keyboard = fake_bot_api.sent_messages(READER)[-1]["reply_markup"]["inline_keyboard"]
        button = next(b for [b] in keyboard if "Air defence" in b["text"])
        assert button["text"].startswith("➕")
        message_id = fake_bot_api.sent_messages(READER)[-1]["message_id"]
        fake_bot_api.push_callback_query(READER, READER, button["callback_data"], message_id)
        await fake_bot_api.wait_for(lambda: bool(fake_bot_api.calls_to("editMessageReplyMarkup")))
        [answer] = fake_bot_api.calls_to("answerCallbackQuery")
        assert answer.params["text"] == "Following: Air defence and drone attacks"
        ticked = fake_bot_api.sent_messages(READER)[-1]["reply_markup"]["inline_keyboard"]
        assert next(b for [b] in ticked if "Air defence" in b["text"])["text"].startswith("✅")

        [followed] = await bot.say(READER, "/subscribe Белгород")
        assert followed.startswith("✅ Following the keyword “белгород”")
        [digest] = await bot.say(READER, "/digest 07:30")
        assert digest.startswith("✅ Daily digest at 07:30 (Europe/Moscow)")
        [zone] = await bot.say(READER, "/timezone asia/beirut")
        assert zone.startswith("✅ Time zone: Asia/Beirut")
        assert rescheduled == [READER, READER, READER]

        subscriber = await bot.store.run(get_subscriber, READER)
        assert (subscriber["digest_time"], subscriber["timezone"]) == ("07:30", "Asia/Beirut")
        assert {(s.kind, s.value) for s in await bot.store.run(subscriptions_of, READER)} == {
            ("topic", "air-defence"), ("keyword", "белгород")}

        outcome = await bot.store.run(ingest_statement, statement("51234", BELGOROD), settings=bot.settings, now=NOW)
        assert outcome.alerts == 1
        before = len(fake_bot_api.sent_messages(READER))
        alert = (await fake_bot_api.wait_for_messages(READER, before + 1))[-1]
    assert alert["text"].startswith("🔔 Минобороны России · 28 Nov 2026, 22:55 EET")  # the chat's own zone
    assert "Белгородской области" in alert["text"]
    [reasons] = [line for line in alert["text"].split("\n") if line.startswith("You follow: ")]
    assert set(reasons.removeprefix("You follow: ").split(", ")) == {"“белгород”", "air-defence"}
    links = [e["url"] for e in alert["entities"] if e["type"] == "text_link"]
    assert links == ["https://t.me/mod_russia/51234"]
    [call] = [c for c in fake_bot_api.calls_to("sendMessage", READER) if "Минобороны" in c.params["text"]]
    assert call.params["parse_mode"] == "HTML"
    assert call.params["link_preview_options"] == {"is_disabled": True}


async def test_keywords_meet_inflected_and_prefixed_forms_but_not_unrelated_words(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    follows = {101: "Курск", 102: "الجيش", 103: "мир"}
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        for chat_id, keyword in follows.items():
            [answer] = await bot.say(chat_id, f"/subscribe {keyword}")
            assert answer.startswith("✅ Following the keyword")
        posts = [statement("1", "Обстановка в Курской области остаётся напряжённой; мировой рынок зерна спокоен."),
                 statement("2", "وأعلن المتحدث باسم والجيش أن بالجيش وحدات جديدة.", channel="mod_syria")]
        for post in posts:
            await bot.store.run(ingest_statement, post, settings=bot.settings, now=NOW)
        await fake_bot_api.wait_for_messages(101, 2)
        await fake_bot_api.wait_for_messages(102, 2)
        rows = await bot.store.run(lambda db: db.execute("SELECT chat_id, dedupe_key FROM outbox").fetchall())
    assert sorted(rows) == [(101, "alert:mod_russia/1"), (102, "alert:mod_syria/2")]
    assert "Курской" in fake_bot_api.texts(101)[-1]
    assert "بالجيش" in fake_bot_api.texts(102)[-1]
    # "мир" (peace) is a short stem: it must be equal, so "мировой" (world-wide) does not alert chat 103.
    assert len(fake_bot_api.texts(103)) == 1
