"""An offline Telegram for Telethon: a real client that never connects and answers from memory.

`FakeTelegram` is a real `TelegramClient` (via `MonitorClient`) whose single network
entry point, `_call`, answers requests from in-memory state instead of sending them:
channel histories for `GetHistoryRequest` (with Telegram's offset/add_offset/min_id
semantics, so `iter_messages` pages exactly as against the server), username resolution,
and a login server (code, two-step password checked with real SRP).  Faults are
injected per request: FloodWait at the n-th history call, a channel gone private.

Updates are real `telethon.tl.types` objects pushed through the client's own update
handling (`_preprocess_updates` then `_dispatch_update`: event builders, entity cache,
handlers).  The `offline` fixture makes any non-loopback socket use fail the test.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from communique.monitors.telethon_client import MonitorClient
from telethon import errors, utils
from telethon.crypto import AuthKey
from telethon.password import big_num_for_hash, compute_digest, num_bytes_for_hash, xor
from telethon.sessions import StringSession
from telethon.tl import types

SELF_ID = 777000111
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
# The 2048-bit safe prime Telegram uses for Diffie-Hellman and SRP (core.telegram.org/api/srp).
TELEGRAM_PRIME = int(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F"
    "48198A0AA7C14058229493D22530F4DBFA336F6E0AC925139543AED44CCE7C37"
    "20FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F64"
    "2477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4"
    "A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754"
    "FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4"
    "E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F"
    "0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B", 16)


class NetworkUsed(AssertionError):
    """An offline test tried to reach something other than 127.0.0.1."""


def _loopback(host: object) -> bool:
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test on any connection or name lookup that is not loopback."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> Any:
        if not (isinstance(address, tuple) and _loopback(address[0])):
            raise NetworkUsed(f"offline test tried to connect to {address!r}")
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> Any:
        if not (isinstance(address, tuple) and _loopback(address[0])):
            raise NetworkUsed(f"offline test tried to connect to {address!r}")
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _loopback(host):
            raise NetworkUsed(f"offline test tried to look up {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# --- real Telethon objects ---------------------------------------------------------------


def channel(channel_id: int, username: str | None, title: str) -> types.Channel:
    return types.Channel(id=channel_id, title=title, photo=types.ChatPhotoEmpty(), date=T0, broadcast=True,
                         access_hash=channel_id * 7 + 3, username=username)


def photo() -> types.MessageMediaPhoto:
    return types.MessageMediaPhoto(photo=types.Photo(id=1, access_hash=2, file_reference=b"", date=T0, sizes=[],
                                                     dc_id=2))


def post(channel_id: int, msg_id: int, text: str = "", *, minutes: int | None = None, **fields: Any) -> types.Message:
    """A channel post as Telegram sends it; dated T0 + `minutes` (default: its id) minutes."""
    date = T0 + timedelta(minutes=msg_id if minutes is None else minutes)
    return types.Message(id=msg_id, peer_id=types.PeerChannel(channel_id), date=date, message=text, post=True,
                         **fields)


def service(channel_id: int, msg_id: int) -> types.MessageService:
    return types.MessageService(id=msg_id, peer_id=types.PeerChannel(channel_id), date=T0,
                                action=types.MessageActionPinMessage(), post=True)


class FakeTelegram(MonitorClient):
    """A never-connected client; see the module docstring."""

    def __init__(self, session: Any = None, api_id: int = 1, api_hash: str = "x", **kwargs: Any) -> None:
        kwargs.setdefault("sequential_updates", True)
        super().__init__(session if session is not None else StringSession(), api_id, api_hash, **kwargs)
        self.channels: dict[int, types.Channel] = {}
        self.history: dict[int, list[types.TypeMessage]] = {}
        self.unreadable: dict[int, type[errors.RPCError]] = {}
        self.flood_at: dict[int, int] = {}  # n-th GetHistoryRequest (1-based) -> FloodWait seconds
        self.history_calls = 0
        self.requests: list[Any] = []
        self.pts = 1
        self.me = types.User(id=SELF_ID, is_self=True, access_hash=99, first_name="Analyst", phone="79990000000")
        self.logged_in = True
        self.login_server: LoginServer | None = None
        self._link: asyncio.Future[None] | None = None

    # -- no network ----------------------------------------------------------------

    async def connect(self) -> None:
        """What a real connect leaves behind: a data centre and an auth key in the session, a live link."""
        if self.session.auth_key is None:
            self.session.set_dc(2, "149.154.167.51", 443)
            self.session.auth_key = AuthKey(os.urandom(256))
        self._link = asyncio.get_running_loop().create_future()

    def is_connected(self) -> bool:
        return self._link is not None and not self._link.done()

    @property
    def disconnected(self) -> asyncio.Future[None]:
        if self._link is None:  # never connected: already "disconnected", as in Telethon
            self._link = asyncio.get_running_loop().create_future()
            self._link.set_result(None)
        return asyncio.shield(self._link)

    async def disconnect(self) -> None:
        if self._link is not None and not self._link.done():
            self._link.set_result(None)

    def drop(self) -> None:
        """The connection is lost for good (Telethon's own reconnect attempts failed)."""
        assert self._link is not None
        self._link.set_exception(ConnectionError("connection to Telegram lost"))

    # -- test helpers --------------------------------------------------------------

    def add_channel(self, channel_id: int, username: str | None, title: str) -> types.Channel:
        entity = self.channels[channel_id] = channel(channel_id, username, title)
        self.history.setdefault(channel_id, [])
        return entity

    async def push(self, update: Any) -> None:
        """Deliver one update the way Telethon's update loop does, after the message box."""
        self.pts += 1
        await self._preprocess_updates([update], [], list(self.channels.values()))
        await self._dispatch_update(update)

    async def new_post(self, message: types.Message) -> None:
        self.history[message.peer_id.channel_id].append(message)
        await self.push(types.UpdateNewChannelMessage(message=message, pts=self.pts, pts_count=1))

    async def edit_post(self, message: types.Message) -> None:
        log = self.history[message.peer_id.channel_id]
        log[:] = [message if m.id == message.id else m for m in log]
        await self.push(types.UpdateEditChannelMessage(message=message, pts=self.pts, pts_count=1))

    async def delete_posts(self, channel_id: int, ids: list[int]) -> None:
        self.history[channel_id] = [m for m in self.history[channel_id] if m.id not in ids]
        await self.push(types.UpdateDeleteChannelMessages(channel_id=channel_id, messages=ids, pts=self.pts,
                                                          pts_count=len(ids)))

    # -- the server ------------------------------------------------------------------

    async def _call(self, sender: Any, request: Any, ordered: bool = False, flood_sleep_threshold: Any = None) -> Any:
        await request.resolve(self, utils)
        self.requests.append(request)
        answer = getattr(self, f"_answer_{type(request).__name__}", None)
        if answer is None:
            raise AssertionError(f"FakeTelegram cannot answer {type(request).__name__}")
        result = answer(request)
        self.session.process_entities(result)
        return result

    def _require_login(self, request: Any) -> None:
        if not self.logged_in:
            raise errors.AuthKeyUnregisteredError(request)

    def _answer_GetUsersRequest(self, request: Any) -> list[types.User]:
        self._require_login(request)
        return [self.me]

    def _answer_GetStateRequest(self, request: Any) -> types.updates.State:
        self._require_login(request)
        return types.updates.State(pts=self.pts, qts=0, date=T0, seq=1, unread_count=0)

    def _answer_GetDifferenceRequest(self, request: Any) -> types.updates.DifferenceEmpty:
        return types.updates.DifferenceEmpty(date=T0, seq=1)

    def _answer_ResolveUsernameRequest(self, request: Any) -> types.contacts.ResolvedPeer:
        wanted = request.username.lower()
        found = next((c for c in self.channels.values() if (c.username or "").lower() == wanted), None)
        if found is None:
            raise errors.UsernameNotOccupiedError(request)
        return types.contacts.ResolvedPeer(peer=types.PeerChannel(found.id), chats=[found], users=[])

    def _answer_GetChannelsRequest(self, request: Any) -> types.messages.Chats:
        ids = [c.channel_id for c in request.id]
        if any(i not in self.channels for i in ids):
            raise errors.ChannelInvalidError(request)
        return types.messages.Chats(chats=[self.channels[i] for i in ids])

    def _answer_GetHistoryRequest(self, request: Any) -> types.messages.ChannelMessages:
        """messages.getHistory: newest first, from just below offset_id, shifted by add_offset."""
        self.history_calls += 1
        if self.history_calls in self.flood_at:
            raise errors.FloodWaitError(request, capture=self.flood_at[self.history_calls])
        channel_id = request.peer.channel_id
        if channel_id in self.unreadable:
            raise self.unreadable[channel_id](request)
        newest_first = sorted(self.history.get(channel_id, []), key=lambda m: m.id, reverse=True)
        start = next((i for i, m in enumerate(newest_first) if m.id < request.offset_id), len(newest_first)) \
            if request.offset_id else 0
        start += request.add_offset
        page = newest_first[max(start, 0):max(start + request.limit, 0)]
        page = [m for m in page if m.id > request.min_id and (not request.max_id or m.id < request.max_id)]
        # Telegram sends the chats a page refers to (its channel, forwards' origins); all known ones will do.
        return types.messages.ChannelMessages(pts=self.pts, count=len(newest_first), messages=page, topics=[],
                                              chats=list(self.channels.values()), users=[])

    def _answer_SendCodeRequest(self, request: Any) -> types.auth.SentCode:
        return self._login().send_code(request)

    def _answer_SignInRequest(self, request: Any) -> types.auth.Authorization:
        return self._login().sign_in(request)

    def _answer_GetPasswordRequest(self, request: Any) -> types.account.Password:
        return self._login().password_params()

    def _answer_CheckPasswordRequest(self, request: Any) -> types.auth.Authorization:
        return self._login().check_password(request)

    def _login(self) -> LoginServer:
        assert self.login_server is not None, "this test set up no login server"
        return self.login_server


class LoginServer:
    """Telegram's side of logging in: a phone, the code it was sent, and an optional two-step password.

    The password is verified with SRP exactly as Telegram does, so only the right
    password typed by the user makes the client's proof match.
    """

    def __init__(self, client: FakeTelegram, *, phone: str, code: str, password: str | None = None) -> None:
        self.client, self.phone, self.code, self.password = client, phone, code, password
        self.codes_sent = 0
        self.algo = types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            salt1=os.urandom(32), salt2=os.urandom(32), g=3, p=TELEGRAM_PRIME.to_bytes(256, "big"))
        self._b = int.from_bytes(os.urandom(256), "big")
        self._v = int.from_bytes(compute_digest(self.algo, password), "big") if password else 0
        client.login_server = client.login_server or self
        client.logged_in = False

    def _hash(self, *parts: bytes) -> bytes:
        digest = hashlib.sha256()
        for part in parts:
            digest.update(part)
        return digest.digest()

    def _srp_b(self) -> bytes:
        p, g = TELEGRAM_PRIME, self.algo.g
        k = int.from_bytes(self._hash(num_bytes_for_hash(self.algo.p), big_num_for_hash(g)), "big")
        return ((k * self._v + pow(g, self._b, p)) % p).to_bytes(256, "big")

    def send_code(self, request: Any) -> types.auth.SentCode:
        if request.phone_number.lstrip("+") != self.phone.lstrip("+"):
            raise errors.PhoneNumberInvalidError(request)
        self.codes_sent += 1
        return types.auth.SentCode(type=types.auth.SentCodeTypeApp(length=len(self.code)), phone_code_hash="h1")

    def sign_in(self, request: Any) -> types.auth.Authorization:
        if request.phone_code != self.code:
            raise errors.PhoneCodeInvalidError(request)
        if self.password:
            raise errors.SessionPasswordNeededError(request)
        return self._authorized()

    def password_params(self) -> types.account.Password:
        return types.account.Password(
            new_algo=types.PasswordKdfAlgoUnknown(), new_secure_algo=types.SecurePasswordKdfAlgoUnknown(),
            secure_random=os.urandom(32), has_password=True, current_algo=self.algo, srp_B=self._srp_b(), srp_id=42,
            hint="usual")

    def check_password(self, request: Any) -> types.auth.Authorization:
        p, g = TELEGRAM_PRIME, self.algo.g
        srp = request.password
        a_bytes, b_bytes = num_bytes_for_hash(srp.A), self._srp_b()
        u = int.from_bytes(self._hash(a_bytes, b_bytes), "big")
        shared = pow(int.from_bytes(srp.A, "big") * pow(self._v, u, p), self._b, p)
        proof = self._hash(xor(self._hash(num_bytes_for_hash(self.algo.p)), self._hash(big_num_for_hash(g))),
                           self._hash(self.algo.salt1), self._hash(self.algo.salt2), a_bytes, b_bytes,
                           self._hash(big_num_for_hash(shared)))
        if proof != srp.M1:
            raise errors.PasswordHashInvalidError(request)
        return self._authorized()

    def _authorized(self) -> types.auth.Authorization:
        self.client.logged_in = True
        return types.auth.Authorization(user=self.client.me)
