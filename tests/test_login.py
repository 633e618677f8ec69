"""`communique login` and what happens without a usable Telethon session.

The login talks to `FakeTelegram`'s login server (the code Telegram sent, and a two-step
password checked with real SRP); sessions are real Telethon session files and strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from communique.monitors.main import keep_watching
from communique.monitors.session import SessionProblem, build_client, open_session, require_authorized, run_login
from communique.monitors.telethon_monitor import TelethonMonitor
from faketelegram import FakeTelegram, LoginServer, offline  # noqa: F401 (fixture)
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

from communique import cli
from communique.errors import MissingCredentials
from communique.settings import Secrets, Settings, parse_settings
from communique.store import StoreThread

pytestmark = pytest.mark.usefixtures("offline")
SECRETS = Secrets(api_id=12345, api_hash="0123456789abcdef")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return parse_settings({"monitor": {"session": str(tmp_path / "analyst")},
                           "channel": [{"username": "mod_russia", "title": "Минобороны России"}]})


class Terminal:
    """Answers prompts in order and keeps everything said, like a person at the keyboard."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.said: list[str] = []

    def ask(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.answers.pop(0)

    def say(self, text: str) -> None:
        self.said.append(text)


def telegram_for_login(**login: Any) -> type[FakeTelegram]:
    """A client class whose Telegram expects this phone, code and password."""

    class Client(FakeTelegram):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            LoginServer(self, **login)

    return Client


async def login(settings: Settings, terminal: Terminal, client_class: type[FakeTelegram], *,
                secrets: Secrets = SECRETS, string_session: bool = False) -> None:
    await run_login(settings, secrets, string_session=string_session, ask=terminal.ask, ask_secret=terminal.ask,
                    say=terminal.say, client_class=client_class)


async def test_login_asks_phone_code_and_two_step_password_and_saves_the_session_file(
        settings: Settings, tmp_path: Path) -> None:
    terminal = Terminal("+7 999 000 0000", "12345", "wrong horse", "correct horse battery")
    await login(settings, terminal, telegram_for_login(phone="79990000000", code="12345",
                                                       password="correct horse battery"))
    assert [p.split(" (")[0].split(",")[0] for p in terminal.prompts] == [
        "Phone number", "Login code Telegram sent you: ", "Two-step verification password: ",
        "Two-step verification password: "]
    assert terminal.said == [
        "This account has two-step verification.",
        "Wrong password; try again.",
        f"Logged in as Analyst. Session saved to {tmp_path / 'analyst.session'}; keep this file private.",
    ]
    session = open_session(settings, Secrets())
    assert session.auth_key is not None and session.dc_id == 2


async def test_a_mistyped_phone_or_code_is_asked_again_with_a_reason(settings: Settings) -> None:
    terminal = Terminal("12", "+79990000000", "11111", "54321")
    await login(settings, terminal, telegram_for_login(phone="79990000000", code="54321"))
    assert terminal.said[:2] == ["Telegram does not accept this phone number; type it with its country code.",
                                 "That code is not right; type the digits Telegram sent."]
    assert terminal.said[-1].startswith("Logged in as Analyst.")


async def test_three_wrong_passwords_end_the_login_with_nothing_saved(settings: Settings) -> None:
    terminal = Terminal("+79990000000", "54321", "a", "b", "c")
    with pytest.raises(SessionProblem, match="wrong two-step password 3 times; nothing was saved"):
        await login(settings, terminal, telegram_for_login(phone="79990000000", code="54321", password="secret"))


async def test_login_string_prints_a_session_for_telegram_session(settings: Settings, tmp_path: Path) -> None:
    terminal = Terminal("+79990000000", "54321")
    await login(settings, terminal, telegram_for_login(phone="79990000000", code="54321"), string_session=True)
    assert terminal.said[0] == "Logged in as Analyst. Set this as TELEGRAM_SESSION (it is a login: keep it secret):"
    assert StringSession(terminal.said[1]).auth_key is not None
    assert not (tmp_path / "analyst.session").exists()


async def test_login_needs_the_api_credentials(settings: Settings) -> None:
    with pytest.raises(MissingCredentials, match="TELEGRAM_API_ID, TELEGRAM_API_HASH"):
        await login(settings, Terminal(), FakeTelegram, secrets=Secrets())


def test_monitor_without_a_session_says_to_log_in(settings: Settings, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "communique.toml"
    config.write_text(f'[monitor]\nsession = "{tmp_path / "analyst"}"\n\n[[channel]]\nusername = "mod_russia"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_API_ID", "12345")
    monkeypatch.setenv("TELEGRAM_API_HASH", "0123456789abcdef")
    monkeypatch.delenv("TELEGRAM_SESSION", raising=False)
    status = cli.main(["--config", str(config), "monitor", "--db", str(tmp_path / "c.db")])
    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith(f"communique: error: no Telegram session: {tmp_path / 'analyst.session'} does not "
                            "exist and TELEGRAM_SESSION is not set; run `communique login`")
    assert "Traceback" not in error


def test_a_garbled_telegram_session_is_named_as_such(settings: Settings) -> None:
    with pytest.raises(SessionProblem, match="TELEGRAM_SESSION is not a Telethon string session"):
        open_session(settings, Secrets(session="1AAAA-not-a-session"))


async def test_a_revoked_session_gets_a_clear_message(settings: Settings) -> None:
    client = build_client(settings, Secrets(api_id=1, api_hash="x", session=StringSession.save(_logged_in())),
                          client_class=FakeTelegram)
    client.logged_in = False  # Telegram answers AUTH_KEY_UNREGISTERED
    with pytest.raises(SessionProblem, match=r"the Telegram session in TELEGRAM_SESSION is not logged in \(revoked"):
        await require_authorized(client, "TELEGRAM_SESSION")


async def test_a_session_revoked_while_running_stops_telethon_and_tells_the_admins(
        settings: Settings, db_path: Path) -> None:
    client = FakeTelegram()
    client.logged_in = False
    notes: list[str] = []

    async def notify(text: str) -> None:
        notes.append(text)

    store = StoreThread(db_path)
    try:
        monitor = TelethonMonitor(client, settings, store, channels=settings.channels, notify_admins=notify)
        await keep_watching(client, monitor, "communique.session", notify)
    finally:
        store.close()
    assert notes == ["Telethon channel monitoring stopped: the Telegram session in communique.session is not "
                     "logged in (revoked, expired, or the login never finished); run `communique login` (it asks "
                     "for the phone number, the code Telegram sends and the two-step password, if any)"]


def _logged_in() -> StringSession:
    session = StringSession()
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(bytes(256))
    return session
