"""The bot's own requests (command replies, error notes) under the limits the delivery loop keeps.

PTB sends a handler's reply straight away; under load that broke Telegram's limits (and a 429
pauses all delivery).  `ReplyLimiter` is PTB's rate-limiter seam: every message the bot sends
waits its turn in the delivery loop's `SlidingWindowLimiter`, ahead of alerts (a person is
waiting), and a 429 pauses everyone for `retry_after`, after which the reply is sent again.
The delivery loop's own requests, admitted already, pass straight through (`ADMITTED`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from communique.bot.ratelimit import SlidingWindowLimiter, retry_seconds
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger("communique.bot")
# Set by the delivery loop in the task sending an outbox row, whose limits it has already waited for.
ADMITTED: ContextVar[bool] = ContextVar("admitted by the delivery loop", default=False)
_MESSAGES = ("send", "editMessage", "copyMessage", "forwardMessage")


def counts_as_message(endpoint: str) -> bool:
    """Whether a Bot API method puts a message in a chat (what Telegram's limits count)."""
    return endpoint.startswith(_MESSAGES) and endpoint != "sendChatAction"


class ReplyLimiter(BaseRateLimiter[None]):
    def __init__(self, limiter: SlidingWindowLimiter, *, retries: int = 5) -> None:
        self.limiter, self.retries = limiter, retries

    async def initialize(self) -> None:
        """Nothing to set up: the limiter is the delivery loop's."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[Any]]],
                              args: Any, kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: None) -> bool | dict[str, Any] | list[Any]:
        chat_id = data.get("chat_id")
        if ADMITTED.get() or not counts_as_message(endpoint) or not isinstance(chat_id, int):
            return await callback(*args, **kwargs)
        retries = 0
        while True:
            await self.limiter.acquire(chat_id, urgent=True)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                retries += 1
                if retries > self.retries:
                    raise
                seconds = retry_seconds(exc)
                log.warning("Telegram asked to wait %g s (429) answering chat %s; pausing all sends", seconds,
                            chat_id)
                self.limiter.pause(chat_id, seconds)
