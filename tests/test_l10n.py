"""Communique in its users' languages: replies, the command menu, alerts and digests in the chat's language,
Arabic and Hebrew laid out right to left."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bot_harness import ADMIN, running_bot
from conftest import NOW
from fakebotapi import FakeBotAPI
from fakebotapi_rules import parse_html
from test_alerts import _post, _subscriber, sent_text
from test_digest import CHAT, TODAY, busy_day, previous_digest, reader

from communique.digest import plan_digest
from communique.digest_chart import ChartData, render_chart
from communique.i18n import FSI, LANGUAGES, PDI, RLM, choose, tr
from communique.messages import MESSAGE_LIMIT, length
from communique.models import NewsItem
from communique.pipeline import ingest_news, ingest_statement
from communique.render import alert_text, coverage_block
from communique.settings import Settings
from communique.store.subscribers import get_subscriber, update_subscriber

READER = 4242
GROUP = -100777
BIDI = (RLM, FSI, PDI)


def authored_lines(text: str) -> list[str]:
    """The lines the bot wrote, leaving out the quoted post."""
    lines, quoted = [], False
    for line in text.split("\n"):
        if not quoted and line and not line.startswith("<blockquote>"):
            lines.append(line)
        quoted = (quoted or "<blockquote>" in line) and "</blockquote>" not in line
    return lines


@pytest.mark.parametrize(("lang", "first_steps", "follow"), [
    ("ru", "Первые шаги", "/subscribe <тема | ключевое слово | @канал>: Подписаться на тему, ключевое слово или канал"),
    ("ar", "الخطوات الأولى", "متابعة موضوع أو كلمة مفتاحية أو قناة"),
])
async def test_start_and_help_answer_in_the_users_language(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, lang: str, first_steps: str, follow: str) -> None:
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        [welcome] = await bot.say(READER, "/start", language_code=lang)
        [help_text] = await bot.say(READER, "/help", language_code=lang)
        subscriber = await bot.store.run(get_subscriber, READER)
    assert first_steps in welcome and "First steps" not in welcome
    assert follow in help_text.replace(FSI, "").replace(PDI, "") and "All commands" not in help_text
    assert subscriber["language"] == lang
    rtl = lang == "ar"
    assert all(line.startswith(RLM) for line in help_text.split("\n") if line) == rtl
    assert (FSI in help_text) == rtl  # each command with its arguments is set apart from the Arabic around it


async def test_a_chat_keeps_the_language_it_was_set_up_in_and_a_group_takes_its_founders(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    group = {"chat_type": "supergroup", "user_id": ADMIN}
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        await bot.say(READER, "/start", language_code="uk")
        [later] = await bot.say(READER, "/pause", language_code="en")  # the app's language changed since
        await bot.say(GROUP, f"/start@{fake_bot_api.username}", language_code="ru", **group)
        [member] = await bot.say(GROUP, f"/list@{fake_bot_api.username}", chat_type="supergroup", user_id=31337,
                                 language_code="ar")
    assert "Паузу ввімкнено" in later
    assert member.startswith("Подписки этого чата\n")


async def test_language_switches_with_a_button_and_everything_after_follows(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        [prompt] = await bot.say(READER, "/language", language_code="en")
        menu = fake_bot_api.sent_messages(READER)[-1]
        buttons = [b for row in menu["reply_markup"]["inline_keyboard"] for b in row]
        assert prompt.startswith("Choose the language for this chat")
        assert [b["callback_data"] for b in buttons] == [f"lang:{code}" for code in LANGUAGES]
        assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
        assert "✅ English" in [b["text"] for b in buttons]
        hebrew = next(b for b in buttons if b["text"] == "עברית")
        fake_bot_api.push_callback_query(READER, READER, hebrew["callback_data"], menu["message_id"])
        await fake_bot_api.wait_for(lambda: bool(fake_bot_api.calls_to("editMessageText", READER)))
        [answer] = fake_bot_api.calls_to("answerCallbackQuery")
        [timezone] = await bot.say(READER, "/timezone Asia/Jerusalem", language_code="en")
        subscriber = await bot.store.run(get_subscriber, READER)
    assert answer.params["text"] == "שפה: עברית"
    assert fake_bot_api.sent_messages(READER)[-2]["text"].startswith(RLM + "מעכשיו")  # the prompt, edited
    assert subscriber["language"] == "he"
    assert timezone.startswith(RLM + "✅ אזור זמן: " + FSI + "Asia/Jerusalem" + PDI)


async def test_a_chats_language_survives_a_restart(fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        await bot.say(READER, "/start", language_code="en")
        await bot.say(READER, "/language")
        menu = fake_bot_api.sent_messages(READER)[-1]
        fake_bot_api.push_callback_query(READER, READER, "lang:ar", menu["message_id"])
        await fake_bot_api.wait_for(lambda: bool(fake_bot_api.calls_to("editMessageText", READER)))
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        [help_text] = await bot.say(READER, "/help", language_code="en")
    assert help_text.startswith(RLM + "الأوامر\n")


async def test_the_command_menu_and_description_are_set_in_every_language(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings):
        pass
    menus = {lang: {c["command"]: c["description"] for c in fake_bot_api.commands(language_code=lang)}
             for lang in ("", "ru", "uk", "ar", "he")}
    admin = {c["command"]: c["description"]
             for c in fake_bot_api.commands({"type": "chat", "chat_id": ADMIN}, language_code="ar")}
    assert menus[""]["subscribe"] == "Follow a topic, keyword or channel"
    assert menus["ru"]["subscribe"] == "Подписаться на тему, ключевое слово или канал"
    assert menus["uk"]["language"] == "Мова бота в цьому чаті"
    assert menus["ar"]["search"] == "البحث في الأرشيف"
    assert menus["he"]["stop"] == "מחיקת הצ׳אט הזה והנתונים שלו"
    assert admin["stats"] == "الإحصاءات وطابور الإرسال وسرعة التغطية" and "stats" not in menus["ar"]
    descriptions = {c.params.get("language_code"): c.params["description"]
                    for c in fake_bot_api.calls_to("setMyDescription")}
    assert descriptions.keys() == {None, "ru", "uk", "ar", "he"}
    assert descriptions["ru"].startswith("Оповещает о новых публикациях официальных каналов")
    short = {c.params.get("language_code"): c.params["short_description"]
             for c in fake_bot_api.calls_to("setMyShortDescription")}
    assert max(map(len, descriptions.values())) <= 512 and max(map(len, short.values())) <= 120  # Telegram's limits


async def test_an_admin_changes_the_watched_channels_in_russian_and_the_audit_log_stays_english(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "communique.bot")
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        [question] = await bot.say(ADMIN, "/addchannel @rusemb_sy", language_code="ru")
        message = fake_bot_api.sent_messages(ADMIN)[-1]
        buttons = {b["text"]: b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row}
        fake_bot_api.push_callback_query(ADMIN, ADMIN, buttons["✅ Подтвердить"], message["message_id"],
                                         language_code="ru")
        await fake_bot_api.wait_for(lambda: bool(fake_bot_api.calls_to("editMessageText", ADMIN)))
    assert question == "Отслеживать @rusemb_sy как источник официальных заявлений?"
    assert set(buttons) == {"✅ Подтвердить", "✖️ Отмена"}
    assert fake_bot_api.sent_messages(ADMIN)[-1]["text"].startswith("✅ Добавлено: канал @rusemb_sy (official).")
    assert "audit: admin 777 added channel @rusemb_sy (official)" in caplog.text


def test_a_chat_language_comes_from_the_telegram_language_code() -> None:
    assert [choose(code) for code in ("ru", "uk-UA", "ar", "he", "iw", "pt-br", None, "")] == \
        ["ru", "uk", "ar", "he", "he", "en", "en", "en"]


def test_an_alert_and_its_coverage_filled_in_at_sending_are_in_each_chats_language(db, settings) -> None:
    for chat, lang in ((1, "ar"), (2, "ru"), (3, "en")):
        _subscriber(db, chat, "channel", "mod_russia")
        update_subscriber(db, chat, language=lang)
    ingest_statement(db, _post(104, "Над территорией Белгородской области перехвачены и уничтожены 24 беспилотника"),
                     settings=settings, now=NOW)
    before = {chat: sent_text(db, chat) for chat in (1, 2, 3)}
    ingest_news(db, NewsItem(source="Вести", guid="v3", title="Над Белгородской областью сбиты 24 беспилотника",
                             text="Минобороны сообщило, что ПВО сбили 24 беспилотника над Белгородской областью.",
                             url="https://vesti.example/3", date=NOW, lang="ru"), settings=settings, now=NOW)
    after = {chat: sent_text(db, chat) for chat in (1, 2, 3)}
    assert "لم تنقل أي وسيلة إعلام مرصودة هذا البيان بعد." in before[1] and "المنشور الأصلي" in before[1]
    assert "Ни одно из отслеживаемых СМИ пока об этом не сообщило." in before[2]
    assert "No tracked outlet has reported this yet." in before[3]
    assert "نقلته وسيلة إعلام واحدة:" in after[1] and f"{FSI}Вести{PDI}" in after[1]
    assert "Сообщило 1 СМИ:" in after[2] and "+" in after[2]
    assert "Reported by 1 outlet:" in after[3] and not any(mark in after[3] for mark in BIDI)


def test_an_arabic_alert_reads_right_to_left_around_latin_and_cyrillic_names_and_numbers() -> None:
    statement = {"date": "2026-11-28T19:00:00+00:00", "url": "https://t.me/mod_russia/7",
                 "text": "Минобороны России: возвращены 84 военнослужащих."}
    news = [{"source": "Reuters", "title": "Russia and Ukraine swap 84 prisoners", "url": "https://reuters.example/1",
             "delay_minutes": 95, "lang": "en"},
            {"source": "الجزيرة", "title": "تبادل 84 أسيرًا", "url": "https://aljazeera.example/2",
             "delay_minutes": 130, "lang": "ar"}]
    text = alert_text(statement, "Минобороны России", news, ["keyword:обмен", "channel:mod_russia"],
                      ZoneInfo("Asia/Beirut"), t=tr("ar"))
    lines = authored_lines(text)
    assert lines and all(line.startswith(RLM) for line in lines)  # each paragraph right to left
    assert "<blockquote>Минобороны России: возвращены 84 военнослужащих.</blockquote>" in text  # keeps its own
    assert f"<b>{FSI}Минобороны России{PDI}</b>" in text and f"<b>{FSI}Reuters{PDI}</b>" in text
    assert f">{FSI}Russia and Ukraine swap 84 prisoners{PDI}</a>" in text
    assert "28 نوفمبر 2026، 21:00" in text and "بعد 1 س 35 د" in text
    assert f"تتابع: {FSI}«обмен»{PDI}، {FSI}@mod_russia{PDI}" in text
    plain, entities = parse_html(text)  # Telegram's parser takes it: the marks sit beside the tags, not in them
    assert plain.startswith(f"{RLM}🔔 {FSI}Минобороны России{PDI} · ") and length(text) <= MESSAGE_LIMIT
    assert {entity["type"] for entity in entities} >= {"bold", "text_link", "blockquote", "italic"}


@pytest.mark.parametrize(("lang", "outlets", "head"), [
    ("ru", 1, "Сообщило 1 СМИ"), ("ru", 3, "Сообщили 3 СМИ"), ("ru", 21, "Сообщило 21 СМИ"),
    ("uk", 5, "Повідомили 5 медіа"),
    ("ar", 1, "نقلته وسيلة إعلام واحدة"), ("ar", 2, "نقلته وسيلتا إعلام"), ("ar", 3, "نقلته 3 وسائل إعلام"),
    ("ar", 11, "نقلته 11 وسيلة إعلام"), ("he", 2, "דווח בשני כלי תקשורת"), ("he", 7, "דווח ב־7 כלי תקשורת"),
])
def test_counts_take_the_languages_plural_forms(lang: str, outlets: int, head: str) -> None:
    news = [{"source": f"Outlet {n}", "title": f"Report {n}", "url": None} for n in range(outlets)]
    assert coverage_block(news, t=tr(lang)).split("\n")[0].removeprefix(RLM) == f"<b>{head}:</b>"


def test_a_digest_is_in_the_chats_language_with_its_dates(db, settings) -> None:
    reader(db)
    update_subscriber(db, CHAT, language="ru")
    previous_digest(db, settings)
    busy_day(db)
    plan = plan_digest(db, CHAT, now=TODAY, settings=settings)
    assert plan is not None
    text = "\n".join(plan.messages())
    assert text.startswith("🗞 <b>Ваш дайджест Communique</b>\n<i>27 нояб. 2026, 08:00 MSK – 28 нояб. 2026, 08:00 MSK")
    assert "<i>52 заявления · есть в СМИ: 15 · пока без публикаций: 37 · изменено: 0 · удалено: 0</i>" in text
    assert "сообщили 2 СМИ (первым: TASS, +12 мин)" in text and "→ пост" in text
    assert "<b>⏱ Скорость освещения</b>\n• Быстрее всех (медианное время до публикации): TASS 12 мин" in text
    assert all(length(message) <= MESSAGE_LIMIT for message in plan.messages())


def test_the_digest_chart_is_labelled_in_the_chats_language(db, settings) -> None:
    week = tuple(TODAY.date() - timedelta(days=n) for n in range(7, 0, -1))
    data = ChartData(week, {"Минобороны России": (1, 2, 3, 4, 5, 6, 7), "وزارة الدفاع": (1, 0, 1, 0, 1, 0, 1)})
    english, arabic = render_chart(data), render_chart(data, tr("ar"))
    assert arabic.startswith(b"\x89PNG") and arabic != english
    assert render_chart(data, tr("ar")) == arabic  # drawn once per language, then given again
