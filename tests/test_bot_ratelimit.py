"""The sliding-window limiter admits Telegram's counts per window, never a burst beyond them."""

from __future__ import annotations

import pytest
from communique.bot.ratelimit import Limits, SlidingWindowLimiter

EXACT = Limits(margin=0.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admitted_at(limiter: SlidingWindowLimiter, clock: Clock, chats: list[int]) -> list[float]:
    """Send to each chat in turn as soon as the limiter admits it; returns the send times."""
    times = []
    for chat in chats:
        clock.now += limiter.delay(chat)
        assert limiter.try_acquire(chat)
        times.append(round(clock.now - 1000.0, 6))
    return times


def test_thirty_a_second_overall_paced_not_in_bursts() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(EXACT, clock)
    times = admitted_at(limiter, clock, list(range(1, 91)))
    assert times == [round(i / 30, 6) for i in range(90)]
    # No window of one second ever holds more than 30, wherever it starts.
    assert all(sum(1 for t in times if start <= t < start + 1.0 - 1e-9) <= 30 for start in times)


def test_timers_that_wake_a_little_late_do_not_slow_the_pace() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(Limits(margin=0.03), clock)
    times = []
    for chat in range(1, 301):
        clock.now += limiter.delay(chat) + 0.002  # asyncio.sleep overshoots
        assert limiter.try_acquire(chat)
        times.append(clock.now)
    assert times[-1] - times[0] == pytest.approx(299 * 1.03 / 30, abs=0.003)
    assert all(b - a >= 1.0 for a, b in zip(times, times[30:], strict=False))  # 31 sends never within 1 s
    clock.now += 0.5  # idle: the pace starts again from now
    assert limiter.delay(500) == 0.0 and limiter.try_acquire(500)
    assert limiter.delay(501) == pytest.approx(1.03 / 30)


def test_one_a_second_to_a_chat_and_twenty_a_minute_to_a_group() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(EXACT, clock)
    assert admitted_at(limiter, clock, [5] * 3) == [0.0, 1.0, 2.0]
    clock.now = 2000.0
    group = admitted_at(limiter, clock, [-100] * 21)
    assert [round(t - 1000.0) for t in group[:20]] == list(range(20))
    assert round(group[20] - 1000.0) == 60  # the 21st waits for the first to leave the minute


def test_another_chat_is_not_held_up_by_a_busy_one() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(EXACT, clock)
    assert limiter.try_acquire(5)
    clock.now += 1 / 30  # the overall pace
    assert not limiter.try_acquire(5)
    assert limiter.try_acquire(6)
    assert round(limiter.chat_delay(5), 6) == round(1 - 1 / 30, 6) and limiter.chat_delay(7) == 0.0


def test_a_429_pauses_every_chat_for_retry_after() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(EXACT, clock)
    limiter.pause(5, 3.0)
    assert limiter.delay(5) == 3.0 and limiter.delay(6) == 3.0
    assert limiter.chat_delay(5) == 3.0 and limiter.chat_delay(6) == 0.0
    clock.now += 3.0
    assert limiter.try_acquire(6)


def test_the_margin_widens_every_window_and_scaling_shortens_them() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(Limits(margin=0.1).scaled(10), clock)
    assert admitted_at(limiter, clock, [5, 5]) == [0.0, 0.11]
    assert Limits().scaled(10).group_window == 6.0


async def test_an_urgent_send_takes_the_next_slot_before_the_sends_already_waiting() -> None:
    import asyncio

    limiter = SlidingWindowLimiter(Limits(overall=10, overall_window=0.2, margin=0.0))
    admitted: list[int] = []

    async def send(chat: int, *, urgent: bool = False) -> None:
        await limiter.acquire(chat, urgent=urgent)
        admitted.append(chat)

    waiting = [asyncio.create_task(send(chat)) for chat in range(1, 11)]
    await asyncio.sleep(0.03)  # the first sends went at the pace of one every 20 ms; the others wait
    await send(99, urgent=True)
    await asyncio.gather(*waiting)
    assert admitted.index(99) <= 3 and len(admitted) == 11
