"""A fake Telegram Bot API server on 127.0.0.1 so tests run PTB's real HTTP stack against it.

Point PTB at it with ``base_url=fake.base_url`` (``http://127.0.0.1:PORT/bot``). The server runs in its
own threads, independent of the test's event loop. It records every call, serves pushed updates through
long-polling ``getUpdates``, answers as Telegram does (including Telegram's limits and error texts) and
injects faults: 429 with ``retry_after``, 403 for blocked chats, 400 for migrated groups, latency.

Text length is counted in UTF-16 code units after entity parsing (the unit Telegram uses for entity
offsets), which is at least as strict as counting characters.

    with FakeBotAPI() as fake:                        # or the ``fake_bot_api`` fixture below
        app = Application.builder().token(fake.token).base_url(fake.base_url).build()
        fake.push_message(42, "/start")               # served to the bot's getUpdates
        ...                                           # then: await fake.wait_for_messages(42)
        fake.throttle_next(2, retry_after=3)          # 429 for the next two calls
        assert fake.rate_violations() == []
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fakebotapi_rules import MAX_CAPTION, MAX_TEXT, ApiError, check_reply_markup, parse_html, utf16_len

DEFAULT_TOKEN = "123456789:AAFakeTokenForCommuniqueTests_0123456"
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
_WRITE_METHODS = SEND_METHODS | {"sendChatAction", "editMessageText", "editMessageReplyMarkup"}
_JSON_PARAMS = frozenset({"reply_markup", "entities", "caption_entities", "commands", "scope",
                          "allowed_updates", "link_preview_options", "reply_parameters", "media"})
_INT_PARAMS = frozenset({"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "cache_time",
                         "message_thread_id", "reply_to_message_id", "from_chat_id"})
_BOOL_PARAMS = frozenset({"disable_notification", "protect_content", "show_alert", "drop_pending_updates",
                          "disable_web_page_preview", "allow_sending_without_reply", "has_spoiler"})
_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup "
                 "are exactly the same as a current content and reply markup of the message")


@dataclass
class Call:
    """One request as the server received it; ``status`` is the HTTP status it was answered with."""

    method: str
    params: dict[str, Any]
    at: float
    chat_id: int | str | None
    files: dict[str, bytes] = field(default_factory=dict)
    status: int | None = None


@dataclass(frozen=True)
class RateLimits:
    """Telegram's send limits as sliding windows: at most ``count`` sends per ``window`` seconds."""

    overall: int = 30
    overall_window: float = 1.0
    per_group: int = 20
    group_window: float = 60.0
    per_chat: int = 1
    chat_window: float = 1.0

    def scaled(self, factor: float) -> RateLimits:
        """The same counts over windows ``factor`` times shorter, for fast tests."""
        return replace(self, overall_window=self.overall_window / factor,
                       group_window=self.group_window / factor, chat_window=self.chat_window / factor)

    def windows(self, chat_id: int) -> list[tuple[str, int, float]]:
        rules = [("overall", self.overall, self.overall_window), ("chat", self.per_chat, self.chat_window)]
        return rules + ([("group", self.per_group, self.group_window)] if chat_id < 0 else [])


@dataclass
class _Fault:
    remaining: int
    error: ApiError
    method: str | None
    chat_id: int | None


def decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Types form values as Telegram does: PTB JSON-encodes every non-string value of a request."""
    params: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, str) and name in _JSON_PARAMS:
            try:
                value = json.loads(value)
            except ValueError:
                raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
        elif isinstance(value, str) and name in _INT_PARAMS and re.fullmatch(r"-?[0-9]+", value):
            value = int(value)
        elif isinstance(value, str) and name in _BOOL_PARAMS:
            value = value.lower() in ("true", "1")
        params[name] = value
    return params


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """Splits a multipart/form-data body into text fields and uploaded files (those with a filename)."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if not boundary:
        raise ApiError(400, "Bad Request: invalid multipart/form-data request")
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in body.split(b"--" + boundary.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        name = re.search(rb'[;\s]name="([^"]*)"', head)
        if name is None:
            continue
        content = content.removesuffix(b"\r\n")
        if re.search(rb'filename="', head):
            files[name.group(1).decode()] = content
        else:
            fields[name.group(1).decode()] = content.decode()
    return fields, files


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeBotAPI

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections dropped by clients or by stop() are expected; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        content_type = self.headers.get("Content-Type", "")
        status, payload = self.server.fake.handle(url.path, url.query, content_type, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: request lines carry the bot token."""

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, add=False)
        super().finish()


class FakeBotAPI:
    """The fake server. Use as a context manager, or call start() and stop()."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, username: str = "communique_test_bot",
                 enforce_rate_limits: bool = False, limits: RateLimits | None = None,
                 latency: float = 0.0) -> None:
        self.token, self.username = token, username
        self.bot_id = int(token.split(":")[0])
        self.enforce_rate_limits, self.latency = enforce_rate_limits, latency
        self.limits = limits or RateLimits()
        self._cond = threading.Condition(threading.RLock())
        self._calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._last_message_id: dict[int, int] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self._faults: list[_Fault] = []
        self._blocked: dict[int, str] = {}
        self._migrated: dict[int, int] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._sent_at: dict[int | None, list[float]] = {}  # accepted sends per chat; None = overall
        self._connections: set[socket.socket] = set()
        self._stopping = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> FakeBotAPI:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-bot-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            connections = list(self._connections)
        if self._server and self._thread:
            self._server.shutdown()
            for conn in connections:
                with contextlib.suppress(OSError):  # closed meanwhile by its handler
                    conn.shutdown(socket.SHUT_RDWR)
            self._server.server_close()
            self._thread.join()

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._cond:
            (self._connections.add if add else self._connections.discard)(conn)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- fault injection -------------------------------------------------------------------------------
    def fail_next(self, count: int, error: ApiError, *, method: str | None = None,
                  chat_id: int | None = None) -> None:
        """The next ``count`` calls (to ``method`` / ``chat_id`` if given) are answered with ``error``.
        Without ``method``, getUpdates is spared: a background polling loop would swallow the fault."""
        with self._cond:
            self._faults.append(_Fault(count, error, method, chat_id))

    def throttle_next(self, count: int = 1, *, retry_after: int = 1, method: str | None = None,
                      chat_id: int | None = None) -> None:
        """The next ``count`` matching calls get 429 Too Many Requests with ``retry_after`` seconds."""
        error = ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        self.fail_next(count, error, method=method, chat_id=chat_id)

    def block(self, chat_id: int, description: str | None = None) -> None:
        """Writing to the chat answers 403, as when a user blocks the bot or a group kicks it."""
        default = "bot was blocked by the user" if chat_id > 0 else "bot was kicked from the group chat"
        with self._cond:
            self._blocked[chat_id] = f"Forbidden: {description or default}"

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember says of a user in a group: "member" unless set ("administrator", "creator", ...)."""
        with self._cond:
            self._members[(chat_id, user_id)] = status

    def unblock(self, chat_id: int) -> None:
        with self._cond:
            self._blocked.pop(chat_id, None)

    def migrate(self, chat_id: int, to_chat_id: int) -> None:
        """Calls to the group answer 400 with ``migrate_to_chat_id``, as after an upgrade to a supergroup."""
        with self._cond:
            self._migrated[chat_id] = to_chat_id
            self._chats[to_chat_id] = {"id": to_chat_id, "type": "supergroup", "title": f"Group {to_chat_id}"}

    # -- pushing updates -------------------------------------------------------------------------------
    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queues ``{"update_id": next, kind: payload}`` for getUpdates and wakes a waiting long poll."""
        with self._cond:
            update = {"update_id": self._next_update_id, kind: payload}
            self._next_update_id += 1
            self._updates.append(update)
            self._cond.notify_all()
            return update

    def push_message(self, chat_id: int, text: str, *, user_id: int | None = None,
                     chat_type: str = "private", username: str | None = "reader",
                     first_name: str = "Reader", title: str | None = None,
                     language_code: str = "en") -> dict[str, Any]:
        """A user's text message; bot commands anywhere in it get bot_command entities, as Telegram does.
        ``user_id`` defaults to ``chat_id``, which is right for private chats only; ``language_code`` is
        the language of the user's Telegram app."""
        if user_id is None and chat_type != "private":
            raise ValueError("push_message: a group message needs the sender's user_id")
        user_id = chat_id if user_id is None else user_id
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        user |= {"username": username} if username else {}
        with self._cond:
            if chat_type == "private":
                chat = {"id": chat_id, "type": "private", "first_name": first_name}
                chat |= {"username": username} if username else {}
            else:
                chat = {"id": chat_id, "type": chat_type, "title": title or f"Group {chat_id}"}
            self._chats[chat_id] = chat
            message = {"message_id": self._next_message_id(chat_id), "from": user, "chat": chat,
                       "date": int(time.time()), "text": text}
            entities = [{"type": "bot_command", "offset": utf16_len(text[:m.start()]),
                         "length": utf16_len(m.group())} for m in _COMMAND_RE.finditer(text)]
            return self.push_update("message", message | ({"entities": entities} if entities else {}))

    def push_callback_query(self, chat_id: int, user_id: int, data: str, message_id: int,
                            language_code: str = "en") -> dict[str, Any]:
        """A press on an inline button under the bot's message ``message_id`` in ``chat_id``."""
        with self._cond:
            message = self._messages.get((chat_id, message_id)) or {
                "message_id": message_id, "from": self._bot_user(), "chat": self._chat(chat_id),
                "date": int(time.time()), "text": "..."}
            query = {"id": f"{user_id}-{self._next_update_id}", "chat_instance": str(chat_id), "data": data,
                     "from": {"id": user_id, "is_bot": False, "first_name": "Reader", "language_code": language_code},
                     "message": message}
            return self.push_update("callback_query", query)

    # -- inspecting calls ------------------------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The bot's messages (current state, after edits) in order, for one chat or all chats."""
        with self._cond:
            return [m for (chat, _), m in self._messages.items() if chat_id is None or chat == chat_id]

    def texts(self, chat_id: int) -> list[str]:
        """Text or caption of each message the bot sent to ``chat_id``."""
        return [m.get("text", m.get("caption", "")) for m in self.sent_messages(chat_id)]

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        with self._cond:
            return list(self._commands.get(self._commands_key(scope, language_code), []))

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Polls ``predicate`` without blocking the event loop; fails the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"fake Bot API: condition not met within {timeout} s")
            await asyncio.sleep(0.01)

    async def wait_for_messages(self, chat_id: int, count: int = 1,
                                timeout: float = 5.0) -> list[dict[str, Any]]:
        await self.wait_for(lambda: len(self.sent_messages(chat_id)) >= count, timeout)
        return self.sent_messages(chat_id)

    def rate_violations(self, limits: RateLimits | None = None, tolerance: float = 0.05) -> list[str]:
        """Accepted sends that broke a sliding-window limit; windows shrink by ``tolerance`` (a fraction)
        to absorb loopback jitter between the client's clock and the recorded arrival times."""
        limits = limits or self.limits
        sends = sorted((c for c in self.calls if c.method in SEND_METHODS and c.status == 200),
                       key=lambda c: c.at)
        seen: dict[int | None, list[float]] = {}
        violations = []
        for call in sends:
            chat = call.chat_id if isinstance(call.chat_id, int) else 0
            for rule, count, window in limits.windows(chat):
                times = seen.setdefault(None if rule == "overall" else chat, [])
                n = len(times) - bisect.bisect_right(times, call.at - window * (1 - tolerance)) + 1
                if n > count:
                    violations.append(f"{rule} limit {count}/{window:g}s exceeded: {n} sends "
                                      f"up to t={call.at:.3f} (chat {chat})")
            seen.setdefault(None, []).append(call.at)
            seen.setdefault(chat, []).append(call.at)
        return violations

    # -- request handling ------------------------------------------------------------------------------
    def handle(self, path: str, query: str, content_type: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """Answers one HTTP request: ``(status, JSON payload)``."""
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
        if not match:
            return 404, ApiError(404, "Not Found").payload()
        if self.latency:
            time.sleep(self.latency)
        call = Call(match.group(2), {}, time.monotonic(), None)
        with self._cond:
            self._calls.append(call)
        try:
            if match.group(1) != self.token:
                raise ApiError(401, "Unauthorized")
            call.params, call.files = self._decode(query, content_type, body)
            call.chat_id = call.params.get("chat_id")
            self._check_chat(call)
            handler = getattr(self, f"_api_{call.method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            payload, call.status = {"ok": True, "result": handler(call)}, 200
        except ApiError as error:
            payload, call.status = error.payload(), error.code
        return call.status, payload

    @staticmethod
    def _decode(query: str, content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
        raw: dict[str, Any] = dict(parse_qsl(query))
        files: dict[str, bytes] = {}
        if content_type.startswith("multipart/form-data"):
            fields, files = parse_multipart(body, content_type)
            raw |= fields
        elif content_type.startswith("application/json") and body:
            try:
                raw |= json.loads(body)
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON object") from None
        elif body:
            raw |= dict(parse_qsl(body.decode(), keep_blank_values=True))
        return decode_params(raw), files

    def _check_chat(self, call: Call) -> None:
        """Faults, blocked and migrated chats, then (if enforced) the send rate limits."""
        with self._cond:
            for fault in self._faults:
                wanted = call.method == fault.method or (fault.method is None and call.method != "getUpdates")
                if fault.remaining > 0 and wanted and fault.chat_id in (None, call.chat_id):
                    fault.remaining -= 1
                    raise fault.error
            if call.chat_id in self._migrated:
                raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                               {"migrate_to_chat_id": self._migrated[call.chat_id]})
            if call.method in _WRITE_METHODS and call.chat_id in self._blocked:
                raise ApiError(403, self._blocked[call.chat_id])
            if call.chat_id is not None and not isinstance(call.chat_id, int):
                raise ApiError(400, "Bad Request: chat not found")
            if call.method in _WRITE_METHODS and call.chat_id is None \
                    and "inline_message_id" not in call.params:
                raise ApiError(400, "Bad Request: chat_id is empty")
            if call.method in SEND_METHODS and self.enforce_rate_limits:
                self._admit(call.chat_id or 0, call.at)

    def _admit(self, chat_id: int, now: float) -> None:
        for rule, count, window in self.limits.windows(chat_id):
            times = self._sent_at.setdefault(None if rule == "overall" else chat_id, [])
            in_window = times[bisect.bisect_right(times, now - window):]
            if len(in_window) >= count:
                wait = in_window[-count] + window - now
                retry = max(1, math.ceil(wait))
                raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        bisect.insort(self._sent_at.setdefault(None, []), now)  # handler threads may arrive out of order
        bisect.insort(self._sent_at.setdefault(chat_id, []), now)

    # -- state helpers (callers hold the lock) ---------------------------------------------------------
    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Communique", "username": self.username}

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
        return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}

    @staticmethod
    def _commands_key(scope: dict[str, Any] | None, language_code: str) -> str:
        return json.dumps([scope or {"type": "default"}, language_code], sort_keys=True)

    @staticmethod
    def _formatted(params: dict[str, Any], key: str, limit: int, too_long: str) -> dict[str, Any]:
        """Text or caption after entity parsing, checked against Telegram's limit."""
        entities_key = "entities" if key == "text" else "caption_entities"
        text, entities = params.get(key) or "", params.get(entities_key)
        mode = str(params.get("parse_mode") or "").lower()
        if mode == "html":
            text, entities = parse_html(text)
        elif mode not in ("", "markdown", "markdownv2"):
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        if key == "text" and not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > limit:
            raise ApiError(400, f"Bad Request: {too_long}")
        if not text:
            return {}
        return {key: text} | ({entities_key: entities} if entities else {})

    def _store(self, chat_id: int, content: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        check_reply_markup(params.get("reply_markup"))
        with self._cond:
            message = {"message_id": self._next_message_id(chat_id), "from": self._bot_user(),
                       "chat": self._chat(chat_id), "date": int(time.time())} | content
            message |= {"reply_markup": params["reply_markup"]} if params.get("reply_markup") else {}
            self._messages[(chat_id, message["message_id"])] = message
            return message

    def _edit(self, params: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any] | bool:
        check_reply_markup(params.get("reply_markup"))
        if "inline_message_id" in params:
            return True
        with self._cond:
            message = self._messages.get((params.get("chat_id"), params.get("message_id")))  # type: ignore[arg-type]
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            old = {k: v for k, v in message.items() if k != "edit_date"}
            kept = {k: v for k, v in old.items()
                    if k != "reply_markup" and not (k == "entities" and "text" in changes)}
            markup = params.get("reply_markup")
            edited = kept | changes | ({"reply_markup": markup} if markup else {})
            if edited == old:
                raise ApiError(400, _NOT_MODIFIED)
            edited["edit_date"] = int(time.time())
            self._messages[(message["chat"]["id"], message["message_id"])] = edited
            return edited

    def _media(self, call: Call, kind: str) -> dict[str, Any]:
        upload = call.files.get(kind)
        if upload is None and not call.params.get(kind):
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        caption = self._formatted(call.params, "caption", MAX_CAPTION, "message caption is too long")
        data = upload or b""
        file = {"file_id": f"{kind}-{id(call):x}", "file_unique_id": f"{id(call):x}", "file_size": len(data)}
        if kind == "photo":
            png = data.startswith(b"\x89PNG\r\n\x1a\n")
            width, height = (int.from_bytes(data[16:20]), int.from_bytes(data[20:24])) if png else (1, 1)
            media: Any = [file | {"width": width, "height": height}]
        else:
            media = file | {"file_name": "document"}
        return self._store(call.chat_id, {kind: media} | caption, call.params)  # type: ignore[arg-type]

    # -- Bot API methods -------------------------------------------------------------------------------
    def _api_getme(self, call: Call) -> dict[str, Any]:
        return self._bot_user() | {"can_join_groups": True, "can_read_all_group_messages": False,
                                   "supports_inline_queries": False}

    def _api_getupdates(self, call: Call) -> list[dict[str, Any]]:
        offset, limit = call.params.get("offset", 0), call.params.get("limit", 100)
        deadline = time.monotonic() + float(call.params.get("timeout", 0))
        with self._cond:
            while True:
                if offset:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                remaining = deadline - time.monotonic()
                if self._updates or remaining <= 0 or self._stopping:
                    return self._updates[:limit]
                self._cond.wait(remaining)

    def _api_deletewebhook(self, call: Call) -> bool:
        if call.params.get("drop_pending_updates"):
            with self._cond:
                self._updates.clear()
        return True

    def _api_setmycommands(self, call: Call) -> bool:
        commands = call.params.get("commands") or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        with self._cond:
            key = self._commands_key(call.params.get("scope"), call.params.get("language_code", ""))
            self._commands[key] = commands
        return True

    def _api_getmycommands(self, call: Call) -> list[dict[str, Any]]:
        return self.commands(call.params.get("scope"), call.params.get("language_code", ""))

    def _api_sendmessage(self, call: Call) -> dict[str, Any]:
        content = self._formatted(call.params, "text", MAX_TEXT, "message is too long")
        return self._store(call.chat_id, content, call.params)  # type: ignore[arg-type]

    def _api_sendphoto(self, call: Call) -> dict[str, Any]:
        return self._media(call, "photo")

    def _api_senddocument(self, call: Call) -> dict[str, Any]:
        return self._media(call, "document")

    def _api_editmessagetext(self, call: Call) -> dict[str, Any] | bool:
        content = self._formatted(call.params, "text", MAX_TEXT, "message is too long")
        return self._edit(call.params, content)

    def _api_editmessagereplymarkup(self, call: Call) -> dict[str, Any] | bool:
        return self._edit(call.params, {})

    def _api_getchat(self, call: Call) -> dict[str, Any]:
        with self._cond:
            chat = self._chat(call.chat_id)  # type: ignore[arg-type]
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                               "gifts_from_channels"), False)
        return chat | {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    def _api_getchatmember(self, call: Call) -> dict[str, Any]:
        user_id = int(call.params["user_id"])
        with self._cond:
            status = self._members.get((call.chat_id, user_id), "member")  # type: ignore[arg-type]
        member: dict[str, Any] = {"status": status, "user": {"id": user_id, "is_bot": False, "first_name": "User"}}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            rights = ("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                      "can_manage_video_chats", "can_restrict_members", "can_promote_members", "can_change_info",
                      "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories")
            member |= dict.fromkeys(rights, False) | {"can_manage_chat": True}
        return member

    def _answer_true(self, call: Call) -> bool:
        return True

    _api_setmydescription = _api_setmyshortdescription = _api_answercallbackquery = _answer_true
    _api_sendchataction = _api_close = _api_logout = _answer_true


@pytest.fixture
def fake_bot_api() -> Iterator[FakeBotAPI]:
    """A started fake server for one test; import it into conftest.py to use it by name."""
    with FakeBotAPI() as fake:
        yield fake
