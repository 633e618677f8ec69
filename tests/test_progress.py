"""Long work shows its progress on stderr: a bar with count and rate on a terminal, one summary line when piped,
and never anything on stdout, so that JSON output stays parseable."""

from __future__ import annotations

import io
import json
import re

from communique.monitors.importing import import_file
from conftest import NOW

from communique.cli import main
from communique.progress import Progress

BAR_CONTROLS = re.compile(r"[\r\x1b]")


def news_file(tmp_path, count: int):
    path = tmp_path / "news.jsonl"
    path.write_text("".join(json.dumps({"id": f"n{n}", "text": f"Report {n}: air defences downed {n} drones",
                                        "source": "Wire", "date": "2026-11-28T10:00:00Z"}) + "\n"
                            for n in range(count)), encoding="utf-8")
    return path


def test_a_piped_import_prints_its_report_on_stdout_and_one_summary_line_on_stderr(capsys, tmp_path):
    path = news_file(tmp_path, 300)
    assert main(["import", "--db", str(tmp_path / "c.db"), "--as", "news", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{path}: news: 300 added, 0 already stored\n"
    assert re.fullmatch(r"records imported: 300 in [0-9.]+ s( \([0-9,]+/s\))?\n", captured.err), captured.err
    assert not BAR_CONTROLS.search(captured.err)


def test_on_a_terminal_an_import_shows_a_bar_with_the_count_and_the_rate(db, settings, tmp_path):
    terminal = io.StringIO()
    with Progress(terminal, live=True) as progress:
        import_file(db, news_file(tmp_path, 300), settings, now=NOW, as_kind="news", progress=progress)
    shown = terminal.getvalue()
    assert "records imported: 100%" in shown and "300/300" in shown
    assert re.search(r"[0-9.]+/s\]", shown), shown
    assert "\r" in shown  # redrawn in place


def test_work_that_fails_halfway_leaves_no_summary_and_clears_its_bar():
    piped, terminal = io.StringIO(), io.StringIO()
    for stream, live in ((piped, False), (terminal, True)):
        try:
            with Progress(stream, live=live) as progress:
                progress(5, 10, "records imported")
                raise ValueError("a broken record")
        except ValueError:
            pass
    assert piped.getvalue() == ""
    assert terminal.getvalue().endswith("\r")  # the bar's line is cleared, so the error starts a clean line


def test_match_writes_only_json_lines_on_stdout_and_its_progress_on_stderr(capsys, tmp_path):
    statements = tmp_path / "s.jsonl"
    statements.write_text("".join(json.dumps({"id": f"s{n}", "text": f"Air defences downed {n} drones"}) + "\n"
                                  for n in range(20)), encoding="utf-8")
    assert main(["match", "--statements", str(statements), "--news", str(news_file(tmp_path, 50))]) == 0
    captured = capsys.readouterr()
    results = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["statement_id"] for r in results] == [f"s{n}" for n in range(20)]
    summary = r"in [0-9.]+ s( \([0-9,]+/s\))?\n"  # the embedding (on by default) embeds both sides first
    assert re.fullmatch(rf"news items embedded: 50 {summary}statements embedded: 20 {summary}"
                        rf"statements matched: 20 {summary}", captured.err), captured.err
