"""The fake Bot API server answers PTB's real HTTP stack as Telegram would."""

from __future__ import annotations

import asyncio
import datetime as dtm
import struct
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fakebotapi import DEFAULT_TOKEN, FakeBotAPI, RateLimits
from fakebotapi_rules import ApiError
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, EndPointNotFound, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

GROUP = -1001234567890
USER = 4242


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(DEFAULT_TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


async def test_get_me_describes_the_bot_and_a_wrong_token_is_unauthorized(fake: FakeBotAPI, bot: Bot) -> None:
    assert bot.username == "communique_test_bot"
    assert bot.id == 123456789
    with pytest.raises(InvalidToken):
        async with Bot("987:wrong", base_url=fake.base_url):
            pass
    assert [c.status for c in fake.calls_to("getMe")] == [200, 401]


async def test_send_message_is_recorded_with_typed_parameters(fake: FakeBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Defence ✓", callback_data="topic:defence")]])
    sent = await bot.send_message(USER, "<b>Alert</b> &amp; <a href='https://t.me/mod/1'>source</a>",
                                  parse_mode=ParseMode.HTML, reply_markup=markup, disable_notification=True,
                                  link_preview_options=LinkPreviewOptions(is_disabled=True))
    assert sent.text == "Alert & source"
    assert sent.parse_entities() == {sent.entities[0]: "Alert", sent.entities[1]: "source"}
    assert sent.entities[1].url == "https://t.me/mod/1"
    assert sent.reply_markup == markup
    [call] = fake.calls_to("sendMessage")
    assert call.chat_id == USER
    assert call.params["disable_notification"] is True
    assert call.params["link_preview_options"] == {"is_disabled": True}
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "topic:defence"
    assert fake.texts(USER) == ["Alert & source"]


async def test_html_is_validated_as_telegram_does(bot: Bot) -> None:
    fine = "<i>a</i><em>b</em><u>c</u><s>d</s><code>e</code><pre>f</pre><tg-spoiler>g</tg-spoiler>" \
           '<span class="tg-spoiler">h</span><blockquote expandable>i</blockquote>' \
           '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> 1 &lt; 2 &#8212; &#x41;'
    sent = await bot.send_message(USER, fine, parse_mode=ParseMode.HTML)
    assert sent.text == "abcdefghi👍 1 < 2 — A"
    assert [e.type for e in sent.entities][-2:] == ["expandable_blockquote", "custom_emoji"]
    bad = {"line<br>break": 'unsupported start tag "br" at byte offset 4',
           "a < b": 'unsupported start tag "" at byte offset 2',
           "<b>bold</i>": 'unmatched end tag at byte offset 7, expected "</b>", found "</i>"',
           "<b>bold": "can't find end tag corresponding to start tag \"b\"",
           "</b>": "unexpected end tag at byte offset 0",
           "<b": "unclosed start tag at byte offset 0",
           "<span>x</span>": 'tag "span" must have class "tg-spoiler"'}
    for text, reason in bad.items():
        with pytest.raises(BadRequest) as error:
            await bot.send_message(USER, text, parse_mode=ParseMode.HTML)
        assert error.value.message.lower().startswith(f"can't parse entities: {reason}"), text


async def test_length_is_counted_after_entity_parsing(bot: Bot) -> None:
    await bot.send_message(USER, "<b>" + "я" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    await bot.send_message(USER, "&amp;" * 4096, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "<i>" + "x" * 4097 + "</i>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode=ParseMode.HTML)


async def test_callback_data_is_limited_to_64_bytes(bot: Bot) -> None:
    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data=data)]])

    await bot.send_message(USER, "fits", reply_markup=keyboard("я" * 32))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "too long", reply_markup=keyboard("я" * 32 + "x"))


async def test_photos_are_uploaded_as_multipart_and_captions_are_limited(fake: FakeBotAPI, bot: Bot) -> None:
    image = png(7, 3)
    sent = await bot.send_photo(GROUP, image, caption="<b>Digest</b>", parse_mode=ParseMode.HTML)
    assert (sent.photo[-1].width, sent.photo[-1].height) == (7, 3)
    assert sent.caption == "Digest"
    [call] = fake.calls_to("sendPhoto")
    assert call.files["photo"] == image
    assert call.chat_id == GROUP
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(GROUP, image, caption="x" * 1025)
    document = await bot.send_document(USER, b"a,b\n1,2\n", filename="data.csv")
    assert document.document.file_size == 8


async def test_injected_429_raises_retry_after_for_the_chosen_calls(fake: FakeBotAPI, bot: Bot) -> None:
    fake.throttle_next(2, retry_after=3, chat_id=GROUP)
    await bot.send_message(USER, "other chats are not throttled")
    for _ in range(2):
        with pytest.raises(RetryAfter) as error:
            await bot.send_message(GROUP, "throttled")
        assert error.value.retry_after in (3, dtm.timedelta(seconds=3))
    await bot.send_message(GROUP, "after the wait")
    assert [c.status for c in fake.calls_to("sendMessage", GROUP)] == [429, 429, 200]
    fake.fail_next(1, ApiError(400, "Bad Request: not enough rights"), method="setMyCommands")
    with pytest.raises(BadRequest, match="Not enough rights"):
        await bot.set_my_commands([("start", "Start")])


async def test_blocked_chats_answer_403_and_migrated_groups_name_the_supergroup(fake: FakeBotAPI,
                                                                                 bot: Bot) -> None:
    fake.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hello")
    fake.unblock(USER)
    await bot.send_message(USER, "hello again")
    fake.migrate(-555, GROUP)
    with pytest.raises(ChatMigrated) as error:
        await bot.send_message(-555, "hello group")
    assert error.value.new_chat_id == GROUP
    chat = await bot.get_chat(GROUP)
    assert chat.type == "supergroup"


async def test_pushed_updates_are_served_by_long_polling(fake: FakeBotAPI, bot: Bot) -> None:
    fake.push_message(GROUP, "/subscribe@communique_test_bot войны", user_id=USER, chat_type="supergroup")
    [update] = await bot.get_updates(timeout=5)
    assert update.message.chat.type == "supergroup"
    assert update.message.from_user.id == USER
    assert list(update.message.parse_entities().values()) == ["/subscribe@communique_test_bot"]
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()

    poll = asyncio.create_task(bot.get_updates(offset=update.update_id + 1, timeout=10))
    await asyncio.sleep(0.05)
    sent = await bot.send_message(USER, "pick one")
    fake.push_callback_query(USER, USER, "topic:defence", sent.message_id)
    [press] = await asyncio.wait_for(poll, 2)
    assert press.callback_query.data == "topic:defence"
    assert press.callback_query.message.message_id == sent.message_id
    assert press.update_id == update.update_id + 1


async def test_edits_change_the_recorded_message(fake: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER, "v1", reply_markup=InlineKeyboardMarkup.from_button(
        InlineKeyboardButton("a", callback_data="a")))
    edited = await bot.edit_message_text("<b>v2</b>", USER, sent.message_id, parse_mode=ParseMode.HTML)
    assert (edited.text, edited.reply_markup) == ("v2", None)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<b>v2</b>", USER, sent.message_id, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("v3", USER, 999)
    assert fake.texts(USER) == ["v2"]


async def test_commands_round_trip_and_unknown_methods_are_not_found(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Welcome"), ("help", "How to use the bot")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Start-Now", "bad name")])
    assert await bot.set_my_description("Alerts") and await bot.set_my_short_description("Alerts")
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy")
    assert fake.calls_to("sendTelepathy")[0].status == 404


async def test_rate_violations_report_sliding_window_overruns(fake: FakeBotAPI, bot: Bot) -> None:
    for chat in (1, 2, 1):
        await bot.send_message(chat, "x")
    assert len(fake.rate_violations()) == 1
    assert "chat limit 1/1s" in fake.rate_violations()[0]
    group_only = RateLimits(overall=1000, per_chat=1000)
    for _ in range(21):
        await bot.send_message(GROUP, "x")
    [violation] = fake.rate_violations(group_only)
    assert violation.startswith("group limit 20/60s exceeded: 21 sends")
    overall_only = RateLimits(overall=20, overall_window=60, per_chat=1000, per_group=1000)
    assert len(fake.rate_violations(overall_only)) == 4


async def test_enforced_rate_limits_answer_429_and_keep_the_record_clean() -> None:
    with FakeBotAPI(enforce_rate_limits=True, limits=RateLimits(chat_window=30)) as fake:
        async with Bot(DEFAULT_TOKEN, base_url=fake.base_url) as bot:
            await bot.send_message(USER, "first")
            with pytest.raises(RetryAfter) as error:
                await bot.send_message(USER, "too soon")
            assert error.value.retry_after in (30, dtm.timedelta(seconds=30))
            await bot.send_message(USER + 1, "another chat is fine")
        assert fake.rate_violations() == []


async def test_requests_from_other_clients_are_decoded_too(fake: FakeBotAPI) -> None:
    async with httpx.AsyncClient(base_url=f"{fake.base_url}{DEFAULT_TOKEN}") as client:
        as_json = await client.post("/sendMessage", json={"chat_id": "7", "text": "json",
                                                          "reply_markup": {"inline_keyboard": []}})
        as_query = await client.get("/sendMessage", params={"chat_id": 8, "text": "query"})
        broken = await client.post("/sendMessage", data={"chat_id": 9, "text": "x", "reply_markup": "{"})
    assert as_json.json()["result"]["chat"]["id"] == 7
    assert as_query.json()["result"]["text"] == "query"
    assert broken.status_code == 400
    assert broken.json()["description"] == "Bad Request: can't parse reply_markup JSON object"


async def test_a_real_application_polls_and_replies(fake: FakeBotAPI,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(f"Welcome, {update.effective_user.first_name}")

    app = Application.builder().token(DEFAULT_TOKEN).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    fake.push_message(USER, "/start", first_name="Lina")
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=10)
        messages = await fake.wait_for_messages(USER, 1, timeout=3)
        await app.updater.stop()
        await app.stop()
    assert messages[0]["text"] == "Welcome, Lina"
    assert DEFAULT_TOKEN not in capfd.readouterr().err
