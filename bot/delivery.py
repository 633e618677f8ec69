"""The delivery loop: outbox rows -> Telegram messages, within Telegram's limits, once each.

The loop claims due rows (`communique.store.outbox.claim`, atomic, so two processes never
claim the same row) and sends them, different chats concurrently (bounded), one chat's rows
serially and in order.  A row is marked sent right after Telegram accepts it.

What happens to a row on each answer:
- accepted: `sent`, with its message ids;
- 429: everything waits `retry_after`; the row goes back to `pending` with that `not_before`;
- 403 (blocked, kicked, deactivated) or "chat not found": the subscriber becomes inactive, the
  chat's rows become `skipped`;
- group upgraded to a supergroup: the subscriber and its queue move to the new id, the row is resent;
- over 4096 characters: split between blocks (never mid-word) before sending;
- a row with a `photo` (a digest chart): the photo captioned with the text when it fits a caption
  (1024), else the photo captioned with the text's first line, then the text;
- HTML Telegram cannot parse: sent again as plain text;
- network failure or timeout: back to `pending` with a growing delay, counted in `attempts`; `failed`
  when sends have failed for `give_up_after` (a day).  Waiting for a rate limit or a 429 is no failure:
  however often a row is put back to wait, a transient error does not make it give up;
- any other 400: `failed`, with Telegram's words in `error` (logged; never silently dropped).

Exactly once: a row sent in parts records the parts already sent, so a retry sends only the
rest.  Stopping the loop (cancelling it) lets requests already on the wire finish and be
marked; `stop()` gives the rows claimed but not started back at once.  A worker holds a lease
in the store, taken with its claims in one transaction and renewed while it runs: the claims
of a worker whose lease has run out (`lease` seconds after it died) are taken over by any
other, and those of a dead process of the same host at once, by the next claim (a restart
after kill -9).  A live worker's lease can still run out if it is held up (a starved CPU, a
stalled disk): so a request leaves only while the worker's lease, unbroken since the row was
claimed, has at least half its length to run; otherwise the store is asked first whether the
row is still this worker's (renewing the lease in the same transaction), and a row taken over
meanwhile is left to the worker that took it.  A chat's later rows wait while an earlier one
is held, so each chat gets its messages in order across restarts.  Only a hard kill between
Telegram's answer and the store's commit (milliseconds), or a request held up on this side for
over half a lease after that check, can send a row twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from communique.bot import outbox_state
from communique.bot.outbox_state import Lease
from communique.bot.ratelimit import Limits, SlidingWindowLimiter, retry_seconds
from communique.bot.reply_limiter import ADMITTED
from telegram import Bot, LinkPreviewOptions, Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from communique.messages import CAPTION_LIMIT, MESSAGE_LIMIT, excerpt, length, split_blocks, strip_tags
from communique.process import identity
from communique.store import StoreThread, outbox, workers
from communique.store.subscribers import migrate_chat
from communique.store.timefmt import from_db

log = logging.getLogger("communique.delivery")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    worker: str = field(default_factory=identity)
    limits: Limits = field(default_factory=Limits)
    concurrency: int = 8  # requests in flight at once (30/s at up to ~250 ms a request)
    backlog: int = 60  # rows claimed and not yet settled (about two seconds of sending)
    poll_interval: float = 0.5  # seconds between looks at an empty outbox
    lease: float = 30.0  # seconds a worker's claims stay its own without renewal (renewed every third of it)
    defer_after: float = 5.0  # a chat that cannot take a message within this long is retried later
    give_up_after: timedelta = timedelta(days=1)  # sends failing for this long: the row is marked failed
    retry_backoff: float = 2.0  # seconds before the first retry after a network error; doubles each time


class ClaimLost(Exception):
    """The row was taken over by another worker while this one's lease had run out: it is not this one's to send."""


class Delivery:
    """One worker delivering the outbox through `bot`; `start()` it, `stop()` it."""

    def __init__(self, bot: Bot, store: StoreThread, options: DeliveryOptions | None = None, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 limiter: SlidingWindowLimiter | None = None) -> None:
        """`limiter`: the one the bot's command replies go through (`bot.reply_limiter`), if they do."""
        self.bot, self.store, self.clock = bot, store, clock
        self.options = options or DeliveryOptions()
        self.limiter = limiter or SlidingWindowLimiter(self.options.limits)
        self._queues: dict[int, deque[dict[str, Any]]] = {}
        self._drains: dict[int, asyncio.Task[None]] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._requests = asyncio.Semaphore(self.options.concurrency)
        self._settled = asyncio.Event()
        self._held = 0
        self._task: asyncio.Task[None] | None = None
        self._per_chat = max(1, int(self.options.defer_after / self.options.limits.chat_window))
        self._lease_until: datetime | None = None  # this worker's lease runs out then (as far as it knows)
        self._lapsed_at: datetime | None = None  # found run out then: rows claimed before may be another's

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name=f"delivery {self.options.worker}")
        return self._task

    async def stop(self) -> None:
        """Stop claiming, let the messages on the wire finish, give the rest back to the queue."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.gather(*self._drains.values(), *self._in_flight, return_exceptions=True)
        await self.store.run(outbox.release, self.options.worker)
        await self.store.run(workers.retire, self.options.worker)

    async def run(self) -> None:
        renewal = asyncio.create_task(self._keep_lease(), name=f"lease {self.options.worker}")
        try:
            while True:
                room = self.options.backlog - self._held
                if room <= 0:
                    self._settled.clear()
                    await self._settled.wait()
                    continue
                lease, rows = await self.store.run(outbox_state.claim, self.options.worker, clock=self.clock,
                                                   lease=self.options.lease, limit=room)
                self._note(lease)
                for row in rows:
                    row["held_at"] = lease.at
                await self._dispatch(rows)
                if len(rows) < room:
                    await asyncio.sleep(self.options.poll_interval)
        finally:
            renewal.cancel()
            for drain in list(self._drains.values()):
                drain.cancel()

    async def _keep_lease(self) -> None:
        """Renew this worker's lease while the loop runs: its claims are its own only while it lives."""
        while True:
            await asyncio.sleep(self.options.lease / 3)  # the first claim took the lease
            self._note(await self.store.run(outbox_state.hold, self.options.worker, clock=self.clock,
                                            seconds=self.options.lease))

    def _note(self, lease: Lease) -> None:
        if not lease.unbroken:
            self._lapsed_at = max(self._lapsed_at or lease.at, lease.at)
        self._lease_until = max(self._lease_until or lease.until, lease.until)

    async def _still_holds(self, row: dict[str, Any]) -> bool:
        """Whether this worker may send `row` now.  Without asking the store when its lease has not run out
        since the row was claimed and has half its length to run (time enough for a request to finish);
        else the store says whether the row is still this worker's, and renews the lease."""
        lapsed_at, lease_until = self._lapsed_at, self._lease_until
        if (lapsed_at is not None and lease_until is not None and row["held_at"] >= lapsed_at
                and self.clock() + timedelta(seconds=self.options.lease / 2) < lease_until):
            return True
        lease, ours = await self.store.run(outbox_state.confirm, self.options.worker, row["id"], clock=self.clock,
                                           lease=self.options.lease)
        self._note(lease)
        if ours:
            row["held_at"] = lease.at  # held without a break since this check
        return ours

    async def _dispatch(self, rows: list[dict[str, Any]]) -> None:
        overflow = []
        for row in rows:
            row["sent_ids"] = json.loads(row["message_ids"]) if row["message_ids"] else []
            self._held += 1
            queue = self._queues.setdefault(row["chat_id"], deque())
            if len(queue) >= self._per_chat:
                overflow.append(row)
                continue
            queue.append(row)
            if row["chat_id"] not in self._drains:
                self._drains[row["chat_id"]] = asyncio.create_task(self._drain(row["chat_id"]))
        if overflow:
            await self._defer(overflow, self.options.defer_after, "waiting for the chat's rate limit")

    async def _drain(self, chat_id: int) -> None:
        """Send one chat's rows in order; a chat held up for long gives its rows back for later."""
        queue = self._queues[chat_id]
        try:
            while queue:
                if self.limiter.chat_delay(chat_id) > self.options.defer_after:
                    rows = list(queue)
                    queue.clear()
                    await self._defer(rows, self.limiter.chat_delay(chat_id), "waiting for the chat's rate limit")
                    break
                await self._admit(chat_id)
                row = queue.popleft()
                row["admitted"] = True
                # From here the row is on the wire: cancelling the loop does not cut it in half.
                task = asyncio.create_task(self._deliver(row))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
                await asyncio.shield(task)
        finally:
            self._drains.pop(chat_id, None)
            if not queue:
                self._queues.pop(chat_id, None)

    async def _defer(self, rows: list[dict[str, Any]], seconds: float, reason: str) -> None:
        # +1 s: the store keeps whole seconds, and a row due too early would only be deferred again.
        not_before = self.clock() + timedelta(seconds=seconds + 1)
        await self.store.run(outbox_state.defer, self.options.worker, [row["id"] for row in rows], not_before, reason)
        self._release(len(rows))

    def _release(self, count: int) -> None:
        self._held -= count
        self._settled.set()

    async def _deliver(self, row: dict[str, Any]) -> None:
        ADMITTED.set(True)  # this task's requests wait for the limiter themselves (`_admit`)
        try:
            await self._attempt(row)
        except Exception as exc:
            log.exception("outbox row %s: unexpected error, will retry", row["id"])
            await self._retry_or_fail(row["chat_id"], row, f"{type(exc).__name__}: {exc}")
        finally:
            if row.pop("admitted", False):  # failed before its first request
                self._requests.release()
            self._release(1)

    async def _attempt(self, row: dict[str, Any]) -> None:
        chat_id = row["chat_id"]
        while True:
            try:
                message_ids = await self._send_parts(chat_id, row)
            except ClaimLost:
                log.warning("outbox row %s was taken over by another worker while this one was held up; "
                            "left to it", row["id"])
            except ChatMigrated as exc:
                log.info("chat %s became supergroup %s; following it", chat_id, exc.new_chat_id)
                await self.store.run(migrate_chat, chat_id, exc.new_chat_id)
                chat_id = exc.new_chat_id
                continue
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                log.warning("Telegram asked to wait %s s (429); pausing all sends", seconds)
                self.limiter.pause(chat_id, seconds)
                await self._retry_later(chat_id, row, seconds, f"429 Too Many Requests: retry after {seconds:g} s")
            except Forbidden as exc:
                await self._chat_gone(chat_id, row, str(exc))
            except BadRequest as exc:
                if "chat not found" in exc.message.lower():
                    await self._chat_gone(chat_id, row, str(exc))
                else:
                    log.error("outbox row %s to chat %s refused by Telegram: %s", row["id"], chat_id, exc)
                    await self.store.run(outbox_state.mark_failed, row["id"], f"400 {exc.message}")
            except NetworkError as exc:  # includes TimedOut
                log.warning("outbox row %s to chat %s: %s; will retry", row["id"], chat_id, exc)
                await self._retry_or_fail(chat_id, row, f"network: {exc.message}")
            else:
                await self.store.run(outbox.mark_sent, row["id"], message_ids, now=self.clock())
            return

    async def _retry_or_fail(self, chat_id: int, row: dict[str, Any], error: str) -> None:
        """A send failed: retried with a growing delay, until sends have failed for `give_up_after`."""
        now = self.clock()
        since = from_db(row["failing_since"]) or now
        if now - since >= self.options.give_up_after:
            log.error("outbox row %s: sends have failed since %s (%s times), giving up: %s", row["id"],
                      row["failing_since"], row["attempts"] + 1, error)
            await self.store.run(outbox_state.mark_failed, row["id"], error)
            return
        delay = min(300.0, self.options.retry_backoff * 2.0 ** row["attempts"])
        await self._retry_later(chat_id, row, delay, error, failed=True)

    async def _retry_later(self, chat_id: int, row: dict[str, Any], seconds: float, error: str, *,
                           failed: bool = False) -> None:
        """Back to the queue for `seconds`, with the chat's rows queued behind it, so that they keep their order;
        a `failed` send is counted against the row."""
        queue = self._queues.get(chat_id, deque())
        behind = list(queue)
        queue.clear()
        now = self.clock()
        not_before = now + timedelta(seconds=seconds)
        waiting = [r["id"] for r in behind]
        if failed:
            await self.store.run(outbox_state.failed_attempt, self.options.worker, row["id"], not_before, error,
                                 now=now)
        else:
            waiting.insert(0, row["id"])
        await self.store.run(outbox_state.defer, self.options.worker, waiting, not_before, error)
        self._release(len(behind))

    async def _chat_gone(self, chat_id: int, row: dict[str, Any], error: str) -> None:
        """Skip this row and the chat's other claimed rows, and mark the subscriber inactive."""
        queue = self._queues.get(chat_id, deque())
        queued = list(queue)
        queue.clear()  # the chat's drain stops after this row
        log.info("chat %s is gone (%s); marked inactive", chat_id, error)
        await self.store.run(outbox_state.chat_gone, chat_id, [row["id"], *(r["id"] for r in queued)], error)
        self._release(len(queued))

    async def _send_parts(self, chat_id: int, row: dict[str, Any]) -> list[int]:
        """Send what is left of a row; returns the message ids of all its parts."""
        parts = self._parts(row)
        sent = list(row["sent_ids"])
        for part in parts[len(sent):]:
            message = await self._request(chat_id, part, row)
            sent.append(message.message_id)
            if len(sent) < len(parts):
                await self.store.run(outbox_state.save_progress, row["id"], sent)
                row["sent_ids"] = sent
        return sent

    def _parts(self, row: dict[str, Any]) -> list[Callable[[int], Awaitable[Message]]]:
        """A photo captioned with the text if it fits a caption; else the photo with the text's first line,
        then the text, split between blocks when it is over the message limit."""
        text, mode, photo = row["text"], row["parse_mode"], row["photo"]
        parts: list[Callable[[int], Awaitable[Message]]] = []
        if photo:
            if length(text) <= CAPTION_LIMIT:
                return [lambda chat: self._send(chat, row, text, mode, photo)]
            heading = excerpt(strip_tags(text).strip().split("\n", 1)[0], 200)
            parts.append(lambda chat: self._send(chat, row, heading, None, photo))
        pieces = [text] if length(text) <= MESSAGE_LIMIT else split_blocks(text.split("\n\n"))
        parts += [lambda chat, piece=piece: self._send(chat, row, piece, mode, None) for piece in pieces]
        return parts

    async def _send(self, chat_id: int, row: dict[str, Any], text: str, parse_mode: str | None,
                    photo: bytes | None) -> Message:
        """sendMessage or sendPhoto; HTML that Telegram cannot parse goes again as plain text."""
        try:
            return await self._post(chat_id, row, text, parse_mode, photo)
        except BadRequest as exc:
            if not parse_mode or "can't parse entities" not in exc.message.lower():
                raise
        log.warning("chat %s: Telegram could not parse a message's HTML; sending it as plain text", chat_id)
        await self.limiter.acquire(chat_id)
        return await self._post(chat_id, row, strip_tags(text), None, photo)

    async def _post(self, chat_id: int, row: dict[str, Any], text: str, parse_mode: str | None,
                    photo: bytes | None) -> Message:
        """One request, only while this worker still holds the row (`ClaimLost` if it does not)."""
        if not await self._still_holds(row):
            raise ClaimLost
        if photo:
            return await self.bot.send_photo(chat_id, photo, caption=text or None, parse_mode=parse_mode)
        return await self.bot.send_message(chat_id, text, parse_mode=parse_mode, link_preview_options=NO_PREVIEW)

    async def _admit(self, chat_id: int) -> None:
        """Wait for the chat's limits, a free connection and the overall limit; holds a connection."""
        await asyncio.sleep(self.limiter.chat_delay(chat_id))
        await self._requests.acquire()
        try:
            await self.limiter.acquire(chat_id)
        except BaseException:
            self._requests.release()
            raise

    async def _request(self, chat_id: int, send: Callable[[int], Awaitable[Message]], row: dict[str, Any]) -> Message:
        """One API call; a row's first call was admitted by its chat's drain, later ones wait their turn."""
        if not row.pop("admitted", False):
            await self._admit(chat_id)
        try:
            return await send(chat_id)
        finally:
            self._requests.release()
