"""The `communique` command as a user runs it: demo, match, import and friendly errors."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLES, UNOPENABLE_STORES, unopenable_store

from communique.cli import main


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch, tmp_path):
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_ID", "TELEGRAM_API_HASH", "TELEGRAM_SESSION", "COMMUNIQUE_DB",
                 "COMMUNIQUE_CONFIG", "COMMUNIQUE_ENV_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # no user configuration folder
    monkeypatch.chdir(tmp_path)  # no .env, no ./config: the bundled configuration is used


def test_demo_prints_alerts_with_source_and_news_links_and_a_digest(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "https://t.me/mod_russia/" in out
    assert "Reported by" in out
    assert any(f"(https://{outlet}.example/" in out for outlet in ("samplewire", "vesti-sample"))
    assert "No tracked outlet has reported this yet." in out
    # a report with other figures than the statement's is flagged in the alert and counted in the digest
    assert "⚠ reports 130 prisoners (statement: 103)" in out and "· 2 reports differ" in out
    assert "daily digest" in out and "not yet reported" in out
    assert "Going live" in out


def test_match_prints_one_json_line_per_statement_best_first(capsys, tmp_path):
    statements = tmp_path / "s.jsonl"
    news = tmp_path / "n.jsonl"
    statements.write_text(json.dumps({"id": "s1", "text": "Air defences downed 24 drones over Belgorod"}) + "\n"
                          + json.dumps({"id": "s2", "text": "Prisoner exchange: 103 for 103"}) + "\n")
    news.write_text("\n".join(json.dumps(n) for n in [
        {"id": "n1", "title": "24 drones downed over Belgorod region", "text": "Air defences downed 24 drones."},
        {"id": "n2", "title": "Russia and Ukraine exchange 103 prisoners", "text": "A prisoner exchange."},
        {"id": "n3", "title": "Football results", "text": "Scores from the weekend."},
    ]) + "\n")
    assert main(["match", "--statements", str(statements), "--news", str(news), "--top", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["statement_id"] for line in lines] == ["s1", "s2"]
    assert lines[0]["matches"][0]["news_id"] == "n1" and lines[1]["matches"][0]["news_id"] == "n2"
    assert all(0 <= m["score"] <= 1 for line in lines for m in line["matches"])
    assert all(len(line["matches"]) <= 2 for line in lines)


def test_match_says_which_figures_a_report_gives_otherwise(capsys, tmp_path):
    statements = tmp_path / "s.jsonl"
    news = tmp_path / "n.jsonl"
    statements.write_text(json.dumps({"id": "s1", "lang": "ru", "date": "2025-12-06T05:00:00Z", "text":
                                      "Над территориями Белгородской и Курской областей уничтожены 46 украинских "
                                      "беспилотников, сообщает Минобороны."}) + "\n")
    news.write_text("\n".join(json.dumps(n) for n in [
        {"id": "same", "lang": "en", "date": "2025-12-06T07:00:00Z",
         "title": "Russia downs 46 drones over Belgorod and Kursk", "text": "The defence ministry said 46 drones."},
        {"id": "other", "lang": "en", "date": "2025-12-06T08:00:00Z",
         "title": "Russia downs 31 drones over Belgorod and Kursk", "text": "The defence ministry said 31 drones."},
    ]) + "\n")
    assert main(["match", "--statements", str(statements), "--news", str(news)]) == 0
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    differs = {m["news_id"]: m["differs"] for m in line["matches"]}
    assert differs == {"same": [], "other": [{"statement": "46", "report": "31", "kind": "drones"}]}
    related = {m["news_id"]: m["related"] for m in line["matches"]}
    assert related["same"] is False and isinstance(related["other"], bool)  # a report is never related


def test_match_reports_an_invalid_line_with_its_number(capsys, tmp_path):
    statements = tmp_path / "s.jsonl"
    statements.write_text('{"id": "s1", "text": "ok"}\n{"id": "s2", "text": \n')
    assert main(["match", "--statements", str(statements), "--news", str(statements)]) == 2
    assert "s.jsonl: line 2: not valid JSON" in capsys.readouterr().err


def test_import_twice_reports_what_was_added_then_skipped(capsys, tmp_path):
    export = str(SAMPLES / "mod_russia_export" / "result.json")
    assert main(["import", "--db", str(tmp_path / "c.db"), export]) == 0
    assert main(["import", "--db", str(tmp_path / "c.db"), export]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert "14 added, 0 already stored" in first and "0 added, 14 already stored" in second


def test_import_of_an_older_export_says_which_time_zone_it_assumed(capsys, tmp_path):
    export = tmp_path / "result.json"
    export.write_text(json.dumps({"name": "Минобороны России", "type": "public_channel", "id": 1234567890,
                                  "messages": [{"id": 1, "type": "message", "date": "2019-05-01T09:30:00",
                                                "text": "Сводка"}]}), encoding="utf-8")
    assert main(["import", "--db", str(tmp_path / "c.db"), "--tz", "Europe/Kyiv", str(export)]) == 0
    assert "read as Europe/Kyiv time (--tz)" in capsys.readouterr().err
    assert main(["import", "--db", str(tmp_path / "c.db"), "--tz", "Mars/Olympus", str(export)]) == 2
    assert capsys.readouterr().err.strip() == ("communique: error: --tz: is not an IANA time zone such as "
                                               "Europe/Moscow (got 'Mars/Olympus')")


def test_run_without_credentials_names_the_missing_variables_and_points_to_the_demo(capsys):
    assert main(["run", "--db", "x.db"]) == 2
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in err and "communique demo" in err
    assert "Traceback" not in err


def test_a_bad_config_file_exits_with_one_clear_line(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[digest]\ntime = "7 am"\n')
    assert main(["--config", str(bad), "demo"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"communique: error: {bad}: digest.time: must be HH:MM, 24-hour (got '7 am')")


def test_evaluate_prints_the_metrics_overall_and_by_language_pairs(capsys):
    data = SAMPLES.parent.parent / "tests" / "data" / "multilingual"
    assert main(["evaluate", "--statements", str(data / "statements.jsonl"), "--news", str(data / "news.jsonl"),
                 "--qrels", str(data / "qrels.tsv"), "--embeddings", "off"]) == 0
    out = capsys.readouterr().out
    for label in ("recall@1", "recall@5", "MAP@5", "MRR", "same-language", "cross-language", "covered"):
        assert label in out


def test_import_takes_a_language_for_records_without_one_and_refuses_a_bad_code(capsys, tmp_path):
    news = tmp_path / "n.jsonl"
    news.write_text(json.dumps({"id": "n1", "text": "Сбиты 24 беспилотника"}) + "\n", encoding="utf-8")
    assert main(["import", "--db", str(tmp_path / "c.db"), "--as", "news", "--lang", "ru", str(news)]) == 0
    with pytest.raises(SystemExit) as exited:
        main(["import", "--db", str(tmp_path / "c.db"), "--as", "news", "--lang", "russian!", str(news)])
    assert exited.value.code == 2 and "is not a language code" in capsys.readouterr().err



@pytest.mark.parametrize(("where", "problem"), [
    ("missing/communique.db", "the folder {tmp}/missing does not exist"),
    ("folder", "it is a folder"),
    ("garbage.db", "file is not a database"),
])
def test_a_store_that_cannot_be_opened_is_one_line_naming_the_path_and_the_problem(capsys, tmp_path, where, problem):
    (tmp_path / "folder").mkdir()
    (tmp_path / "garbage.db").write_bytes(b"not sqlite " * 200)
    path = tmp_path / where
    assert main(["feeds", "--db", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"communique: error: {path}: cannot open the store "
                                         f"({problem.format(tmp=tmp_path)})"]
    assert "Traceback" not in captured.out + captured.err


@pytest.mark.parametrize("case", UNOPENABLE_STORES)
def test_a_store_that_cannot_be_written_is_one_line_and_exit_2(capsys, tmp_path, case):
    path, problem = unopenable_store(tmp_path, case)
    assert main(["feeds", "--db", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"communique: error: {path}: cannot open the store ({problem})"]
    assert not path.exists()
