"""`communique export` and /export: statements with their edits, deletions and reports, read back from each file."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bot_harness import running_bot
from demo_store import PERIOD, build_demo_store
from fakebotapi import RateLimits
from openpyxl import load_workbook

from communique.cli import main
from communique.models import NewsItem, Statement
from communique.store import open_db
from communique.store.matches import save_match
from communique.store.news import upsert_news
from communique.store.statements import mark_deleted, upsert_statement
from communique.store.subscribers import ensure_subscriber, subscribe

EDITED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
DELETED = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
HOSTILE = '=HYPERLINK("https://evil.example","click")\x07 and more'


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """The demo's store, with one post edited, one deleted, and one whose text a spreadsheet would run."""
    path = build_demo_store(tmp_path_factory.mktemp("demo") / "demo.db")
    db = open_db(path)
    row = db.execute("SELECT date, text FROM statements WHERE ext_id = '41206'").fetchone()
    posted = datetime.fromisoformat(row[0])
    upsert_statement(db, Statement(channel="mod_russia", ext_id="41206", message_id=41206, date=posted,
                                   text=row[1].replace("17", "19"), edit_date=EDITED), now=EDITED)
    mark_deleted(db, "mod_russia", ["41211"], now=DELETED)
    upsert_statement(db, Statement(channel="mod_russia", ext_id="41216", message_id=41216, text=HOSTILE,
                                   date=datetime(2026, 11, 28, 18, 0, tzinfo=UTC)), now=DELETED)
    db.conn.commit()
    db.conn.close()
    return path


def export(demo_db: Path, tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"export.{fmt}"
    assert main(["export", "--db", str(demo_db), *PERIOD, "--format", fmt, "-o", str(out), *extra]) == 0
    return out


def test_jsonl_has_one_nested_record_per_statement_with_permalink_edits_deletions_and_reports(demo_db, tmp_path):
    records = [json.loads(line) for line in export(demo_db, tmp_path, "jsonl").read_text("utf-8").splitlines()]
    assert len(records) == 15
    first = records[0]
    assert (first["url"], first["posted_at"], first["channel"], first["channel_title"]) == (
        "https://t.me/mod_russia/41201", "2026-11-26T04:05:12+00:00", "mod_russia", "Минобороны России")
    assert first["text"].startswith("В течение прошедшей ночи")
    assert first["edited_at"] == "2026-11-26T04:19:40+00:00" and first["edits"] == []  # read already edited
    assert [(r["outlet"], r["language"], r["minutes_after_post"], r["differs"]) for r in first["reports"]] == [
        ("Вести-Образец: новости", "ru", 20, []), ("Sample Wire", "en", 45, []), ("Sample Wire عربي", "ar", 75, [])]
    assert first["reports"][0] | {"score": None} == {
        "outlet": "Вести-Образец: новости", "url": "https://vesti-sample.example/news/1108561",
        "title": "Над четырьмя регионами России ночью сбиты 24 беспилотника", "language": "ru",
        "published_at": "2026-11-26T04:25:00+00:00", "minutes_after_post": 20, "score": None, "differs": [],
        "via": None}
    assert first["reports"][0]["score"] >= 0.8
    edited = next(r for r in records if r["url"].endswith("/41206"))
    assert [(e["version"], e["at"]) for e in edited["edits"]] == [(2, "2026-11-27T10:00:00+00:00")]
    assert "19" in edited["edits"][0]["text"] and "17" in edited["original_text"]
    exchange = [r for record in records for r in record["reports"] if r["differs"]]
    assert [r["differs"] for r in exchange] == [  # the post edited to 19 now differs from its report of 17
        [{"statement": "19", "report": "17", "kind": "drones"}],
        [{"statement": "103", "report": "130", "kind": "prisoners"}],  # the exchange, in Russian and in English
        [{"statement": "103", "report": "130", "kind": "prisoners"}]]
    related = {x["outlet"]: x["differs"] for r in records if r["url"] == "https://t.me/mod_russia/41206"
               for x in r["related"]}
    assert related["Вести-Образец: новости"] == [  # the next night's count
        {"statement": "19", "report": "38", "kind": "drones"},
        {"statement": "Belgorod, Kursk", "report": "Belgorod, Kursk, Bryansk", "kind": "place"}]
    for record in records:  # an item reports a statement or is related to it, never both
        assert not {x["url"] for x in record["related"]} & {x["url"] for x in record["reports"]}
    deleted = next(r for r in records if r["url"].endswith("/41211"))
    assert deleted["deleted_at"] == "2026-11-28T20:00:00+00:00"
    assert deleted["deletions"] == [{"message_id": "41211", "at": "2026-11-28T20:00:00+00:00"}]


def jsonl_records(demo_db: Path, tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in export(demo_db, tmp_path, "jsonl").read_text("utf-8").splitlines()]


def test_csv_has_a_row_per_statement_and_report_that_a_spreadsheet_opens_safely(demo_db, tmp_path):
    raw = export(demo_db, tmp_path, "csv").read_bytes()
    assert raw.startswith("\ufeff".encode())  # Excel reads the Cyrillic and Arabic as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    # A row for each report and each related item, and one for a statement with neither.
    assert len(rows) == sum(max(1, len(r["reports"]) + len(r["related"])) for r in jsonl_records(demo_db, tmp_path))
    first = [r for r in rows if r["post_url"] == "https://t.me/mod_russia/41201"]
    assert [(r["outlet"], r["minutes_after_post"], r["relation"]) for r in first][:5] == [
        ("Вести-Образец: новости", "20", "report"), ("Sample Wire", "45", "report"),
        ("Sample Wire عربي", "75", "report"), ("Sample Wire", "1490", "related"),  # the next night's 17 drones
        ("Вести-Образец: новости", "2895", "related")]
    [unreported] = [r for r in rows if r["post_url"] == "https://t.me/mod_russia/41205"]
    assert unreported["outlet"] == unreported["report_url"] == unreported["relation"] == ""
    [only_related] = [r for r in rows if r["post_url"] == "https://t.me/mod_russia/41204"]
    assert only_related["relation"] == "related"
    assert only_related["differs"] == "report 3 December (statement: 26 November)"
    edited, *others = [r for r in rows if r["post_url"] == "https://t.me/mod_russia/41206"]
    assert (edited["relation"], {r["relation"] for r in others}) == ("report", {"related"})  # and later nights' counts
    assert (edited["edits"], edited["edited_at"]) == ("v2 2026-11-27T10:00:00+00:00", "2026-11-27T10:00:00+00:00")
    [deleted] = [r for r in rows if r["post_url"] == "https://t.me/mod_russia/41211"]
    assert deleted["deleted_at"] == "2026-11-28T20:00:00+00:00"
    [hostile] = [r for r in rows if r["post_url"] == "https://t.me/mod_russia/41216"]
    assert hostile["text"] == "'" + HOSTILE  # shown as text, never run as a formula


def test_xlsx_has_statements_reports_and_changes_sheets_with_times_links_and_no_formulas(demo_db, tmp_path):
    book = load_workbook(export(demo_db, tmp_path, "xlsx"))
    assert book.sheetnames == ["Statements", "Reports", "Edits and deletions"]
    statements = list(book["Statements"].iter_rows(values_only=True))
    assert statements[0][:5] == ("statement id", "posted (UTC)", "channel", "channel title", "post")
    assert len(statements) == 1 + 15
    assert statements[1][1] == datetime(2026, 11, 26, 4, 5, 12)  # a date cell, UTC
    assert statements[1][7:11] == (3, 3, 20, "ar en ru")  # reports, outlets, first report (min), languages
    assert book["Statements"]["E2"].hyperlink.target == "https://t.me/mod_russia/41201"
    hostile = next(row for row in book["Statements"].iter_rows() if row[4].value.endswith("/41216"))
    assert hostile[5].data_type == "s" and hostile[5].value == HOSTILE.replace("\x07", "")
    records = jsonl_records(demo_db, tmp_path)
    assert statements[0][-1] == "related" and statements[1][-1] == len(records[0]["related"]) >= 2
    reports = list(book["Reports"].iter_rows(values_only=True))
    assert len(reports) == 1 + sum(len(r["reports"]) + len(r["related"]) for r in records)
    assert reports[0][-2:] == ("relation", "via") and reports[1][-2] == "report" and reports[4][-2] == "related"
    assert reports[1][2:8] == ("Вести-Образец: новости", "https://vesti-sample.example/news/1108561",
                               "Над четырьмя регионами России ночью сбиты 24 беспилотника", "ru",
                               datetime(2026, 11, 26, 4, 25), 20)
    changes = list(book["Edits and deletions"].iter_rows(values_only=True))[1:]
    assert [(row[1], row[2], row[3]) for row in changes] == [
        ("https://t.me/mod_russia/41206", "original text", datetime(2026, 11, 27, 3, 48, 55)),
        ("https://t.me/mod_russia/41206", "edit (version 2)", datetime(2026, 11, 27, 10, 0)),
        ("https://t.me/mod_russia/41211", "message 41211 deleted", datetime(2026, 11, 28, 20, 0))]


def test_export_takes_a_channel_and_says_plainly_what_it_cannot_do(demo_db, tmp_path, capsys):
    assert main(["export", "--db", str(demo_db), *PERIOD, "--format", "jsonl", "--channel", "@MID_Russia"]) == 0
    assert capsys.readouterr().out == ""  # the demo has posts of @mod_russia only
    assert main(["export", "--db", str(demo_db), *PERIOD, "--format", "xlsx"]) == 2
    assert capsys.readouterr().err == ("communique: error: export: --format xlsx needs -o PATH "
                                       "(a workbook is not for the terminal)\n")
    assert main(["export", "--db", str(demo_db), *PERIOD, "-o", str(tmp_path / "missing" / "x.csv")]) == 2
    assert "x.csv: cannot write (No such file or directory)" in capsys.readouterr().err


async def test_export_in_the_chat_sends_its_followed_statements_as_a_file(fake_bot_api, db, db_path, settings):
    reader, other = 4242, 4343
    now = datetime.now(UTC).replace(microsecond=0)
    for chat_id, follows in ((reader, "mod_russia"), (other, "mid_russia")):
        ensure_subscriber(db, chat_id, now=now)
        subscribe(db, chat_id, "channel", follows, now=now)
    for n, channel in ((1, "mod_russia"), (2, "mid_russia"), (3, "mod_russia")):
        posted = now - timedelta(days=n)
        sid = upsert_statement(db, Statement(channel=channel, ext_id=str(n), message_id=n, date=posted,
                                             text=f"Заявление номер {n}"), now=posted).id
        if n == 1:
            item = NewsItem(source="Meduza", guid="1", title="Report", text="...", lang="ru",
                            url="https://meduza.example/1", date=posted + timedelta(minutes=12))
            save_match(db, sid, upsert_news(db, item, now=now)[0], 0.9, "lexical", now=now)
    db.conn.commit()
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        [caption] = await bot.say(reader, "/export 7d csv")
        [document] = fake_bot_api.calls_to("sendDocument", reader)
        await bot.say(reader, "/export")  # a week, as a workbook
        workbook = fake_bot_api.calls_to("sendDocument", reader)[1].files["document"]
        [problem] = await bot.say(reader, "/export 200d")
        [nothing] = await bot.say(reader, "/export 12h")
    assert caption.startswith("2 statements and 1 report, posted ") and caption.endswith(" UTC. Times are UTC.")
    rows = list(csv.DictReader(io.StringIO(document.files["document"].decode("utf-8-sig"), newline="")))
    assert [(r["post_url"], r["outlet"], r["minutes_after_post"]) for r in rows] == [
        ("https://t.me/mod_russia/3", "", ""), ("https://t.me/mod_russia/1", "Meduza", "12")]  # not @mid_russia's
    posts = [row[4] for row in load_workbook(io.BytesIO(workbook))["Statements"].iter_rows(min_row=2, values_only=True)]
    assert posts == ["https://t.me/mod_russia/3", "https://t.me/mod_russia/1"]
    assert problem.split("\n") == ["“200d” is more than 92 days; ask for a shorter period",
                                   "Usage: /export [7d | DATE] [xlsx | csv | jsonl]", "Example: /export 7d csv"]
    assert nothing.startswith("Nothing to export: no statement that this chat follows was posted ")
    assert fake_bot_api.rate_violations(RateLimits().scaled(10)) == []  # the file waited its turn like a reply
