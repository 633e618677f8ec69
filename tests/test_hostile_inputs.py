"""Hostile and broken inputs: each is one line naming the file, the line and the problem, then exit 2;
a closed output pipe ends a command quietly.  Never a traceback, and the store is left unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from communique.monitors.feed_parse import parse_feed
from communique.monitors.importing import import_file
from conftest import NOW, ROOT

from communique.cli import main
from communique.errors import ImportFormatError


@pytest.fixture(autouse=True)
def no_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("COMMUNIQUE_DB", raising=False)
    monkeypatch.chdir(tmp_path)


def run_import(capsys, tmp_path, line: str, *, kind: str = "statements") -> str:
    """Import a one-line JSON Lines file; returns what was printed to stderr, after checking the exit status."""
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    assert main(["import", "--db", str(tmp_path / "c.db"), "--as", kind, str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("date", "problem"),
    [
        ("1e20", "out of range"),
        ("Infinity", "Infinity is not a JSON number"),
        ('"9999-12-31"', "9999-12-31 is out of range"),
        ('"0001-01-01"', "0001-01-01 is out of range"),
    ],
)
def test_an_impossible_date_is_one_line_naming_file_and_line(capsys, tmp_path, date, problem):
    err = run_import(capsys, tmp_path, f'{{"id": "1", "text": "x", "channel": "mod_russia", "date": {date}}}')
    assert "bad.jsonl: line 1:" in err and problem in err


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ('{"id": 12345678901234567890, "text": "x", "channel": "mod_russia"}', "too large for a message id"),
        ('{"id": "12345678901234567890", "text": "x", "channel": "mod_russia"}', "too large for a message id"),
        ('{"id": ' + "9" * 5000 + ', "text": "x"}', "not valid JSON (Exceeds the limit"),
        ('{"id": "1", "text": "a\\ud800b", "channel": "mod_russia"}', "field 'text' holds a lone surrogate"),
        ('{"id": "1", "text": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ],
)
def test_an_unusable_id_or_text_is_one_line_naming_file_and_line(capsys, tmp_path, record, problem):
    assert problem in run_import(capsys, tmp_path, record)


def test_an_id_in_digits_that_are_not_ascii_is_a_name_not_a_post_number(db, settings, tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "²", "text": "x", "channel": "mod_russia"}\n', encoding="utf-8")
    assert import_file(db, path, settings, now=NOW, as_kind="statements").added == 1
    assert db.execute("SELECT ext_id, message_id FROM statements").fetchall() == [("²", None)]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"date_unixtime": "100000000000000000000"}, "unreadable 'date'"),
        ({"date_unixtime": None, "date": "0001-01-01T00:00:00"}, "0001-01-01 is out of range"),
        ({"id": 10**30}, "missing numeric 'id'"),
        ({"text": "a\ud800b"}, "lone surrogate"),
    ],
)
def test_an_export_message_with_an_impossible_date_id_or_text_is_named(db, settings, tmp_path, change, problem):
    message = {"id": 1, "type": "message", "date": "2026-11-28T10:00:00", "date_unixtime": "1795860000",
               "text": "Заявление", **change}
    export = tmp_path / "result.json"
    export.write_text(json.dumps({"name": "x", "type": "public_channel", "id": 1, "messages": [message]}))
    with pytest.raises(ImportFormatError, match=problem):
        import_file(db, export, settings, now=NOW)
    assert db["statements"].count == 0


def test_a_deeply_nested_export_is_named_not_a_recursion_error(db, settings, tmp_path):
    export = tmp_path / "result.json"
    export.write_text('{"messages": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ImportFormatError, match="nested too deeply"):
        import_file(db, export, settings, now=NOW)


def test_a_feed_entry_dated_in_year_one_is_dated_when_seen_and_matched_without_overflow(db, settings, tmp_path):
    feed = tmp_path / "wire.xml"
    feed.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><item><guid>1</guid>'
                    "<title>Air defences downed 24 drones over Belgorod</title>"
                    "<pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate></item></channel></rss>", encoding="utf-8")
    parsed = parse_feed(feed.read_bytes(), outlet="Wire", feed_url=str(feed), now=NOW)
    assert parsed.items[0].date == NOW
    assert parsed.warnings == [f"{feed}: entry 1 is dated 0001-01-01, which cannot be; dated by when it was seen "
                               "instead"]
    assert import_file(db, feed, settings, now=NOW).added == 1


@pytest.mark.parametrize("command", [["feeds"],
                                     ["match", "--statements", "s.jsonl", "--news", "s.jsonl", "--embeddings", "off"]])
def test_a_closed_output_pipe_ends_the_command_quietly(tmp_path, command):
    (tmp_path / "s.jsonl").write_text("".join(json.dumps({"id": f"s{n}", "text": f"Statement {n}"}) + "\n"
                                              for n in range(50)))
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head` does once it has read enough
    env = {**os.environ, "COMMUNIQUE_DB": str(tmp_path / "c.db")}
    done = subprocess.run([sys.executable, "-m", "communique.cli", "--config", str(ROOT / "config" / "communique.toml"),
                           *command], stdout=write_end, stderr=subprocess.PIPE, cwd=tmp_path, env=env, timeout=120)
    os.close(write_end)
    logged = [line.split(" ", 2)[2] for line in done.stderr.decode().splitlines()]  # no error, no traceback
    configured = command[0] == "feeds"  # `match` reads no configuration
    assert logged == [f"INFO communique: configuration: {ROOT}/config/communique.toml (--config)"] * configured
    assert done.returncode == 141


@pytest.mark.parametrize(
    ("record", "kind", "problem"),
    [
        ('{"id": "1", "text": "x", "channel": "mod_russia", "url": "javascript:alert(1)"}', "statements",
         "field 'url': 'javascript:alert(1)' is not an http(s) link"),
        ('{"id": "1", "text": "x", "url": "data:text/html,<script>alert(1)</script>"}', "news", "not an http(s) link"),
        ('{"id": "1", "text": "x", "channel": "<b>mod</b>"}', "statements", "is not a Telegram username"),
        ('{"id": "1", "text": "x", "channel": "mod russia"}', "statements", "is not a Telegram username"),
    ],
)
def test_a_link_that_is_not_http_or_a_channel_that_is_no_username_is_refused(capsys, tmp_path, record, kind,
                                                                              problem):
    err = run_import(capsys, tmp_path, record, kind=kind)
    assert "bad.jsonl: line 1: " in err and problem in err


def test_a_numeric_channel_is_keyed_by_its_id(db, settings, tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "7", "text": "x", "channel": "-1001234567890"}\n', encoding="utf-8")
    import_file(db, path, settings, now=NOW, as_kind="statements")
    assert db.execute("SELECT channel, url FROM statements").fetchall() == [("id:1234567890", "https://t.me/c/1234567890/7")]


def test_a_feed_link_that_is_not_http_is_dropped_and_no_message_links_to_one():
    from communique.messages import link

    doc = ('<rss version="2.0"><channel><title>W</title><item><guid>1</guid><title>T</title>'
           "<link>javascript:alert(1)</link></item></channel></rss>")
    assert parse_feed(doc, outlet="W", feed_url="u", now=NOW).items[0].url is None
    assert link("javascript:alert(1)", "Source post") == "Source post"
    assert link("https://t.me/mod_russia/1", "Source post") == '<a href="https://t.me/mod_russia/1">Source post</a>'


def test_a_huge_text_is_cut_at_the_cap_with_a_note_and_the_summary_says_so(db, settings, tmp_path):
    from communique.inputs import MAX_NEWS_TEXT, MAX_STATEMENT_TEXT

    news = tmp_path / "n.jsonl"
    news.write_text(json.dumps({"id": "n1", "text": "word " * 40_000}) + "\n"
                    + json.dumps({"id": "n2", "text": "short"}) + "\n", encoding="utf-8")
    report = import_file(db, news, settings, now=NOW, as_kind="news")
    assert report.line().endswith("2 added, 0 already stored, 1 text(s) truncated to 32,768 characters")
    stored = db.execute("SELECT text FROM news WHERE guid = 'n1'").fetchone()[0]
    assert len(stored) <= MAX_NEWS_TEXT and stored.endswith("word […]")

    message = {"id": 1, "type": "message", "date_unixtime": "1795860000", "text": "Заявление " * 3000}
    export = tmp_path / "result.json"
    export.write_text(json.dumps({"name": "x", "type": "public_channel", "id": 1, "messages": [message]}))
    assert "1 text(s) truncated to 16,384 characters" in import_file(db, export, settings, now=NOW).line()
    assert len(db.execute("SELECT text FROM statements").fetchone()[0]) <= MAX_STATEMENT_TEXT


def test_a_line_over_a_megabyte_is_refused_without_being_read_whole(capsys, tmp_path):
    err = run_import(capsys, tmp_path, json.dumps({"id": "1", "text": "x" * 2_000_000}), kind="news")
    assert "bad.jsonl: line 1: longer than 1,048,576 characters" in err
