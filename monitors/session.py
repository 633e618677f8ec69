"""The Telethon user session: where it lives, logging in, and saying clearly when it is unusable.

A session is either a file (`[monitor] session` in the configuration, default
`communique.session`) written by `communique login`, or a string in TELEGRAM_SESSION
for platforms without a persistent disk (`communique login --string` prints one).
It is a login: whoever holds it reads Telegram as that account, so it is kept out of
the configuration and never logged.
"""

from __future__ import annotations

import asyncio
import binascii
import getpass
import logging
import struct
from collections.abc import Callable
from pathlib import Path

from telethon import TelegramClient, errors
from telethon.sessions import SQLiteSession, StringSession
from telethon.sessions.abstract import Session
from telethon.tl import types

from communique.errors import CommuniqueError
from communique.settings import Secrets, Settings

log = logging.getLogger(__name__)
Ask = Callable[[str], str]
Say = Callable[[str], None]
ATTEMPTS = 3
LOGIN_HINT = "run `communique login` (it asks for the phone number, the code Telegram sends and the two-step " \
             "password, if any)"


class SessionProblem(CommuniqueError):
    """The Telethon session is missing, not logged in, or no longer accepted by Telegram."""


def session_file(settings: Settings) -> Path:
    """The session file named by the configuration (Telethon adds `.session` when it is missing)."""
    path = Path(settings.session_path)
    return path if path.name.endswith(".session") else path.with_name(path.name + ".session")


def session_place(settings: Settings, secrets: Secrets) -> str:
    return "TELEGRAM_SESSION" if secrets.session else str(session_file(settings))


def open_session(settings: Settings, secrets: Secrets, *, for_login: bool = False) -> Session:
    """The configured session; raises SessionProblem when there is none to use."""
    if secrets.session:
        try:
            return StringSession(secrets.session)
        except (ValueError, struct.error, binascii.Error) as exc:
            raise SessionProblem(
                f"TELEGRAM_SESSION is not a Telethon string session ({exc}); create one with "
                "`communique login --string`") from None
    path = session_file(settings)
    if not for_login and not path.exists():
        raise SessionProblem(f"no Telegram session: {path} does not exist and TELEGRAM_SESSION is not set; "
                             f"{LOGIN_HINT}, or set TELEGRAM_SESSION")
    return SQLiteSession(str(path))


def build_client(settings: Settings, secrets: Secrets, *, client_class: type[TelegramClient] = TelegramClient,
                 for_login: bool = False) -> TelegramClient:
    """A client on the configured session; updates are dispatched one at a time, in order."""
    api_id, api_hash = secrets.require_user_client()
    return client_class(open_session(settings, secrets, for_login=for_login), api_id, api_hash,
                        sequential_updates=True)


def explain(exc: BaseException, place: str) -> SessionProblem | None:
    """The clear message for an error that means the session cannot be used; None for other errors."""
    if isinstance(exc, errors.AuthKeyDuplicatedError):
        return SessionProblem(f"Telegram invalidated the session in {place} because it was used from two places "
                              f"at once; {LOGIN_HINT}, and use each session in one process only")
    if isinstance(exc, errors.UserDeactivatedError | errors.UserDeactivatedBanError):
        return SessionProblem(f"the Telegram account of the session in {place} was deleted or banned")
    if isinstance(exc, errors.AuthKeyUnregisteredError | errors.SessionRevokedError | errors.SessionExpiredError
                  | errors.UnauthorizedError | errors.AuthKeyError):
        return SessionProblem(f"the Telegram session in {place} is no longer valid (logged out, revoked from "
                              f"another device, or expired); {LOGIN_HINT} again")
    return None


async def require_authorized(client: TelegramClient, place: str) -> types.User:
    """The logged-in user of a connected client, or SessionProblem saying why there is none."""
    try:
        if await client.is_user_authorized():
            me = await client.get_me()
            if me is not None:
                return me
    except errors.RPCError as exc:
        problem = explain(exc, place)
        if problem is None:
            raise
        raise problem from None
    raise SessionProblem(f"the Telegram session in {place} is not logged in (revoked, expired, or the login never "
                         f"finished); {LOGIN_HINT}")


def display_name(user: types.User) -> str:
    name = " ".join(p for p in (user.first_name, user.last_name) if p) or "(no name)"
    return f"{name} (@{user.username})" if user.username else name


async def login(client: TelegramClient, *, ask: Ask, ask_secret: Ask, say: Say) -> types.User:
    """Log `client` in interactively: phone, code, then the two-step password if the account has one."""
    await client.connect()
    if await client.is_user_authorized():
        me = await client.get_me()
        say(f"Already logged in as {display_name(me)}.")
        return me
    phone = await _send_code(client, ask, say)
    for _ in range(ATTEMPTS):
        code = (await asyncio.to_thread(ask, "Login code Telegram sent you: ")).strip().replace(" ", "")
        try:
            return await client.sign_in(phone, code)
        except errors.PhoneCodeInvalidError:
            say("That code is not right; type the digits Telegram sent.")
        except errors.PhoneCodeExpiredError:
            raise SessionProblem("the login code expired; run `communique login` again") from None
        except errors.SessionPasswordNeededError:
            return await _two_step(client, ask_secret, say)
    raise SessionProblem(f"wrong login code {ATTEMPTS} times; nothing was saved")


async def _send_code(client: TelegramClient, ask: Ask, say: Say) -> str:
    for _ in range(ATTEMPTS):
        phone = (await asyncio.to_thread(ask, "Phone number, with country code (e.g. +44 7700 900123): ")).strip()
        try:
            await client.send_code_request(phone)
            return phone
        except errors.PhoneNumberInvalidError:
            say("Telegram does not accept this phone number; type it with its country code.")
        except errors.PhoneNumberBannedError:
            raise SessionProblem("Telegram has banned this phone number") from None
        except errors.FloodWaitError as exc:
            raise SessionProblem(f"Telegram asks to wait {exc.seconds} s before the next login attempt") from None
    raise SessionProblem(f"no phone number Telegram accepts after {ATTEMPTS} attempts; nothing was saved")


async def _two_step(client: TelegramClient, ask_secret: Ask, say: Say) -> types.User:
    say("This account has two-step verification.")
    for _ in range(ATTEMPTS):
        password = await asyncio.to_thread(ask_secret, "Two-step verification password: ")
        try:
            return await client.sign_in(password=password)
        except errors.PasswordHashInvalidError:
            say("Wrong password; try again.")
    raise SessionProblem(f"wrong two-step password {ATTEMPTS} times; nothing was saved")


async def run_login(settings: Settings, secrets: Secrets, *, string_session: bool = False, ask: Ask = input,
                    ask_secret: Ask = getpass.getpass, say: Say = print,
                    client_class: type[TelegramClient] = TelegramClient) -> types.User:
    """`communique login`: log in and save the session (a file, or a string printed for TELEGRAM_SESSION)."""
    api_id, api_hash = secrets.require_user_client()
    as_string = string_session or bool(secrets.session)
    session = open_session(settings, secrets, for_login=True) if not string_session else StringSession()
    client = client_class(session, api_id, api_hash)
    try:
        me = await login(client, ask=ask, ask_secret=ask_secret, say=say)
        saved = client.session.save()  # a StringSession returns its string; a file session commits
    finally:
        await client.disconnect()
    if as_string:
        say(f"Logged in as {display_name(me)}. Set this as TELEGRAM_SESSION (it is a login: keep it secret):")
        say(saved)
    else:
        say(f"Logged in as {display_name(me)}. Session saved to {session_file(settings)}; keep this file private.")
    return me
