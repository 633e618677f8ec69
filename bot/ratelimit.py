"""Telegram's send limits, kept exactly: never more than the count in any window, wherever it starts.

At most `overall` messages per `overall_window` seconds in all, `per_chat` per `chat_window`
to one chat, and `per_group` per `group_window` to one group (chat id < 0).  Per chat and per
group these are true sliding windows: a send is admitted when, counting it, no window of that
length holds more sends than the limit.  (A token bucket, such as PTB's AIORateLimiter, lets a
full bucket go at once, and then a window can hold up to twice the count.)

The overall limit is kept by pacing: one send every `overall_window / overall` seconds, which
puts at most `overall` sends in any window and never a burst.  (Thirty sends let go at once reach
Telegram unevenly, and at the edge of the next window their jitter exceeds any safety margin.)
Per chat and per group, a send goes as soon as the window allows: the first alert to a group
should not wait.

Send times are recorded when a send is admitted, on the event loop's clock; a check and the
record happen without an `await` in between, so concurrent tasks never overbook a window.

Command replies and alerts share one limiter (`bot.reply_limiter` puts the bot's own requests
through it).  A reply is `urgent`, someone is waiting for it: while an urgent send could go
now, no other send takes the next slot.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning


@dataclass(frozen=True, slots=True)
class Limits:
    overall: int = 30
    overall_window: float = 1.0
    per_group: int = 20
    group_window: float = 60.0
    per_chat: int = 1
    chat_window: float = 1.0
    # Each window is held this fraction longer than Telegram's: requests reach the server with
    # some jitter after we admit them, and Telegram's clock is not ours.
    margin: float = 0.03

    def scaled(self, factor: float) -> Limits:
        """The same counts over windows `factor` times shorter (for tests and benchmarks)."""
        return replace(self, overall_window=self.overall_window / factor, group_window=self.group_window / factor,
                       chat_window=self.chat_window / factor)

    def chat_rules(self, chat_id: int) -> list[tuple[int, float]]:
        """(count, window) pairs that apply to one chat, windows including the safety margin."""
        rules = [(self.per_chat, self.chat_window)]
        if chat_id < 0:
            rules.append((self.per_group, self.group_window))
        return [(count, window * (1 + self.margin)) for count, window in rules]


def _wait(times: deque[float], count: int, window: float, now: float) -> float:
    """Seconds until one more send fits: the count-th most recent send must have left the window."""
    if len(times) < count:
        return 0.0
    return max(0.0, times[-count] + window - now)


class SlidingWindowLimiter:
    """Admits sends under `Limits`; `pause` holds a chat (and everyone) after a 429."""

    def __init__(self, limits: Limits = Limits(), clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._next_slot: float | None = None  # when the pace allows the next send
        # Per chat, only the most recent `count` sends of a window decide the next one: short deques.
        self._chats: dict[int, deque[float]] = {}
        self._paused_until: dict[int | None, float] = {}
        self._urgent: Counter[int] = Counter()  # chats with an urgent send waiting
        self._recorded = 0

    def chat_delay(self, chat_id: int) -> float:
        """Seconds until this chat's own limits (and any pause) allow a send, ignoring the overall limit."""
        now = self.clock()
        times = self._chats.get(chat_id, deque())
        waits = [_wait(times, count, window, now) for count, window in self.limits.chat_rules(chat_id)]
        waits.append(self._paused_until.get(chat_id, now) - now)
        return max(0.0, *waits)

    def delay(self, chat_id: int) -> float:
        """Seconds until a send to `chat_id` is admitted under every limit."""
        now = self.clock()
        paced = self._next_slot - now if self._next_slot is not None else 0.0
        return max(paced, self._paused_until.get(None, now) - now, self.chat_delay(chat_id))

    def try_acquire(self, chat_id: int, *, urgent: bool = False) -> bool:
        """Record a send to `chat_id` now if every limit admits it, and (unless `urgent`) no urgent send
        waiting could take the slot."""
        if self.delay(chat_id) > 0:
            return False
        if not urgent and any(self.chat_delay(chat) <= 0 for chat in self._urgent):
            return False
        now = self.clock()
        self._next_slot = self._pace(now)
        self._chats.setdefault(chat_id, deque(maxlen=max(self.limits.per_chat, self.limits.per_group))).append(now)
        self._recorded += 1
        if self._recorded % 1000 == 0:
            self._forget_idle(now)
        return True

    def _spacing(self) -> float:
        return self.limits.overall_window * (1 + self.limits.margin) / self.limits.overall

    def _pace(self, now: float) -> float:
        """The next slot: one spacing after this send's slot.  A send that woke a little late (the event
        loop's timers overshoot by a millisecond or so) keeps to the schedule rather than pushing every
        later send back; late by more than half the margin, the schedule starts again from now."""
        window = self.limits.overall_window
        if self._next_slot is not None and now - self._next_slot <= window * self.limits.margin / 2:
            return self._next_slot + self._spacing()
        return now + self._spacing()

    async def acquire(self, chat_id: int, *, urgent: bool = False) -> None:
        """Wait until a send to `chat_id` is admitted, and record it; an `urgent` one goes before the others."""
        if urgent:
            self._urgent[chat_id] += 1
        try:
            while not self.try_acquire(chat_id, urgent=urgent):
                # Held back only by an urgent send: wait for it to take its slot.
                await asyncio.sleep(self.delay(chat_id) or self._spacing() / 2)
        finally:
            if urgent:
                self._urgent[chat_id] -= 1
                if not self._urgent[chat_id]:
                    del self._urgent[chat_id]

    def pause(self, chat_id: int, seconds: float) -> None:
        """Telegram answered 429 with retry_after: nothing goes out for `seconds`, to this chat or any other."""
        until = self.clock() + seconds
        for key in (chat_id, None):
            self._paused_until[key] = max(until, self._paused_until.get(key, until))

    def _forget_idle(self, now: float) -> None:
        """Drop chats whose sends have all left their windows, and pauses that are over."""
        for chat in list(self._chats):
            longest = max(window for _, window in self.limits.chat_rules(chat))
            if self._chats[chat][-1] < now - longest:
                del self._chats[chat]
        for key in [key for key, until in self._paused_until.items() if until < now]:
            del self._paused_until[key]


def retry_seconds(exc: RetryAfter) -> float:
    """`retry_after` in seconds, whether PTB gives an int or (opting in to v23 behaviour) a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
