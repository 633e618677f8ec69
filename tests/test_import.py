"""`communique import`: exports, JSON Lines and feeds go in once; a broken file changes nothing."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
from communique.monitors.importing import import_file
from conftest import NOW, SAMPLES

from communique.errors import ImportFormatError
from communique.settings import ChannelConfig

EXPORT = SAMPLES / "mod_russia_export" / "result.json"


def counts(db) -> dict[str, int]:
    return {t: db[t].count for t in ("statements", "statement_versions", "news", "matches", "outbox")}


def test_importing_the_same_export_twice_leaves_the_counts_unchanged(db, settings):
    first = import_file(db, EXPORT, settings, now=NOW)
    before = counts(db)
    second = import_file(db, EXPORT, settings, now=NOW)
    assert first.added > 10 and first.skipped == 0
    assert second.added == 0 and second.skipped == first.added
    assert counts(db) == before


def test_export_posts_link_to_the_configured_channel_and_skip_service_messages(db, settings):
    import_file(db, EXPORT, settings, now=NOW)
    service_ids = {m["id"] for m in json.loads(EXPORT.read_text())["messages"] if m["type"] == "service"}
    urls = [r[0] for r in db.execute("SELECT url FROM statements")]
    assert service_ids and all(u.startswith("https://t.me/mod_russia/") for u in urls)
    assert not {int(u.rsplit("/", 1)[1]) for u in urls} & service_ids


def test_entity_parts_are_flattened_with_their_links(db, settings):
    import_file(db, EXPORT, settings, now=NOW)
    texts = [r[0] for r in db.execute("SELECT text FROM statements")]
    assert any("(https://" in t for t in texts)  # a text_link keeps its address
    assert all(not isinstance(t, list) and "{'type'" not in t for t in texts)


def test_archive_import_does_not_alert_but_alert_import_does(db, settings):
    db["subscribers"].insert({"chat_id": 5, "created_at": NOW.isoformat()})
    db["subscriptions"].insert({"chat_id": 5, "kind": "channel", "value": "mod_russia", "created_at": NOW.isoformat()})
    import_file(db, EXPORT, settings, now=NOW)
    assert db["outbox"].count == 0
    db.execute("DELETE FROM statements_fts")
    for table in ("matches", "statement_versions", "statement_parts", "statements"):
        db.execute(f"DELETE FROM {table}")
    report = import_file(db, EXPORT, settings, now=NOW, alert=True)
    assert report.alerts == report.added == db["outbox"].count


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (lambda text: text[: len(text) // 2], "not valid JSON"),
        (lambda text: "[1, 2, 3]", "not a Telegram Desktop export"),
        (lambda text: text.replace('"id": 1234567890', '"id": "x"', 1), "has no numeric 'id'"),
        (lambda text: json.dumps({"name": "x", "id": 1, "messages": [{"type": "message", "id": 1, "text": 5,
                                                                        "date_unixtime": "1"}]}), "'text' must be"),
    ],
)
def test_a_broken_export_is_named_with_its_problem_and_changes_nothing(db, settings, tmp_path, content, problem):
    broken = tmp_path / "result.json"
    broken.write_text(content(EXPORT.read_text(encoding="utf-8")), encoding="utf-8")
    before = counts(db)
    with pytest.raises(ImportFormatError) as raised:
        import_file(db, broken, settings, now=NOW)
    assert str(broken) in str(raised.value) and problem in str(raised.value)
    assert counts(db) == before


def test_a_truncated_export_says_so(db, settings, tmp_path):
    broken = tmp_path / "result.json"
    broken.write_text(EXPORT.read_text(encoding="utf-8")[:5000], encoding="utf-8")
    with pytest.raises(ImportFormatError, match="looks truncated"):
        import_file(db, broken, settings, now=NOW)


def test_whole_account_exports_are_read_chat_by_chat(db, settings, tmp_path):
    chat = json.loads(EXPORT.read_text(encoding="utf-8"))
    account = tmp_path / "result.json"
    account.write_text(json.dumps({"about": "export", "chats": {"list": [chat]}, "left_chats": {"list": []}}))
    assert import_file(db, account, settings, now=NOW).added == db["statements"].count > 0


def test_json_lines_need_to_say_what_they_hold_and_report_bad_lines(db, settings, tmp_path):
    lines = tmp_path / "statements.jsonl"
    lines.write_text('{"id": "s1", "text": "Заявление", "channel": "mod_russia"}\n{"id": "s2"}\n', encoding="utf-8")
    with pytest.raises(ImportFormatError, match="say which with --as"):
        import_file(db, lines, settings, now=NOW)
    with pytest.raises(ImportFormatError, match=r"line 2: missing field 'text'"):
        import_file(db, lines, settings, now=NOW, as_kind="statements")
    assert db["statements"].count == 0


def test_feeds_import_as_news_with_html_stripped(db, settings, tmp_path):
    report = import_file(db, SAMPLES / "feeds" / "wire_en.xml", settings, now=NOW)
    assert report.kind == "news" and report.added == db["news"].count > 5
    assert not any("<p>" in r[0] or "&amp;" in r[0] for r in db.execute("SELECT text FROM news"))
    page = tmp_path / "page.xml"
    page.write_text("<html><body><p>Not a feed</p></body></html>", encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"page\.xml"):
        import_file(db, page, settings, now=NOW)


def test_a_feed_of_many_distinct_articles_with_alike_headlines_stores_every_one(db, settings, tmp_path):
    entries = "".join(
        f"<item><guid>daily-{n}</guid><title>Air defences shot down {n} drones over the region</title>"
        f"<link>https://wire.example/daily/{n}</link><description>Report {n}.</description>"
        f"<pubDate>Sat, {21 + n % 7} Nov 2026 10:{n % 60:02d}:00 +0000</pubDate></item>" for n in range(300))
    feed = tmp_path / "wire.xml"
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{entries}</channel></rss>',
                    encoding="utf-8")
    report = import_file(db, feed, settings, now=NOW)
    assert (report.added, report.skipped) == (300, 0)
    assert db["news"].count == 300


def meduza_file(tmp_path, *, title: str, self_link: bool, links: bool = True):
    """Meduza's feed (configured as polled) saved to a file: three articles, with or without their links."""
    entries = "".join(
        f'<item><guid isPermaLink="false">m{n}</guid><title>Новость номер {n}</title>'
        + (f"<link>https://meduza.io/news/{n}</link>" if links else "")
        + f"<description>Текст {n}.</description><pubDate>Sat, 28 Nov 2026 1{n}:00:00 +0000</pubDate></item>"
        for n in range(3))
    link = '<atom:link href="https://meduza.io/rss/all" rel="self"/>' if self_link else ""
    feed = tmp_path / "meduza.xml"
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
                    f"<title>{title}</title>{link}{entries}</channel></rss>", encoding="utf-8")
    return feed


def poll_meduza(db, settings, tmp_path, *, links: bool = True):
    """The configured Meduza feed as the poller stores it: under the outlet, in its language."""
    from communique.monitors.feed_parse import parse_feed

    from communique.pipeline import ingest_news

    parsed = parse_feed(meduza_file(tmp_path, title="x", self_link=False, links=links).read_bytes(), outlet="Meduza",
                        feed_url="https://meduza.io/rss/all", language="ru", now=NOW)
    for item in parsed.items:
        ingest_news(db, item, settings=settings, now=NOW)


def test_importing_a_feed_file_that_is_also_polled_adds_nothing(db, settings, tmp_path):
    poll_meduza(db, settings, tmp_path, links=False)
    saved = meduza_file(tmp_path, title="Meduza — все новости", self_link=True, links=False)
    report = import_file(db, saved, settings, now=NOW)
    assert (report.added, report.skipped) == (0, 3)
    assert db.execute("SELECT DISTINCT source, lang FROM news").fetchall() == [("Meduza", "ru")]


def test_a_feed_file_under_another_name_and_without_its_address_is_still_one_row_per_article(db, settings,
                                                                                             tmp_path):
    poll_meduza(db, settings, tmp_path)
    report = import_file(db, meduza_file(tmp_path, title="Медуза: главное", self_link=False), settings, now=NOW)
    assert (report.added, report.skipped) == (0, 3) and db["news"].count == 3


def test_an_imported_feed_takes_the_configured_feeds_outlet_and_language_or_the_one_given(db, settings, tmp_path):
    feed = meduza_file(tmp_path, title="Meduza", self_link=False)
    import_file(db, feed, settings, now=NOW)
    assert db.execute("SELECT DISTINCT source, lang FROM news").fetchall() == [("Meduza", "ru")]
    lines = tmp_path / "news.jsonl"
    lines.write_text('{"id": "n1", "text": "خبر"}\n{"id": "n2", "text": "News", "lang": "en"}\n', encoding="utf-8")
    import_file(db, lines, settings, now=NOW, as_kind="news", lang="ar")
    assert db.execute("SELECT guid, lang FROM news WHERE guid LIKE 'n%' ORDER BY guid").fetchall() == [
        ("n1", "ar"), ("n2", "en")]


def test_an_unknown_file_type_is_refused_by_name(db, settings, tmp_path):
    other = tmp_path / "notes.txt"
    shutil.copy(EXPORT, other)
    with pytest.raises(ImportFormatError, match=r"notes\.txt: unknown file type"):
        import_file(db, other, settings, now=NOW)


# --- which channel an export is, and when its posts were written ---------------------------------------------------


def export_file(tmp_path, *, chat_id: int, name: str, legacy: bool = False, posts: int = 3):
    """A one-channel export; `legacy`: as Telegram Desktop wrote it before 3.x (local times without an offset)."""
    messages = []
    for i in range(1, posts + 1):
        message = {"id": i, "type": "message", "date": f"2026-11-2{i}T10:00:00", "text": f"Сводка номер {i}"}
        if not legacy:
            message["date_unixtime"] = str(1795600000 + i * 86400)
        messages.append(message)
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"name": name, "type": "public_channel", "id": chat_id, "messages": messages},
                               ensure_ascii=False), encoding="utf-8")
    return path


def with_channel(settings, **channel):
    return replace(settings, channels=(*settings.channels, ChannelConfig(**{"language": "tr", **channel})))


def test_an_unwatched_channel_keeps_its_name_and_alerts_say_it(db, settings, tmp_path):
    db["subscribers"].insert({"chat_id": 5, "created_at": NOW.isoformat()})
    db["subscriptions"].insert({"chat_id": 5, "kind": "keyword", "value": "сводка", "created_at": NOW.isoformat()})
    import_file(db, export_file(tmp_path, chat_id=1487851422, name="TR Facts Deals"), settings, now=NOW, alert=True)
    assert {r[0] for r in db.execute("SELECT channel FROM statements")} == {"id:1487851422"}
    alert = db.execute("SELECT text FROM outbox").fetchone()[0]
    assert "TR Facts Deals" in alert and "id:1487851422" not in alert


@pytest.mark.parametrize("configured_id", [-1001487851422, 1487851422])
def test_an_export_is_filed_under_the_channel_configured_with_its_id_and_links_publicly(
        db, settings, tmp_path, configured_id):
    settings = with_channel(settings, username="trfacts", tg_id=configured_id, title="TR Facts")
    import_file(db, export_file(tmp_path, chat_id=1487851422, name="TR Facts Deals"), settings, now=NOW)
    urls = [r[0] for r in db.execute("SELECT url FROM statements WHERE channel = 'trfacts' ORDER BY message_id")]
    assert urls == [f"https://t.me/trfacts/{i}" for i in (1, 2, 3)]


def test_an_export_is_filed_under_the_channel_configured_with_its_name(db, settings, tmp_path):
    settings = with_channel(settings, username="trfacts", tg_id=None, title="TR  facts deals")
    import_file(db, export_file(tmp_path, chat_id=1487851422, name="TR Facts Deals"), settings, now=NOW)
    assert {r[0] for r in db.execute("SELECT channel FROM statements")} == {"trfacts"}


def test_a_legacy_export_id_shifted_by_2_to_the_33_is_mapped_to_the_channel(db, settings, tmp_path):
    legacy = export_file(tmp_path, chat_id=10083966286, name="Official", legacy=True)
    import_file(db, legacy, settings, now=NOW)
    assert {r[0] for r in db.execute("SELECT channel FROM statements")} == {"id:1494031694"}
    watched = with_channel(settings, username="official_ch", tg_id=-1001494031694, title="Official channel")
    import_file(db, legacy, watched, now=NOW, channel=None)
    assert db.execute("SELECT count(*) FROM statements WHERE channel = 'official_ch'").fetchone()[0] == 3


def test_an_older_exports_local_times_are_read_in_the_configured_zone_and_the_import_says_so(db, settings, tmp_path):
    legacy = export_file(tmp_path, chat_id=1487851422, name="TR Facts Deals", legacy=True, posts=1)
    report = import_file(db, legacy, settings, now=NOW)  # config/communique.toml: [digest] timezone Europe/Moscow
    assert db.execute("SELECT date FROM statements").fetchone()[0].startswith("2026-11-21T07:00:00")
    assert any("read as Europe/Moscow time ([digest] timezone)" in w for w in report.warnings)
    report = import_file(db, legacy, settings, now=NOW, tz="Asia/Jerusalem", channel="elsewhere")
    assert db.execute("SELECT date FROM statements WHERE channel = 'elsewhere'").fetchone()[0].startswith(
        "2026-11-21T08:00:00")
    assert any("read as Asia/Jerusalem time (--tz)" in w for w in report.warnings)
    current = export_file(tmp_path, chat_id=1487851422, name="TR Facts Deals")
    assert import_file(db, current, settings, now=NOW).warnings == ()
