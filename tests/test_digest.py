"""The daily digest: everything a chat follows since its previous digest, grouped, ordered and split for Telegram."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from communique.bot.delivery import Delivery, DeliveryOptions
from communique.bot.ratelimit import Limits
from conftest import ROOT
from fakebotapi_rules import parse_html
from telegram import Bot

from communique.digest import build_digest, enqueue_digest, plan_digest, render_digest
from communique.messages import MESSAGE_LIMIT, length, strip_tags
from communique.models import NewsItem, Statement
from communique.store import StoreThread
from communique.store.matches import save_match, save_related
from communique.store.news import upsert_news
from communique.store.outbox import pending_for
from communique.store.statements import mark_deleted, upsert_statement
from communique.store.subscribers import ensure_subscriber, subscribe, update_subscriber

MSK = ZoneInfo("Europe/Moscow")
CHAT = 501
YESTERDAY = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # 08:00 in Moscow: the previous digest
TODAY = YESTERDAY + timedelta(days=1)  # 08:00 in Moscow: this digest
AIR = "Дежурными средствами ПВО перехвачены и уничтожены {n} украинских беспилотных летательных аппаратов " \
      "самолётного типа над территорией Белгородской и Курской областей, сообщили в штабе."
BALTIC = "Корабли Балтийского флота вышли из Балтийска в назначенные районы моря для учения номер {n}."
EXCHANGE = "В результате переговорного процесса возвращены {n} российских военнослужащих, в обмен переданы пленные."
BRIEFING = "Брифинг официального представителя МИД России номер {n} о текущих вопросах внешней политики."


def reader(db, *, empty_digest=False):
    """A Moscow newsroom following air defence, prisoner exchanges, the Baltic, and the MID channel."""
    ensure_subscriber(db, CHAT, now=YESTERDAY - timedelta(days=30))
    update_subscriber(db, CHAT, timezone="Europe/Moscow", digest_time="08:00", empty_digest=int(empty_digest))
    for kind, value in (("topic", "air-defence"), ("topic", "prisoner-exchange"), ("topic", "baltic"),
                        ("channel", "mid_russia")):
        subscribe(db, CHAT, kind, value, now=YESTERDAY - timedelta(days=30))


def post(db, channel, n, text, at, *, fetched=None):
    st = Statement(channel=channel, ext_id=str(n), message_id=n, text=text, date=at, lang="ru")
    return upsert_statement(db, st, now=fetched or at).id


def report(db, statement_id, outlet, at):
    item = NewsItem(source=outlet, guid=f"{outlet}/{statement_id}", title=f"Report {statement_id}", text="...",
                    url=f"https://{outlet.lower()}.example/{statement_id}", date=at)
    news_id, _ = upsert_news(db, item, now=at)
    save_match(db, statement_id, news_id, 0.9, "test", now=at)


def previous_digest(db, settings):
    assert enqueue_digest(db, CHAT, now=YESTERDAY, settings=settings) is not None


def digest_texts(db, chat_id=CHAT):
    return [row["text"] for row in pending_for(db, chat_id) if row["kind"] == "digest"]


def structure(messages):
    """[(topic, channel, entry line)] in reading order, from the messages' plain text."""
    found, topic, channel = [], None, None
    for line in strip_tags("\n\n".join(messages)).splitlines():
        if line.startswith("■ ") and line.endswith(" (continued)"):  # a channel spilling into the next message
            topic, channel = line[2:-len(" (continued)")].split(" · ")
        elif line.startswith("■ "):
            topic, channel = line[2:], None
        elif line.startswith("• ") and topic and channel:
            found.append((topic, channel, line))
        elif line.startswith(("✏️", "⏱")):
            topic = None
        elif line.strip() and topic:
            channel = line
    return found


def busy_day(db):
    """A week of posts, then a busy day: 40 air-defence reports, Baltic drills, an exchange, MID briefings."""
    for day in range(2, 6):  # the chart's earlier days, before the previous digest
        post(db, "mod_russia", 100 + day, AIR.format(n=day), YESTERDAY - timedelta(days=day))
    for n in range(40):
        at = YESTERDAY + timedelta(minutes=20 * n + 10)
        sid = post(db, "mod_russia", 1000 + n, AIR.format(n=n), at)
        if n % 3 == 0:
            report(db, sid, "TASS", at + timedelta(minutes=12))
            report(db, sid, "Reuters", at + timedelta(minutes=40))
    for n in range(6):
        post(db, "mod_russia", 2000 + n, BALTIC.format(n=n), YESTERDAY + timedelta(hours=2 + n))
    sid = post(db, "mod_russia", 3000, EXCHANGE.format(n=103), YESTERDAY + timedelta(hours=5))
    report(db, sid, "Meduza", YESTERDAY + timedelta(hours=5, minutes=25))
    for n in range(5):
        post(db, "mid_russia", 4000 + n, BRIEFING.format(n=n), YESTERDAY + timedelta(hours=3 + n))
    post(db, "generalstaffzsu", 5000, "Оперативна інформація: без змін.", YESTERDAY + timedelta(hours=6))  # unfollowed


def test_a_busy_day_is_grouped_by_topic_then_channel_with_uncovered_statements_first(db, settings):
    reader(db)
    previous_digest(db, settings)
    busy_day(db)
    messages = plan_digest(db, CHAT, now=TODAY, settings=settings).messages()
    entries = structure(messages)

    topics = list(dict.fromkeys(topic for topic, _, _ in entries))
    assert topics == ["Air defence and drone attacks", "Prisoner exchanges", "Baltic Sea and Kaliningrad",
                      "Also followed"]  # configured topic order; what only a channel subscription brings, last
    assert [(t, c) for t, c in dict.fromkeys((t, c) for t, c, _ in entries)] == [
        ("Air defence and drone attacks", "Минобороны России"), ("Prisoner exchanges", "Минобороны России"),
        ("Baltic Sea and Kaliningrad", "Минобороны России"), ("Also followed", "МИД России")]
    air = [line for topic, _, line in entries if topic.startswith("Air defence")]
    assert len(air) == 40  # the previous days' posts went out in earlier digests
    status = ["reported" if "not yet reported" not in line else "new" for line in air]
    assert status == ["new"] * 26 + ["reported"] * 14  # uncovered first
    times = [line[2:14] for line in air]
    assert times[:26] == sorted(times[:26]) and times[26:] == sorted(times[26:])  # each part in time order
    assert air[0].startswith("• 27 Nov 08:30 · Дежурными средствами ПВО перехвачены") and "→ post" in air[0]
    assert "reported by 2 outlets (first: TASS, +12 min)" in air[26]
    exchange = [line for topic, _, line in entries if topic == "Prisoner exchanges"]
    assert len(exchange) == 1 and exchange[0].endswith("reported by 1 outlet (first: Meduza, +25 min)")
    counts = "<i>52 statements · 15 reported · 37 not yet reported · 0 edited · 0 deleted</i>"
    assert messages[0].split("\n")[2] == counts  # under the period, never alone at the end


def test_a_busy_day_splits_into_valid_messages_under_4096_never_inside_an_entry(db, settings):
    reader(db)
    previous_digest(db, settings)
    busy_day(db)
    messages = plan_digest(db, CHAT, now=TODAY, settings=settings).messages()

    assert len(messages) >= 3
    assert all(length(m) <= MESSAGE_LIMIT for m in messages)
    for message in messages:
        parse_html(message)  # Telegram's entity rules: every tag closed within its message
    links = [f'href="https://t.me/mod_russia/{1000 + n}"' for n in range(40)]
    entries = [m.split("<b>⏱")[0] for m in messages]  # the speed section links the unreported posts again
    assert all(sum(link in m for m in entries) == 1 for link in links)  # each entry whole, in one message
    assert messages[1].startswith("<b>■ Air defence and drone attacks · Минобороны России</b> <i>(continued)</i>\n• ")


def test_the_digest_covers_everything_since_the_previous_one_and_posts_fetched_late(db, settings):
    reader(db)
    post(db, "mod_russia", 1, AIR.format(n=1), YESTERDAY - timedelta(hours=1))  # before the previous digest
    previous_digest(db, settings)
    post(db, "mod_russia", 2, AIR.format(n=2), YESTERDAY - timedelta(minutes=3),  # posted before it, fetched after
         fetched=YESTERDAY + timedelta(minutes=2))
    post(db, "mod_russia", 3, AIR.format(n=3), YESTERDAY + timedelta(hours=4))
    post(db, "mod_russia", 4, AIR.format(n=4), TODAY + timedelta(minutes=1))  # after this digest: next one

    text = "\n".join(plan_digest(db, CHAT, now=TODAY, settings=settings).messages())
    assert [n for n in (1, 2, 3, 4) if f"t.me/mod_russia/{n}\"" in text] == [2, 3]


def test_edits_and_deletions_of_the_period_are_listed_and_counted(db, settings):
    reader(db)
    older = YESTERDAY - timedelta(days=2)
    post(db, "mod_russia", 7, AIR.format(n=7), older)
    post(db, "mid_russia", 8, BRIEFING.format(n=8), older)
    previous_digest(db, settings)
    upsert_statement(db, Statement(channel="mod_russia", ext_id="7", message_id=7, text=AIR.format(n=70),
                                   date=older, edit_date=YESTERDAY + timedelta(hours=1)), now=YESTERDAY)
    mark_deleted(db, "mid_russia", ["8"], now=YESTERDAY + timedelta(hours=2))

    messages = plan_digest(db, CHAT, now=TODAY, settings=settings).messages()
    text = strip_tags("\n".join(messages))
    assert "✏️ Edits and deletions\n• edited: Минобороны России, post of 25 Nov 08:00" in text
    assert "• deleted: МИД России, post of 25 Nov 08:00" in text
    assert text.split("\n")[2] == "0 statements · 0 reported · 0 not yet reported · 1 edited · 1 deleted"


def test_paused_alerts_still_get_their_digest(db, settings):
    reader(db)
    update_subscriber(db, CHAT, paused=1)
    post(db, "mod_russia", 1, AIR.format(n=1), YESTERDAY - timedelta(hours=1))
    assert enqueue_digest(db, CHAT, now=YESTERDAY, settings=settings) == 1


def test_an_empty_day_sends_nothing_and_is_not_retried(db, settings):
    reader(db)
    previous_digest(db, settings)
    assert enqueue_digest(db, CHAT, now=TODAY, settings=settings) == 0
    assert digest_texts(db) == []
    assert enqueue_digest(db, CHAT, now=TODAY + timedelta(hours=1), settings=settings) is None


def test_an_empty_day_says_so_when_the_chat_asked_for_it(db, settings):
    reader(db, empty_digest=True)
    previous_digest(db, settings)
    assert enqueue_digest(db, CHAT, now=TODAY, settings=settings) == 1
    assert "Nothing new on what you follow." in digest_texts(db)[-1]


def test_a_day_has_one_digest_and_the_next_starts_where_it_ended(db, settings):
    reader(db)
    post(db, "mod_russia", 1, AIR.format(n=1), YESTERDAY - timedelta(hours=1))
    assert enqueue_digest(db, CHAT, now=YESTERDAY, settings=settings) == 1
    assert enqueue_digest(db, CHAT, now=YESTERDAY + timedelta(minutes=5), settings=settings) is None
    post(db, "mod_russia", 2, AIR.format(n=2), YESTERDAY + timedelta(hours=1))
    assert enqueue_digest(db, CHAT, now=TODAY, settings=settings) == 1
    first, second = digest_texts(db)
    assert "t.me/mod_russia/1\"" in first and "t.me/mod_russia/1\"" not in second
    assert "t.me/mod_russia/2\"" in second
    keys = [row["dedupe_key"] for row in pending_for(db, CHAT)]
    assert keys == [f"digest:{CHAT}:2026-11-27:0", f"digest:{CHAT}:2026-11-28:0"]


def test_with_fewer_than_three_days_of_data_there_is_no_chart(db, settings):
    reader(db)
    post(db, "mod_russia", 1, AIR.format(n=1), YESTERDAY - timedelta(days=1))
    post(db, "mod_russia", 2, AIR.format(n=2), YESTERDAY + timedelta(hours=1))
    plan = plan_digest(db, CHAT, now=TODAY, settings=settings)
    assert plan.digest.chart.days_with_data == 2 and plan.chart is None
    enqueue_digest(db, CHAT, now=TODAY, settings=settings)
    assert [row["photo"] for row in pending_for(db, CHAT)] == [None]


async def test_a_busy_day_digest_reaches_the_chat_through_the_bot_api_with_its_chart(db, db_path, settings,
                                                                                      fake_bot_api):
    reader(db)
    previous_digest(db, settings)
    busy_day(db)
    queued = enqueue_digest(db, CHAT, now=TODAY, settings=settings)
    rows = pending_for(db, CHAT)
    assert len(rows) == queued >= 3
    assert [row["photo"] is not None for row in rows] == [True] + [False] * (queued - 1)  # the chart, once

    store = StoreThread(db_path)
    async with Bot(fake_bot_api.token, base_url=fake_bot_api.base_url) as bot:
        delivery = Delivery(bot, store, DeliveryOptions(limits=Limits().scaled(50), poll_interval=0.02),
                            clock=lambda: TODAY)
        delivery.start()
        try:
            sent = await fake_bot_api.wait_for_messages(CHAT, queued + 1)  # the photo, then each message
        finally:
            await delivery.stop()
            store.close()

    assert (sent[0]["photo"][0]["width"], sent[0]["photo"][0]["height"]) == (720, 360)
    assert fake_bot_api.calls_to("sendPhoto", CHAT)[0].files["photo"] == rows[0]["photo"]
    texts = [m["text"] for m in sent[1:]]
    assert texts[0].startswith("🗞 Your Communique digest\n27 Nov 2026, 08:00 MSK – 28 Nov 2026, 08:00 MSK")
    assert len(structure(texts)) == 52
    assert texts[0].split("\n")[2] == "52 statements · 15 reported · 37 not yet reported · 0 edited · 0 deleted"


def test_the_digest_command_prints_a_dry_run_then_queues_todays_digest_once(db, db_path, capsys):
    from communique.cli import main

    reader(db)
    now = datetime.now(UTC)  # the command reads the real clock
    post(db, "mod_russia", 1, AIR.format(n=1), now - timedelta(hours=1))
    config = str(ROOT / "config" / "communique.toml")
    run = ["--config", config, "digest", "--db", str(db_path), "--chat", str(CHAT)]

    assert main([*run, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "Your Communique digest" in printed and "Дежурными средствами ПВО" in printed
    assert "(https://t.me/mod_russia/1)" in printed and pending_for(db, CHAT) == []

    assert main(run) == 0
    assert f"chat {CHAT}: 1 digest message(s) queued" in capsys.readouterr().out
    assert main(run) == 2
    assert "already had its digest today" in capsys.readouterr().err
    assert main([*run[:-1], "999"]) == 2
    assert "chat 999: no digest (no such subscriber)" in capsys.readouterr().err


def test_a_statement_reposted_by_another_channel_appears_once_with_both_sources(db, settings):
    reader(db)
    text = "Заявление МИД России о переговорах в Стамбуле: следующий раунд пройдёт 3 декабря, делегации согласованы."
    first = post(db, "mid_russia", 700, text, YESTERDAY + timedelta(hours=2))
    post(db, "mod_russia", 701, text, YESTERDAY + timedelta(hours=3))  # a follower of air defence etc. too
    subscribe(db, CHAT, "channel", "mod_russia", now=YESTERDAY)
    report(db, first, "TASS", YESTERDAY + timedelta(hours=2, minutes=10))
    digest = build_digest(db, CHAT, start=YESTERDAY, end=TODAY, settings=settings)
    [entry] = digest.entries
    assert entry.statement["message_id"] == 700
    assert [(title, row["message_id"]) for title, row in entry.reposts] == [("Минобороны России", 701)]
    text = "\n".join(render_digest(digest, ZoneInfo("Europe/Moscow")))
    assert "t.me/mid_russia/700" in text and "t.me/mod_russia/701" in text and "reported by 1 outlet" in text


def test_the_digest_ends_with_the_fastest_outlets_and_the_posts_no_outlet_picked_up(db, settings):
    reader(db)
    previous_digest(db, settings)
    first = post(db, "mod_russia", 11, AIR.format(n=11), YESTERDAY + timedelta(hours=1))
    second = post(db, "mod_russia", 12, AIR.format(n=12), YESTERDAY + timedelta(hours=3))
    post(db, "mod_russia", 13, BALTIC.format(n=13), YESTERDAY + timedelta(hours=4))  # nobody reports these two
    post(db, "mod_russia", 14, AIR.format(n=14), YESTERDAY + timedelta(hours=5))
    report(db, first, "TASS", YESTERDAY + timedelta(hours=1, minutes=10))
    report(db, first, "Reuters", YESTERDAY + timedelta(hours=1, minutes=50))
    report(db, second, "TASS", YESTERDAY + timedelta(hours=3, minutes=30))
    report(db, second, "Reuters", YESTERDAY + timedelta(hours=3, minutes=20))
    report(db, second, "Meduza", YESTERDAY + timedelta(hours=5, minutes=3))

    messages = plan_digest(db, CHAT, now=TODAY, settings=settings).messages()
    section = strip_tags(messages[-1]).split("⏱ Speed of coverage\n")[1]
    assert section.splitlines() == [
        "• Fastest (median time to report): TASS 20 min · Reuters 35 min · Meduza 2 h 03 min",
        "• Not picked up by any outlet: 2 of 4: 27 Nov 12:00 · 27 Nov 13:00"]  # in time order, across topics
    assert '<a href="https://t.me/mod_russia/13">27 Nov 12:00</a>' in messages[-1]
    parse_html(messages[-1])


def test_reports_whose_figures_differ_are_counted_in_the_digest(db, settings):
    reader(db)
    previous_digest(db, settings)
    for n, (figure, outlets) in enumerate(((46, [46, 31]), (38, [38]))):
        sid = post(db, "mod_russia", 6000 + n, AIR.format(n=figure), YESTERDAY + timedelta(hours=1 + n))
        for outlet, reported in zip(("TASS", "Reuters"), outlets, strict=False):
            item = NewsItem(source=outlet, guid=f"{outlet}/{sid}", title=f"{reported} drones downed over Belgorod",
                            text=f"Air defences destroyed {reported} drones over Belgorod and Kursk.", lang="en",
                            url=f"https://{outlet.lower()}.example/{sid}", date=YESTERDAY + timedelta(hours=2 + n))
            save_match(db, sid, upsert_news(db, item, now=TODAY)[0], 0.9, "test", now=TODAY)
    [message] = plan_digest(db, CHAT, now=TODAY, settings=settings).messages()
    text = strip_tags(message)
    assert "2 statements · 2 reported · 0 not yet reported · 0 edited · 0 deleted · 1 report differs" in text
    entries = text.split("⏱ Speed of coverage")[0]
    forty_six, thirty_eight = (line for line in entries.splitlines() if line.startswith("• "))
    assert forty_six.endswith("reported by 2 outlets (first: TASS, +1 h 00 min) · ⚠ 1 report differs")
    assert "differ" not in thirty_eight


def test_an_entry_counts_its_related_reports_apart_from_its_coverage(db, settings):
    reader(db)
    previous_digest(db, settings)
    sid = post(db, "mod_russia", 6100, AIR.format(n=46), YESTERDAY + timedelta(hours=1))
    item = NewsItem(source="Reuters", guid="Reuters/31", title="31 drones downed over Belgorod",
                    text="Air defences destroyed 31 drones over Belgorod and Kursk.", lang="en",
                    url="https://reuters.example/31", date=YESTERDAY + timedelta(hours=2))
    save_related(db, sid, upsert_news(db, item, now=TODAY)[0], 0.5, now=TODAY)
    text = strip_tags(plan_digest(db, CHAT, now=TODAY, settings=settings).messages()[0])
    [entry] = (line for line in text.split("⏱ Speed of coverage")[0].splitlines() if line.startswith("• "))
    assert entry.endswith("not yet reported · 1 related report")
    assert "1 statement · 0 reported · 1 not yet reported" in text
