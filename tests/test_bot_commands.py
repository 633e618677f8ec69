"""Every command answers: wrong or missing arguments get usage and an example, groups work, admins are checked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot_harness import ADMIN, running_bot
from communique.bot.handlers.common import ONLY_GROUP_ADMINS
from communique.monitors.importing import import_file
from conftest import NOW, SAMPLES
from fakebotapi import FakeBotAPI

from communique.models import Statement
from communique.pipeline import ingest_statement
from communique.settings import Settings
from communique.store.subscribers import get_subscriber, subscriptions_of

READER, GROUP, MEMBER = 4242, -1001234567890, 5151
POSTS = [
    ("7001", "Состоялся обмен военнопленными: из плена возвращены 95 российских военнослужащих."),
    ("7002", "Средствами ПВО над Белгородской областью сбиты 4 беспилотника."),
]


async def test_missing_or_wrong_arguments_get_usage_and_an_example(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        cases = {
            "/subscribe": ("Follow what?", "Example: /subscribe Белгород"),
            "/subscribe @ab": ("@ab is not a channel username", "Usage: /subscribe <topic | keyword | @channel>"),
            "/unsubscribe": ("Stop following what?", "Example: /unsubscribe @mod_russia"),
            "/digest": ("At what time?", "Example: /digest 07:30"),
            "/digest 25:00": ("“25:00” is not a time such as 07:30.", "Usage: /digest <HH:MM | off>"),
            "/timezone": ("Which time zone?", "Example: /timezone Europe/Berlin"),
            "/timezone Europe/Moskow": ("Did you mean Europe/Moscow", "Usage: /timezone <Area/City>"),
            "/updates sometimes": ("edits: on", "Example: /updates coverage on"),
            "/search": ("Search for what?", "Usage: /search <words>"),
            "/latest not a channel": ("is not a channel username", "Example: /latest @mod_russia"),
        }
        for command, expected in cases.items():
            [answer] = await bot.say(READER, command)
            for part in expected:
                assert part in answer, (command, answer)
        assert [s for s in await bot.store.run(subscriptions_of, READER)] == []


async def test_unknown_commands_get_a_hint_but_other_bots_commands_are_left_alone(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    group = {"chat_type": "supergroup", "user_id": MEMBER}
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        assert await bot.say(READER, "/subscibe Курск") == [
            "I don't know /subscibe. Did you mean /subscribe? /help lists the commands."]
        assert await bot.say(READER, "/weather") == ["I don't know /weather. /help lists the commands."]
        assert await bot.say(GROUP, f"/frobnicate@{fake_bot_api.username}", **group) == [
            "I don't know /frobnicate. /help lists the commands."]
        await bot.silence(GROUP, "/frobnicate", **group)
        await bot.silence(GROUP, "/subscribe@other_bot Курск", **group)
        fake_bot_api.set_member(GROUP, MEMBER, "administrator")
        [answer] = await bot.say(GROUP, f"/subscribe@{fake_bot_api.username} Курск, @mod_russia", **group)
        assert answer == ("✅ Following the keyword “курск”. Inflected forms and spelling variants count too.\n"
                          "✅ Following the @mod_russia (Минобороны России).")
        subscriber = await bot.store.run(get_subscriber, GROUP)
    assert (subscriber["chat_type"], subscriber["title"]) == ("supergroup", f"Group {GROUP}")


async def test_in_a_group_only_its_administrators_change_what_it_follows(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    group = {"chat_type": "supergroup", "user_id": MEMBER}
    name = fake_bot_api.username
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        for command in (f"/subscribe@{name} Курск", f"/digest@{name} 07:30", f"/stop@{name}", f"/pause@{name}"):
            assert await bot.say(GROUP, command, **group) == [ONLY_GROUP_ADMINS]
        assert (await bot.say(GROUP, f"/list@{name}", **group))[0]  # reading is open to every member
        await bot.say(GROUP, f"/topics@{name}", **group)  # anyone may look at the topics...
        menu = fake_bot_api.sent_messages(GROUP)[-1]
        fake_bot_api.push_callback_query(GROUP, MEMBER, menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
                                         menu["message_id"])
        await fake_bot_api.wait_for(lambda: bool(fake_bot_api.calls_to("answerCallbackQuery")))
        [refusal] = fake_bot_api.calls_to("answerCallbackQuery")  # ...but not tick one
        assert (refusal.params["text"], refusal.params["show_alert"]) == (ONLY_GROUP_ADMINS, True)
        fake_bot_api.set_member(GROUP, MEMBER, "creator")
        assert (await bot.say(GROUP, f"/subscribe@{name} Курск", **group))[0].startswith("✅")
        subscriptions = await bot.store.run(subscriptions_of, GROUP)
    assert [(s.kind, s.value) for s in subscriptions] == [("keyword", "курск")]


async def test_admin_commands_are_refused_politely_to_everyone_else(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        for command in ("/stats", "/channels", "/feeds"):
            assert await bot.say(READER, command) == [
                f"Sorry, {command} is only for this bot's administrators."]
        [help_text] = await bot.say(READER, "/help")
        assert "/stats" not in help_text and "/subscribe <topic | keyword | @channel>" in help_text
        await bot.say(READER, "/subscribe syria")
        [stats] = await bot.say(ADMIN, "/stats")
        [channels] = await bot.say(ADMIN, "/channels")
        [feeds] = await bot.say(ADMIN, "/feeds")
    assert "Subscribers: active 1" in stats and "Subscriptions: topic 1" in stats
    assert "Минобороны России @mod_russia · official · source auto" in channels
    assert "Al Jazeera (en) every 600 s" in feeds


async def test_following_listing_pausing_and_stopping(fake_bot_api: FakeBotAPI, db_path: Path,
                                                      settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        [answer] = await bot.say(READER, "/subscribe prisoner-exchange, @MID_Russia, the")
        assert answer.split("\n") == [
            "✅ Following the topic Prisoner exchanges (prisoner-exchange).",
            "✅ Following the @mid_russia (МИД России).",
            "⚠️ “the” is too common to follow; add a more specific word"]
        assert await bot.say(READER, "/subscribe @mid_russia") == [
            "This chat already follows the @mid_russia (МИД России)."]
        assert await bot.say(READER, "/unsubscribe @mid_russia, @tass_agency") == [
            "✅ No longer following the @mid_russia (МИД России).\n"
            "This chat does not follow the @tass_agency (ТАСС); /list shows what it follows."]
        assert (await bot.say(READER, "/updates coverage on"))[0].startswith("✅ Follow-ups when an outlet first")
        [listing] = await bot.say(READER, "/list")
        assert "This chat follows\n• topic Prisoner exchanges (prisoner-exchange)\n\nAlerts: on" in listing
        assert "Daily digest: at 08:00 (Europe/Moscow)" in listing
        assert "new coverage on" in listing

        await bot.say(READER, "/pause")
        paused = await bot.store.run(ingest_statement, Statement("mod_russia", POSTS[0][0], POSTS[0][1], date=NOW),
                                     settings=bot.settings, now=NOW)
        assert paused.alerts == 0
        await bot.say(READER, "/resume")
        resumed = await bot.store.run(ingest_statement, Statement("mod_russia", "7003", POSTS[0][1] + " Ещё 5.",
                                                                  date=NOW), settings=bot.settings, now=NOW)
        assert resumed.alerts == 1
        await fake_bot_api.wait_for(lambda: any(t.startswith("🔔") for t in fake_bot_api.texts(READER)))

        [bye] = await bot.say(READER, "/stop")
        assert bye.startswith("Done: this chat's subscriptions, settings and queued messages are deleted")
        assert await bot.store.run(get_subscriber, READER) is None
        assert await bot.store.run(subscriptions_of, READER) == []


async def test_long_answers_come_in_several_messages_under_the_limit(fake_bot_api: FakeBotAPI, db_path: Path,
                                                                     settings: Settings) -> None:
    keywords = [f"переговоры о прекращении огня номер {i} в районе приграничья" for i in range(100)]
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        followed = [text for i in range(0, 100, 25) for text in await bot.say(READER, "/subscribe " +
                                                                               ", ".join(keywords[i:i + 25]))]
        assert sum(text.count("✅ Following the keyword") for text in followed) == 100
        [full] = await bot.say(READER, "/subscribe Курск")
        assert full == "⚠️ This chat follows the maximum number of things; /unsubscribe some first."
        listing = await bot.say(READER, "/list", replies=2)
    assert all(len(text) <= 4096 for text in followed + listing)
    assert sum(text.count("• keyword") for text in listing) == 100 and listing[1].endswith("(/updates)")


async def test_the_archive_answers_latest_search_and_free_text(fake_bot_api: FakeBotAPI, db_path: Path,
                                                                settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        assert await bot.say(READER, "/latest") == ["No statements in the archive yet."]
        for ext_id, text in POSTS:
            st = Statement("mod_russia", ext_id, text, date=NOW - timedelta(hours=int(ext_id) - 7000),
                           message_id=int(ext_id))
            await bot.store.run(ingest_statement, st, settings=bot.settings, now=NOW, alert=False)
        [latest] = await bot.say(READER, "/latest @mod_russia")
        assert latest.startswith("🕑 Latest from Минобороны России")
        assert latest.index("обмен военнопленными") < latest.index("Белгородской")
        [found] = await bot.say(READER, "/search белгородская область")
        assert found.startswith("🔎 Best matches for “белгородская область”")
        assert "сбиты 4 беспилотника" in found and "военнопленными" not in found
        [free] = await bot.say(READER, "военнопленных")  # another case form, no command: a search
        assert "обмен военнопленными" in free and "not reported yet" in free
        links = [e["url"] for e in fake_bot_api.sent_messages(READER)[-1]["entities"] if e["type"] == "text_link"]
        assert links == ["https://t.me/mod_russia/7001"]
        assert await bot.say(READER, "квазар") == ["Nothing in the archive matches “квазар”."]


async def test_search_finds_the_inflected_forms_that_a_subscription_meets(fake_bot_api: FakeBotAPI, db_path: Path,
                                                                          settings: Settings) -> None:
    """The demo channel says "Белгородской" in 3 posts and speaks of drones in 5 forms of "беспилотник"."""
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        await bot.store.run(import_file, SAMPLES / "mod_russia_export" / "result.json", bot.settings, now=NOW)
        [belgorod] = await bot.say(READER, "/search Белгород")
        [drones] = await bot.say(READER, "/search беспилотник")
        [free] = await bot.say(READER, "беспилотники Белгород")  # free text, every word must meet
    assert belgorod.count("Source post") == 3 and belgorod.count("Белгородской") == 3
    assert drones.count("Source post") == 5
    assert free.count("Source post") == 3


async def test_a_button_of_a_removed_topic_is_answered(fake_bot_api: FakeBotAPI, db_path: Path,
                                                       settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings):
        fake_bot_api.push_callback_query(READER, READER, "topic:000000000000", 1)
        await fake_bot_api.wait_for(lambda: bool(fake_bot_api.calls_to("answerCallbackQuery")))
    [answer] = fake_bot_api.calls_to("answerCallbackQuery")
    assert answer.params["text"].startswith("This topic is no longer offered")


def member_update(fake: FakeBotAPI, chat: dict[str, object], old: str, new: str) -> None:
    """Telegram's my_chat_member update: the bot's own status in `chat` changed from `old` to `new`."""
    bot_user = {"id": fake.bot_id, "is_bot": True, "first_name": "Communique", "username": fake.username}
    status = {"kicked": {"until_date": 0}, "administrator": {
        "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True, "can_delete_messages": False,
        "can_manage_video_chats": False, "can_restrict_members": False, "can_promote_members": False,
        "can_change_info": False, "can_invite_users": False, "can_post_stories": False,
        "can_edit_stories": False, "can_delete_stories": False}}
    fake.push_update("my_chat_member", {
        "chat": chat, "from": {"id": MEMBER, "is_bot": False, "first_name": "Member"}, "date": 1_790_000_000,
        "old_chat_member": {"user": bot_user, "status": old, **status.get(old, {})},
        "new_chat_member": {"user": bot_user, "status": new, **status.get(new, {})}})


async def test_blocking_removing_and_adding_the_bot_are_followed(fake_bot_api: FakeBotAPI, db_path: Path,
                                                                 settings: Settings) -> None:
    private = {"id": READER, "type": "private", "first_name": "Reader"}
    group = {"id": GROUP, "type": "supergroup", "title": "Newsroom"}

    async def active(chat_id: int) -> object:
        subscriber = await bot.store.run(get_subscriber, chat_id)
        return subscriber and subscriber["active"]

    async with running_bot(fake_bot_api, db_path, settings) as bot:
        await bot.say(READER, "/subscribe Курск")
        member_update(fake_bot_api, private, "member", "kicked")  # the user blocked the bot
        member_update(fake_bot_api, group, "left", "administrator")  # added to a group
        await bot.say(ADMIN, "/stats")  # updates are handled in order: the two above are done
        assert await active(READER) == 0
        assert await active(GROUP) == 1
        assert (await bot.store.run(get_subscriber, GROUP))["title"] == "Newsroom"
        member_update(fake_bot_api, group, "administrator", "left")  # removed from it
        member_update(fake_bot_api, private, "kicked", "member")  # unblocked
        await bot.say(ADMIN, "/stats")
        assert await active(GROUP) == 0
        assert await active(READER) == 1


async def test_whoami_tells_a_user_their_id_for_the_admins_list_and_a_group_its_chat_id(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        assert await bot.say(READER, "/whoami") == [
            "Your Telegram user id: 4242\nTo administer this bot, add 4242 to admins in communique.toml and "
            "restart it."]
        [answer] = await bot.say(GROUP, "/whoami", chat_type="supergroup", user_id=ADMIN)
        assert answer == (f"Your Telegram user id: {ADMIN}\nThis chat's id: {GROUP}\n"
                          "You are one of this bot's administrators.")
        assert "/whoami" in (await bot.say(READER, "/help"))[0]
