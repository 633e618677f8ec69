"""The store: one SQLite file in WAL mode, migrated once, idempotent on natural keys."""

from __future__ import annotations

from datetime import timedelta

from conftest import NOW

from communique.models import Alert, NewsItem, Statement
from communique.store import migrate, open_db, workers
from communique.store import outbox as ob
from communique.store.news import upsert_news
from communique.store.statements import last_message_id, mark_deleted, upsert_statement, versions


def post(message_id: int, text: str, **extra) -> Statement:
    return Statement(channel="mod_russia", ext_id=str(message_id), message_id=message_id, text=text,
                     date=NOW - timedelta(hours=1), **extra)


def test_store_is_a_wal_file_with_its_schema_version(db_path):
    db = open_db(db_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] >= 1
    assert migrate(db) == []  # a second start applies nothing
    db.conn.close()


def test_storing_the_same_post_twice_changes_nothing(db):
    first = upsert_statement(db, post(10, "Сбиты 24 беспилотника"), now=NOW)
    again = upsert_statement(db, post(10, "Сбиты 24 беспилотника"), now=NOW)
    assert (first.outcome, again.outcome) == ("new", "unchanged")
    assert first.id == again.id
    assert db["statements"].count == 1
    assert last_message_id(db, "mod_russia") == 10


def test_a_changed_text_is_an_edit_that_keeps_every_version(db):
    upsert_statement(db, post(11, "Сбиты 24 беспилотника"), now=NOW)
    edited = upsert_statement(db, post(11, "Сбиты 25 беспилотников"), now=NOW + timedelta(minutes=5))
    assert edited.outcome == "edited"
    assert edited.previous_text == "Сбиты 24 беспилотника"
    assert [v["text"] for v in versions(db, edited.id)] == ["Сбиты 24 беспилотника", "Сбиты 25 беспилотников"]


def test_album_parts_become_one_statement(db):
    first = upsert_statement(db, post(20, "Учения на Балтике", grouped_id=777), now=NOW)
    second = upsert_statement(db, post(21, "", grouped_id=777), now=NOW)
    third = upsert_statement(db, post(22, "Фото с полигона", grouped_id=777), now=NOW)
    assert first.id == second.id == third.id
    assert db["statements"].count == 1
    assert db.execute("SELECT text FROM statements").fetchone()[0] == "Учения на Балтике\n\nФото с полигона"


def test_deletion_marks_the_statement_and_keeps_its_text(db):
    stored = upsert_statement(db, post(30, "Заявление"), now=NOW)
    assert mark_deleted(db, "mod_russia", ["30"], now=NOW) == [stored.id]
    row = db.execute("SELECT text, deleted_at FROM statements WHERE id = ?", (stored.id,)).fetchone()
    assert row[0] == "Заявление" and row[1] is not None
    assert mark_deleted(db, "mod_russia", ["30"], now=NOW) == []


def test_an_article_is_stored_once_by_its_outlet_and_guid_or_by_its_url(db):
    item = NewsItem(source="Wire", guid="g1", title="Russia says air defences downed 24 drones overnight",
                    text="...", url="https://wire.example/a", date=NOW)
    assert upsert_news(db, item, now=NOW)[1] is True
    assert upsert_news(db, item, now=NOW)[1] is False
    same_url = NewsItem(source="Wire", guid="g2", title="Other", text="...", url="https://wire.example/a", date=NOW)
    assert upsert_news(db, same_url, now=NOW)[1] is False
    same_url_other_name = NewsItem(source="Wire - Top stories", guid="g9", title="Other", text="...",
                                   url="https://wire.example/a", date=NOW)
    assert upsert_news(db, same_url_other_name, now=NOW)[1] is False
    other_outlet = NewsItem(source="Other", guid="g1", title="x", text="y", date=NOW)
    assert upsert_news(db, other_outlet, now=NOW)[1] is True
    assert db["news"].count == 2


def test_two_daily_reports_with_near_identical_headlines_are_two_articles(db):
    reports = [NewsItem(source="Wire", guid=f"daily-{n}", title=f"Air defences shot down {n} drones over the region",
                        text=f"{n} drones were shot down.", url=f"https://wire.example/daily-{n}",
                        date=NOW + timedelta(days=day)) for day, n in enumerate((12, 47))]
    assert [upsert_news(db, report, now=NOW)[1] for report in reports] == [True, True]
    assert sorted(r[0] for r in db.execute("SELECT title FROM news")) == sorted(r.title for r in reports)
    assert db.execute("SELECT count(*) FROM news WHERE duplicate_of IS NOT NULL").fetchone()[0] == 0


def test_a_near_duplicate_is_stored_beside_the_article_it_copies_and_linked_to_it(db):
    title = "Russia says air defences downed 24 drones overnight"
    original, _ = upsert_news(db, NewsItem(source="Wire", guid="g1", title=title, text="Full story.",
                                           url="https://wire.example/a", date=NOW), now=NOW)
    copies = [
        NewsItem(source="Wire", guid="amp-1", title=title + ".", text="Full story.", url="https://amp.wire.example/a",
                 date=NOW + timedelta(minutes=5)),
        NewsItem(source="Daily", guid="d7", title=title.upper(), text="Wire copy.", url="https://daily.example/7",
                 date=NOW + timedelta(hours=3)),
    ]
    stored = [upsert_news(db, copy, now=NOW) for copy in copies]
    assert all(is_new for _, is_new in stored) and db["news"].count == 3
    linked = db.execute("SELECT id, duplicate_of FROM news WHERE id != ? ORDER BY id", (original,)).fetchall()
    assert linked == [(news_id, original) for news_id, _ in stored]
    assert db.execute("SELECT text FROM news WHERE id = ?", (original,)).fetchone()[0] == "Full story."
    plan = db.execute("EXPLAIN QUERY PLAN SELECT id FROM news WHERE title_key = ? AND date BETWEEN ? AND ?",
                      ("x", "a", "b")).fetchall()
    assert "news_title_key" in str(plan)  # found through the index, not by reading the outlet's items


def test_outbox_holds_one_row_per_event_and_chat_and_claims_each_once(db):
    alert = Alert("alert:mod_russia/1", 42, "<b>hi</b>")
    assert ob.enqueue(db, alert, now=NOW) is True
    assert ob.enqueue(db, alert, now=NOW) is False
    workers.renew(db, "worker-a", NOW + timedelta(seconds=30))
    first = ob.claim(db, "worker-a", now=NOW)
    assert [r["chat_id"] for r in first] == [42]
    assert ob.claim(db, "worker-b", now=NOW) == []  # already being sent by worker-a, alive
    taken_over = ob.claim(db, "worker-b", now=NOW + timedelta(minutes=1))  # worker-a died: its lease ran out
    assert [r["id"] for r in taken_over] == [first[0]["id"]]
    ob.mark_sent(db, first[0]["id"], [1001], now=NOW)
    assert ob.claim(db, "worker-c", now=NOW + timedelta(hours=1)) == []


def test_a_group_upgraded_to_a_supergroup_keeps_its_subscriptions_and_pending_alerts(db):
    from communique.store.subscribers import ensure_subscriber, migrate_chat, subscribe, subscriptions_of

    ensure_subscriber(db, -100, now=NOW, chat_type="group", title="Desk")
    subscribe(db, -100, "topic", "syria", now=NOW)
    ob.enqueue(db, Alert("alert:mod_russia/1", -100, "text"), now=NOW)
    migrate_chat(db, -100, -1009)
    assert [(s.kind, s.value) for s in subscriptions_of(db, -1009)] == [("topic", "syria")]
    assert db.execute("SELECT chat_type, title FROM subscribers WHERE chat_id = -1009").fetchone() == ("supergroup",
                                                                                                        "Desk")
    assert db.execute("SELECT count(*) FROM subscribers WHERE chat_id = -100").fetchone()[0] == 0
    assert [r["chat_id"] for r in ob.pending_for(db)] == [-1009]


def test_indexes_built_by_another_normaliser_are_rebuilt_when_the_store_opens(db_path):
    from communique.store.index_state import fingerprint

    db = open_db(db_path)
    upsert_statement(db, post(40, "Над Белгородской областью сбиты 24 беспилотника"), now=NOW)
    upsert_news(db, NewsItem(source="Wire", guid="g", title="Belgorod", text="24 drones", date=NOW), now=NOW)
    db.execute("UPDATE statements_fts SET terms = 'stale'")  # as an older normaliser might have left it
    db.execute("UPDATE meta SET value = 'older' WHERE key = 'index_fingerprint'")
    db.conn.close()
    db = open_db(db_path)
    assert db.execute("SELECT value FROM meta WHERE key = 'index_fingerprint'").fetchone()[0] == fingerprint()
    assert "белгородск" in db.execute("SELECT terms FROM statements_fts").fetchone()[0]
    assert db.execute("SELECT count(*) FROM news_fts").fetchone()[0] == 1
    db.conn.close()
