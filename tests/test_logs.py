"""Logs fit for a service: one plain line per event by default, one JSON object per line with --log-format json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def communique(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HOME": str(cwd), "LANG": "C.UTF-8"}
    return subprocess.run([sys.executable, "-m", "communique.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def test_json_logs_are_one_object_per_line_with_time_level_logger_and_message(tmp_path: Path) -> None:
    Path(tmp_path, ".env").write_text("COMMUNIQUE_DB=store.db\n")
    run = communique("--log-format", "json", "feeds", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    entries = [json.loads(line) for line in run.stderr.splitlines()]
    assert [e["message"] for e in entries] == ["environment file: .env (in the working directory)",
                                               f"configuration: {ROOT}/config/communique.toml (the bundled example; "
                                               "`communique init` writes your own)"]
    for entry in entries:
        assert set(entry) == {"time", "level", "logger", "message"}
        assert entry["level"] == "INFO" and entry["logger"] == "communique" and entry["time"].endswith("+00:00")
    failed = communique("--log-format", "json", "health", "--db", "missing.db", cwd=tmp_path)
    *_, entry = [json.loads(line) for line in failed.stderr.splitlines()]  # after the .env line
    assert failed.returncode == 2 and entry["level"] == "ERROR"
    assert entry["message"] == "missing.db: no store there (set --db or COMMUNIQUE_DB)"


def test_plain_logs_are_one_line_per_event_with_the_level(tmp_path: Path) -> None:
    run = communique("feeds", "--db", "store.db", cwd=tmp_path)
    [line] = run.stderr.splitlines()
    assert " INFO communique: configuration: " in line
    failed = communique("health", "--db", "missing.db", cwd=tmp_path)
    assert failed.stderr == "communique: error: missing.db: no store there (set --db or COMMUNIQUE_DB)\n"


def test_an_expected_failure_is_its_error_alone_without_the_lines_of_what_was_read(tmp_path: Path) -> None:
    Path(tmp_path, ".env").write_text("COMMUNIQUE_DB=store.db\n")
    failed = communique("bot", cwd=tmp_path)
    assert failed.returncode == 2
    assert failed.stderr == ("communique: error: The bot needs TELEGRAM_BOT_TOKEN in the environment or in .env; see "
                             "README.md, 'Going live'. Without credentials, try `communique demo`.\n")
    Path(tmp_path, "bad.toml").write_text("[matching]\nembeddings = \"huge\"\n")
    failed = communique("--config", "bad.toml", "feeds", cwd=tmp_path)
    assert failed.returncode == 2 and failed.stderr.startswith("communique: error: bad.toml: matching.embeddings: ")
    assert len(failed.stderr.splitlines()) == 1


def test_the_lines_of_what_was_read_come_before_the_commands_output(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    run = subprocess.run([sys.executable, "-m", "communique.cli", "feeds", "--db", "store.db"], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    first, second, *_ = run.stdout.splitlines()
    assert " INFO communique: configuration: " in first
    assert second.startswith("Al Jazeera  https://")
