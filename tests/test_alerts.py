"""Who gets what: a new statement becomes one alert per concerned chat, safely escaped, under 4096."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import NOW

from communique.alert_coverage import complete
from communique.audience import Keyword, keyword_meets, statement_stems
from communique.messages import MESSAGE_LIMIT, length, split_blocks
from communique.models import NewsItem, Statement
from communique.pipeline import ingest_news, ingest_post, ingest_statement
from communique.render import NOT_YET_REPORTED, alert_text
from communique.store.outbox import claim, mark_sent, pending_for
from communique.store.subscribers import ensure_subscriber, subscribe, update_subscriber


@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        ("Белгород", "над территорией Белгородской области"),
        ("беспилотник", "уничтожены 24 беспилотника"),
        ("Хмеймим", "с авиабазы Хмеймим доставлено"),
        ("الجيش", "وأعلن والجيش السوري"),
        ("drone", "Air defences downed 24 drones"),
        ("air defence", "the air defences of the region"),
        ("Ёлкино", "в посёлке Елкино"),
        ("Kursk", "над территорией Курской области"),
        ("Belousov", "أعلن وزير الدفاع بيلاوسوف"),
        ("Белоусов", "Defence Minister Belousov said"),
    ],
)
def test_a_keyword_meets_inflected_and_prefixed_forms(keyword, text):
    assert keyword_meets(Keyword.parse(keyword), statement_stems(text))


@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        ("war", "a warm welcome"),
        ("Курск", "Курчатов и Курган"),
        ("air defence", "the air was clear"),
        ("ПВО", "ПВОСИ"),
        ("Kursk", "курс рубля"),
        ("мир", "мировой рынок"),
        ("Baltic", "вопросы внешней политики"),
    ],
)
def test_a_keyword_does_not_meet_unrelated_words(keyword, text):
    assert not keyword_meets(Keyword.parse(keyword), statement_stems(text))


def sent_text(db, chat_id=None):
    """The text of the chat's (or the only) alert as it would be sent now."""
    where, params = ("WHERE chat_id = ?", [chat_id]) if chat_id is not None else ("", [])
    return complete(db, db.execute(f"SELECT text FROM outbox {where}", params).fetchone()[0])


def _subscriber(db, chat_id, kind, value):
    ensure_subscriber(db, chat_id, now=NOW)
    subscribe(db, chat_id, kind, value, now=NOW)


def _post(message_id: int, text: str) -> Statement:
    return Statement(channel="mod_russia", ext_id=str(message_id), message_id=message_id, text=text,
                     date=NOW - timedelta(hours=2), lang="ru")


def test_only_concerned_subscribers_get_the_alert(db, settings):
    _subscriber(db, 1, "topic", "air-defence")
    _subscriber(db, 2, "keyword", "Белгород")
    _subscriber(db, 3, "channel", "mid_russia")
    _subscriber(db, 4, "topic", "syria")
    outcome = ingest_statement(db, _post(100, "Над Белгородской областью сбиты 24 беспилотника"),
                               settings=settings, now=NOW)
    assert outcome.alerts == 2
    assert sorted(r[0] for r in db.execute("SELECT chat_id FROM outbox")) == [1, 2]


def test_invisible_characters_inside_a_word_do_not_hide_it_from_keywords(db, settings):
    from communique.bot.targets import parse_target

    typed = parse_target("Кр\u200bым", settings)
    assert (typed.kind, typed.value) == ("keyword", "крым")
    _subscriber(db, 1, "keyword", "Кр\u200bым")  # as stored before the bot dropped the invisible character
    _subscriber(db, 2, typed.kind, typed.value)
    outcome = ingest_statement(db, _post(101, "Над Кр\u00adымом и \u200fБел\u200bгородом сбиты 24 беспилотника"),
                               settings=settings, now=NOW)
    assert outcome.alerts == 2
    assert keyword_meets(Keyword.parse("Белгород"), statement_stems("над Бел\u2060город\ufeffом"))


def test_alert_links_the_post_and_the_news_that_reports_it(db, settings):
    _subscriber(db, 1, "channel", "mod_russia")
    ingest_news(db, NewsItem(source="Вести", guid="v1", title="Над Белгородской областью сбиты 24 беспилотника",
                             text="Минобороны сообщило, что ПВО сбили 24 беспилотника над Белгородской областью.",
                             url="https://vesti.example/1", date=NOW - timedelta(hours=1), lang="ru"),
                settings=settings, now=NOW)
    ingest_statement(db, _post(101, "Над территорией Белгородской области перехвачены и уничтожены 24 беспилотника"),
                     settings=settings, now=NOW)
    text = sent_text(db)
    assert 'href="https://t.me/mod_russia/101"' in text
    assert 'href="https://vesti.example/1"' in text and "Вести" in text


def test_a_report_that_comes_before_an_alert_is_sent_goes_into_the_alert_not_into_a_follow_up(db, settings):
    for chat in (1, 2):
        _subscriber(db, chat, "channel", "mod_russia")
        update_subscriber(db, chat, coverage_followups=1)
    ingest_statement(db, _post(103, "Над территорией Белгородской области перехвачены и уничтожены 24 беспилотника"),
                     settings=settings, now=NOW)
    [sent] = claim(db, "bot", now=NOW, limit=1)  # the other alert still waits its turn (limits, a large audience)
    mark_sent(db, sent["id"], [1], now=NOW)
    [waiting] = pending_for(db)

    ingest_news(db, NewsItem(source="Вести", guid="v2", title="Над Белгородской областью сбиты 24 беспилотника",
                             text="Минобороны сообщило, что ПВО сбили 24 беспилотника над Белгородской областью.",
                             url="https://vesti.example/2", date=NOW, lang="ru"), settings=settings, now=NOW)

    queued = {row["chat_id"]: row for row in pending_for(db)}
    assert queued[sent["chat_id"]]["kind"] == "coverage"
    assert queued[waiting["chat_id"]]["kind"] == "alert"
    assert len(queued) == 2  # no follow-up for the chat whose alert, when sent, says it all
    text = sent_text(db, waiting["chat_id"])
    assert 'href="https://vesti.example/2"' in text and NOT_YET_REPORTED not in text


def test_an_unreported_statement_says_so(db, settings):
    _subscriber(db, 1, "channel", "mod_russia")
    ingest_statement(db, _post(102, "Заявление о переговорах в Женеве"), settings=settings, now=NOW)
    assert NOT_YET_REPORTED in sent_text(db)


def test_html_in_a_post_is_escaped_and_a_huge_post_fits_one_message():
    statement = {"date": NOW.isoformat(), "text": "<script>alert(1)</script> A & B " + "слово " * 3000,
                 "url": "https://t.me/mod_russia/1", "media": None}
    news = [{"source": f"Outlet {i} <x>", "title": "T" * 500, "url": f"https://n.example/{i}?a=1&b=2",
             "lang": "en", "delay_minutes": 40} for i in range(20)]
    text = alert_text(statement, "Channel <b>", news, ["keyword:<i>"], ZoneInfo("Asia/Beirut"))
    assert length(text) <= MESSAGE_LIMIT
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "Channel &lt;b&gt;" in text and 'href="https://n.example/0?a=1&amp;b=2"' in text


def test_an_absurdly_long_news_link_is_dropped_not_the_alert():
    statement = {"date": NOW.isoformat(), "text": "Заявление", "url": "https://t.me/mod_russia/1", "media": None}
    news = [{"source": "Outlet", "title": "Title", "url": "https://n.example/" + "a" * 5000, "lang": "en"}]
    text = alert_text(statement, "Channel", news, [], ZoneInfo("UTC"))
    assert "Outlet" in text and "aaaa" not in text and length(text) <= MESSAGE_LIMIT


def test_replaying_a_statement_queues_nothing_new(db, settings):
    _subscriber(db, 1, "channel", "mod_russia")
    ingest_statement(db, _post(103, "Заявление"), settings=settings, now=NOW)
    ingest_statement(db, _post(103, "Заявление"), settings=settings, now=NOW)
    assert db["outbox"].count == 1


def test_long_texts_split_between_blocks_never_mid_word():
    blocks = [f"<b>Block {i}</b>\n" + " ".join(["word"] * 300) for i in range(10)]
    messages = split_blocks(blocks)
    assert len(messages) > 1 and all(length(m) <= MESSAGE_LIMIT for m in messages)
    assert all(m.startswith("<b>Block") for m in messages)
    assert " ".join(messages).count("word") == 3000


def test_an_album_with_several_captions_is_alerted_once_with_all_of_them(db, settings):
    _subscriber(db, 1, "channel", "mod_russia")
    parts = [Statement(channel="mod_russia", ext_id=str(i), message_id=i, text=text, grouped_id=9, date=NOW)
             for i, text in ((200, "Учения на Балтике."), (201, ""), (202, "Фото с полигона."))]
    outcome = ingest_post(db, parts, settings=settings, now=NOW)
    assert outcome.alerts == 1
    text = sent_text(db)
    assert "Учения на Балтике." in text and "Фото с полигона." in text


def test_the_plain_text_fallback_keeps_stray_brackets_and_ampersands():
    from communique.messages import strip_tags

    assert strip_tags('<b>Alert</b> 3 < 5 & 7 > 2 &amp; <a href="https://t.me/x/1">post</a>') == \
        "Alert 3 < 5 & 7 > 2 & post"


def test_a_repost_by_another_channel_is_not_alerted_twice_and_names_the_first_source(db, settings):
    _subscriber(db, 1, "topic", "air-defence")  # concerned by both posts
    _subscriber(db, 2, "channel", "mid_russia")  # follows only the channel that reposts
    text = "Дежурными средствами ПВО над территорией Белгородской области уничтожены 24 беспилотника."
    ingest_statement(db, _post(300, text), settings=settings, now=NOW)
    repost = Statement(channel="mid_russia", ext_id="77", message_id=77, text=text,
                       date=NOW - timedelta(hours=1), lang="ru")
    assert ingest_statement(db, repost, settings=settings, now=NOW).alerts == 1
    rows = db.execute("SELECT chat_id, dedupe_key, text FROM outbox ORDER BY id").fetchall()
    assert [(chat, key) for chat, key, _ in rows] == [(1, "alert:mod_russia/300"), (2, "alert:mid_russia/77")]
    assert "First posted by <b>Минобороны России</b>" in complete(db, rows[1][2])
    assert 'href="https://t.me/mod_russia/300"' in rows[1][2]


def test_the_same_topic_with_other_numbers_is_not_a_repost(db, settings):
    _subscriber(db, 1, "topic", "air-defence")
    ingest_statement(db, _post(301, "ПВО над Белгородской областью уничтожены 24 беспилотника."),
                     settings=settings, now=NOW)
    later = Statement(channel="mid_russia", ext_id="78", message_id=78, date=NOW - timedelta(hours=1),
                      text="ПВО над Белгородской областью уничтожены 31 беспилотник.")
    assert ingest_statement(db, later, settings=settings, now=NOW).alerts == 1


def test_one_wire_story_carried_by_several_outlets_is_one_line_naming_them_all():
    from communique.render import coverage_block

    story = "Russia says air defences downed 24 Ukrainian drones over Belgorod region overnight"
    news = [{"source": outlet, "title": story, "url": f"https://{outlet.lower()}.example/1", "lang": "en",
             "delay_minutes": delay} for outlet, delay in (("Reuters", 20), ("Yahoo", 25), ("MSN", 31))]
    news.append({"source": "Vesti", "title": "ПВО сбила 24 беспилотника над Белгородской областью",
                 "url": "https://vesti.example/1", "lang": "ru", "delay_minutes": 15})
    block = coverage_block(news)
    assert block.startswith("<b>Reported by 4 outlets:</b>")
    lines = block.splitlines()[1:]
    assert len(lines) == 2
    assert 'also <a href="https://yahoo.example/1">Yahoo</a>, <a href="https://msn.example/1">MSN</a>' in lines[0]


EXCHANGE_POST = ("В результате переговорного процесса с подконтрольной киевскому режиму территории возвращены "
                 "103 российских военнослужащих. В обмен переданы 103 военнопленных ВСУ.")
EXCHANGE_REPORT = dict(title="Из плена вернули 103 российских военнослужащих",
                       text="В результате переговорного процесса с подконтрольной киевскому режиму территории "
                            "возвращены 103 российских военнослужащих, в обмен переданы 130 военнопленных ВСУ.",
                       lang="ru")


def test_a_report_with_other_figures_is_shown_with_a_warning_next_to_it(db, settings):
    _subscriber(db, 1, "channel", "mod_russia")
    ingest_news(db, NewsItem(source="Вести <ru>", guid="v1", url="https://vesti.example/1",
                             date=NOW - timedelta(hours=1), **EXCHANGE_REPORT), settings=settings, now=NOW)
    ingest_news(db, NewsItem(source="Wire", guid="w1", url="https://wire.example/1", date=NOW - timedelta(hours=1),
                             title="Russia and Ukraine swap 103 for 103 prisoners",
                             text="Russia returned 103 servicemen in exchange for 103 Ukrainian prisoners of war.",
                             lang="en"), settings=settings, now=NOW)
    ingest_statement(db, _post(104, EXCHANGE_POST), settings=settings, now=NOW)
    text = sent_text(db)
    vesti, = (line for line in text.splitlines() if "vesti.example" in line)
    below = text.splitlines()[text.splitlines().index(vesti) + 1]
    assert below.strip() == "⚠ reports 130 prisoners (statement: 103)"
    assert "Вести &lt;ru&gt;" in vesti and text.count("⚠") == 1  # the agreeing report carries none
    assert length(text) <= MESSAGE_LIMIT


def test_a_follow_up_of_a_differing_first_report_carries_the_warning(db, settings):
    _subscriber(db, 1, "channel", "mod_russia")
    update_subscriber(db, 1, coverage_followups=1)
    ingest_statement(db, _post(105, EXCHANGE_POST), settings=settings, now=NOW)
    [alert] = claim(db, "bot", now=NOW, limit=1)
    mark_sent(db, alert["id"], [1], now=NOW)
    ingest_news(db, NewsItem(source="Вести", guid="v2", url="https://vesti.example/2", date=NOW, **EXCHANGE_REPORT),
                settings=settings, now=NOW)
    [follow_up] = pending_for(db)
    assert follow_up["kind"] == "coverage" and "⚠ reports 130 prisoners (statement: 103)" in follow_up["text"]


OTHER_COUNT = NewsItem(source="Wire", guid="w31", url="https://wire.example/31", date=NOW + timedelta(minutes=5),
                       title="ПВО за ночь сбила 31 беспилотник над двумя областями",
                       text="В течение прошедшей ночи дежурными средствами ПВО перехвачены и уничтожены 31 украинских "
                            "беспилотных летательных аппаратов самолетного типа над территориями Белгородской и "
                            "Курской областей, сообщили в Минобороны.", lang="ru")
DRONE_POST = ("В течение прошедшей ночи дежурными средствами ПВО перехвачены и уничтожены 46 украинских "
              "беспилотных летательных аппаратов самолетного типа над территориями Белгородской и Курской областей.")


def test_a_report_of_another_count_is_not_coverage_but_shown_as_related_with_its_figure(db, settings):
    _subscriber(db, 1, "channel", "mod_russia")
    ingest_news(db, OTHER_COUNT, settings=settings, now=NOW)
    ingest_statement(db, _post(106, DRONE_POST), settings=settings, now=NOW)
    text = sent_text(db)
    assert NOT_YET_REPORTED in text  # a report of 31 drones is no report of this post of 46
    related = text.split("Related, with other figures, regions or day:", 1)[1]
    assert 'href="https://wire.example/31"' in related and "⚠ reports 31 drones (statement: 46)" in related


def test_a_related_report_found_after_the_post_shows_in_its_alert_too(db, settings):
    _subscriber(db, 1, "channel", "mod_russia")
    ingest_statement(db, _post(107, DRONE_POST), settings=settings, now=NOW)
    ingest_news(db, OTHER_COUNT, settings=settings, now=NOW)
    ingest_news(db, OTHER_COUNT, settings=settings, now=NOW)  # replayed: stored once
    assert db.execute("SELECT count(*) FROM related").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM matches").fetchone()[0] == 0
    assert 'href="https://wire.example/31"' in sent_text(db).split("Related", 1)[1]


def test_a_warning_is_escaped_and_a_block_full_of_them_still_fits():
    from communique.discrepancy import Difference
    from communique.render import coverage_block, with_coverage

    news = [{"news_id": i, "source": f"Outlet {i}", "title": "T" * 300, "url": f"https://n.example/{i}",
             "lang": "en", "delay_minutes": i} for i in range(20)]
    differs = {i: [Difference("<46>", "31 & more", "drones"), Difference("Belgorod", "Bryansk", "place")]
               for i in range(20)}
    assert "⚠ reports 31 &amp; more drones (statement: &lt;46&gt;); reports Bryansk (statement: Belgorod)" in \
        coverage_block(news[:1], differs=differs)
    statement = {"date": NOW.isoformat(), "text": "слово " * 3000, "url": "https://t.me/mod_russia/1", "media": None}
    placeholder = '<coverage of="1"/>'
    queued = alert_text(statement, "Channel", placeholder, [], ZoneInfo("Asia/Beirut"))
    assert length(with_coverage(queued, placeholder, news, differs)) <= MESSAGE_LIMIT
    assert length(with_coverage(queued, placeholder, news[:10], differs, related=news[10:])) <= MESSAGE_LIMIT
