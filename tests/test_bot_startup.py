"""Starting the bot: `communique bot`, a configurable Bot API server, clear failures, no token in logs."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from bot_harness import ADMIN, running_bot
from communique.bot.app import BotUnavailable, build_application, delivery_options, serve
from conftest import NOW, ROOT, UNOPENABLE_STORES, unopenable_store
from fakebotapi import FakeBotAPI
from fakebotapi_rules import ApiError

from communique.cli import main
from communique.models import Alert
from communique.settings import Secrets, Settings
from communique.store import StoreThread, outbox
from communique.store.lock import serving

CONFIG = ROOT / "config" / "communique.toml"


def communique(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "COMMUNIQUE_CONFIG": str(CONFIG), **env}
    return subprocess.Popen([sys.executable, "-m", "communique.cli", *args], env=environment, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_communique_bot_serves_through_the_configured_server_and_stops_on_sigterm(
        fake_bot_api: FakeBotAPI, tmp_path: Path) -> None:
    secret = fake_bot_api.token.partition(":")[2]
    env = {"TELEGRAM_BOT_TOKEN": fake_bot_api.token, "TELEGRAM_BOT_API_URL": fake_bot_api.base_url}
    process = communique("--verbose", "bot", "--db", str(tmp_path / "bot.db"), env=env, cwd=tmp_path)
    try:
        fake_bot_api.push_message(4242, "/start")
        deadline = time.monotonic() + 20
        while not fake_bot_api.texts(4242) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake_bot_api.texts(4242)[0].startswith("👋 Communique watches official channels")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert "bot @communique_test_bot is serving" in stderr and "DEBUG" in stderr
    assert secret not in stderr and "Traceback" not in stderr


def test_a_wrong_token_is_one_clear_line_and_a_non_zero_exit(fake_bot_api: FakeBotAPI, tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123456789:AAWrongTokenWrongTokenWrongToken_999", "TELEGRAM_BOT_API_URL":
           fake_bot_api.base_url}
    process = communique("bot", "--db", str(tmp_path / "bot.db"), env=env, cwd=tmp_path)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert stderr.splitlines() == ["communique: error: the Bot API server refused TELEGRAM_BOT_TOKEN (wrong or revoked "
                                   "token; get one from @BotFather)"]
    assert "WrongToken" not in stdout + stderr


def test_without_a_token_the_bot_names_the_missing_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["--config", str(CONFIG), "bot", "--db", str(tmp_path / "bot.db")]) == 2
    assert capsys.readouterr().err.startswith("communique: error: The bot needs TELEGRAM_BOT_TOKEN")


async def test_an_unreachable_server_stops_the_start_with_a_clear_reason(db_path: Path, settings: Settings) -> None:
    port = closed_port()
    store = StoreThread(db_path)
    secrets = Secrets(bot_token="123456789:AAFakeTokenForCommuniqueTests_0123456",
                      bot_api_url=f"http://127.0.0.1:{port}/bot")
    try:
        with pytest.raises(BotUnavailable, match=rf"^cannot reach the Bot API server at http://127.0.0.1:{port}: "):
            await serve(build_application(settings, secrets, store), asyncio.Event())
    finally:
        store.close()


async def test_the_command_menu_is_registered_for_everyone_and_for_admins(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    async with running_bot(fake_bot_api, db_path, settings):
        everyone = [c["command"] for c in fake_bot_api.commands()]
        admins = [c["command"] for c in fake_bot_api.commands({"type": "chat", "chat_id": ADMIN})]
    assert everyone[:4] == ["start", "help", "topics", "subscribe"] and "stats" not in everyone
    assert admins[-9:] == ["channels", "feeds", "stats", "addchannel", "removechannel", "addfeed", "removefeed",
                           "addtopic", "removetopic"]
    assert fake_bot_api.calls_to("setMyDescription") and fake_bot_api.calls_to("setMyShortDescription")


async def test_a_failing_menu_call_is_logged_and_the_bot_serves_anyway(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    fake_bot_api.fail_next(1, ApiError(400, "Bad Request: BOT_COMMAND_INVALID"), method="setMyCommands")
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        [welcome] = await bot.say(4242, "/start")
    assert welcome.startswith("👋")
    assert "could not set the bot's command menu (Bot_command_invalid); serving anyway" in caplog.text


async def test_the_token_never_reaches_the_logs(fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings,
                                                caplog: pytest.LogCaptureFixture) -> None:
    for name in ("telegram", "communique", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    secret = fake_bot_api.token.partition(":")[2]
    fake_bot_api.fail_next(1, ApiError(502, "Bad Gateway"), method="sendMessage", chat_id=4343)
    async with running_bot(fake_bot_api, db_path, settings) as bot:
        await bot.say(4242, "/start")
        await bot.store.run(outbox.enqueue, Alert("alert:x/1", 4343, "Hello"), now=NOW)
        await fake_bot_api.wait_for(lambda: bool(fake_bot_api.texts(4343)), timeout=10)
    assert "Set Bot API URL: http://127.0.0.1" in caplog.text  # PTB logs its URL, token included...
    assert "/bot123456789:<token>" in caplog.text  # ...which the filter rewrote (the bot's id is public)
    assert "will retry" in caplog.text
    assert secret not in caplog.text
    assert not any(secret in (r.exc_text or "") for r in caplog.records)


@pytest.mark.parametrize("case", ["in a missing folder", *UNOPENABLE_STORES])
def test_a_store_that_cannot_be_opened_stops_the_bot_before_it_serves(
        fake_bot_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, case: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake_bot_api.token)
    monkeypatch.setenv("TELEGRAM_BOT_API_URL", fake_bot_api.base_url)
    if case == "in a missing folder":
        path = tmp_path / "missing" / "bot.db"
        problem = f"the folder {path.parent} does not exist"
    else:
        path, problem = unopenable_store(tmp_path, case)
    assert main(["--config", str(CONFIG), "bot", "--db", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"communique: error: {path}: cannot open the store ({problem})"]
    assert "serving" not in caplog.text and fake_bot_api.calls == []


def test_a_second_bot_on_the_same_store_says_so_in_one_line_and_exits(
        fake_bot_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake_bot_api.token)
    monkeypatch.setenv("TELEGRAM_BOT_API_URL", fake_bot_api.base_url)
    path = tmp_path / "bot.db"
    with serving(path):  # the first instance, serving
        assert main(["--config", str(CONFIG), "bot", "--db", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"communique: error: {path}: another communique process is already serving this store "
        f"(it holds {path}.lock); stop it first"]
    assert fake_bot_api.calls == []


async def test_another_instance_polling_the_same_token_stops_the_bot_with_one_clear_line(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    conflict = ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only one bot "
                             "instance is running")
    fake_bot_api.fail_next(1000, conflict, method="getUpdates")  # the other instance keeps polling
    store = StoreThread(db_path)
    secrets = Secrets(bot_token=fake_bot_api.token, bot_api_url=fake_bot_api.base_url)
    try:
        with pytest.raises(BotUnavailable, match=r"^another process is reading this bot's updates \(Telegram "
                                                 r"answered 409 Conflict"):
            await asyncio.wait_for(serve(build_application(settings, secrets, store), asyncio.Event()), 10)
    finally:
        store.close()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_how_long_failing_sends_are_retried_comes_from_the_configuration(settings: Settings) -> None:
    configured = replace(settings, give_up_hours=6)
    assert delivery_options(configured).give_up_after == timedelta(hours=6)
