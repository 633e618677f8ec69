"""Command replies keep Telegram's limits with the alerts, go before them, and get through a 429."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from bot_harness import running_bot
from communique.bot.delivery import DeliveryOptions
from communique.bot.ratelimit import Limits
from conftest import NOW
from fakebotapi import FakeBotAPI, RateLimits

from communique.models import Alert
from communique.settings import Settings
from communique.store import outbox

READER = 4242
# Telegram's limits over windows ten times shorter, as the bot harness keeps them (FAST).
LIMITS = RateLimits().scaled(10)
# Over windows only twice shorter: the fake Bot API runs in the bot's process, and on a loaded machine a
# request reaches its handler thread up to ~60 ms after the bot let it go (measured under load ~8 on 2 cores),
# which bunches sends paced correctly; the bot's safety margin (20 %) must exceed that, so the windows cannot
# be as short as FAST's 100 ms when 30 sends fill each one.
FAN_OUT_SCALE = 2


def sends(fake: FakeBotAPI, status: int) -> int:
    return sum(1 for c in fake.calls if c.method == "sendMessage" and c.status == status)


async def test_a_flood_of_commands_gets_every_reply_within_the_limits_and_through_a_429(
        db_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with FakeBotAPI(enforce_rate_limits=True, limits=LIMITS) as fake:
        fake.throttle_next(1, retry_after=1, method="sendMessage")
        async with running_bot(fake, db_path, settings):
            for _ in range(20):
                fake.push_message(READER, "/help")
            await fake.wait_for_messages(READER, 20, timeout=15)
        assert [t.split("\n")[0] for t in fake.texts(READER)] == ["Commands"] * 20
        assert sends(fake, 429) == 1  # the injected one: the bot itself never broke a limit
        assert fake.rate_violations() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_replies_during_a_fan_out_keep_the_overall_limit_and_go_before_the_alerts(
        db_path: Path, settings: Settings) -> None:
    chats = [50_000 + i for i in range(150)]
    options = DeliveryOptions(worker="test", limits=Limits(margin=0.2).scaled(FAN_OUT_SCALE), poll_interval=0.05)
    with FakeBotAPI(enforce_rate_limits=True, limits=RateLimits().scaled(FAN_OUT_SCALE)) as fake:
        async with running_bot(fake, db_path, settings, options=options) as bot:
            def fan_out(db: object) -> None:
                for chat in chats:
                    outbox.enqueue(db, Alert("alert:mod_russia/1", chat, "Statement"), now=NOW)

            await bot.store.run(fan_out)
            await fake.wait_for(lambda: sends(fake, 200) >= 30)
            asked = time.monotonic()
            for reader in range(5):
                fake.push_message(READER + reader, "/help")
            for reader in range(5):
                await fake.wait_for_messages(READER + reader, 1, timeout=10)
            answered = time.monotonic() - asked
            alerts_meanwhile = sum(1 for c in chats if fake.texts(c))
            await fake.wait_for(lambda: all(fake.texts(c) for c in chats), timeout=20)
        assert sends(fake, 429) == 0 and fake.rate_violations() == []
    assert alerts_meanwhile < len(chats) and answered < 1.0
