"""Delivering the outbox: once per chat, within Telegram's limits, through 429, 403, migration and bad messages."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot_harness import FAST
from communique.bot import outbox_state
from communique.bot.delivery import Delivery, DeliveryOptions
from communique.bot.ratelimit import Limits
from conftest import NOW, ROOT
from fakebotapi import FakeBotAPI, RateLimits
from fakebotapi_rules import ApiError
from telegram import Bot

from communique.messages import MESSAGE_LIMIT, length
from communique.models import Alert, Statement
from communique.pipeline import ingest_statement
from communique.settings import Settings
from communique.store import StoreThread, open_db, outbox, transaction, workers
from communique.store.subscribers import ensure_subscriber, subscribe
from communique.store.timefmt import from_db

POST = Statement("mod_russia", "51234", "Средствами ПВО перехвачены 24 беспилотника над Белгородской областью.",
                 date=NOW - timedelta(minutes=3), message_id=51234, source="telethon")


def chat_ids(count: int) -> list[int]:
    """Nine private chats for each group."""
    return [-1_000_000_000_000 - i if i % 10 == 0 else 10_000 + i for i in range(count)]


def alert_everyone(db_path: Path, chats: list[int], settings: Settings) -> None:
    """The chats follow @mod_russia, and a post of it arrives: one outbox row per chat."""
    db = open_db(db_path)
    with transaction(db):
        for chat in chats:
            ensure_subscriber(db, chat, now=NOW, chat_type="private" if chat > 0 else "supergroup")
            subscribe(db, chat, "channel", "mod_russia", now=NOW)
        assert ingest_statement(db, POST, settings=settings, now=NOW).alerts == len(chats)
    db.conn.close()


def queue(db_path: Path, *alerts: Alert) -> None:
    db = open_db(db_path)
    with transaction(db):
        for alert in alerts:
            outbox.enqueue(db, alert, now=NOW)
    db.conn.close()


def count_in(db: Any, *states: str) -> int:
    marks = ",".join("?" * len(states))
    return db.execute(f"SELECT count(*) FROM outbox WHERE state IN ({marks})", states).fetchone()[0]


async def until(store: StoreThread, predicate: Any, timeout: float = 20.0, *, progress: Any = None) -> None:
    """Wait for `predicate`; fail after `timeout` seconds, counted from the last change of `progress` if given:
    on a loaded machine a long delivery is slow, not stuck, while rows keep being settled."""
    deadline, last = time.monotonic() + timeout, None
    while not await store.run(predicate):
        if progress is not None and (now := await store.run(progress)) != last:
            deadline, last = time.monotonic() + timeout, now
        assert time.monotonic() < deadline, f"delivery did not get there in time (stuck at {last})"
        await asyncio.sleep(0.05)


def done(db: Any) -> int:
    return count_in(db, "sent", "skipped", "failed")


def settled(db: Any) -> bool:
    return count_in(db, "pending", "sending") == 0


async def deliver(fake: FakeBotAPI, store: StoreThread, **options: Any) -> list[dict[str, Any]]:
    """Run one worker until the outbox is settled; returns the outbox rows."""
    options = {"worker": "test", "limits": FAST, "poll_interval": 0.05} | options
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        delivery = Delivery(bot, store, DeliveryOptions(**options))
        delivery.start()
        try:
            await until(store, settled, progress=done)
        finally:  # a test that fails says why, not how the bot closed under a running delivery
            await delivery.stop()
    return await store.run(lambda db: list(db.query("SELECT * FROM outbox ORDER BY id")))


async def test_one_alert_reaches_two_thousand_chats_once_within_the_limits_through_429_and_403(
        db_path: Path, settings: Settings, store: StoreThread) -> None:
    chats = chat_ids(2000)
    blocked = set(chats[5::97])
    assert any(c < 0 for c in blocked) and any(c > 0 for c in blocked)
    alert_everyone(db_path, chats, settings)
    # Windows as Telegram's, but 300 a second overall so that the test takes seconds, not minutes.
    with FakeBotAPI(enforce_rate_limits=True, limits=RateLimits(overall=300)) as fake:
        for chat in blocked:
            fake.block(chat)
        fake.throttle_next(3, retry_after=1, method="sendMessage")
        rows = await deliver(fake, store, limits=Limits(overall=300), concurrency=2)
        delivered = Counter(m["chat"]["id"] for m in fake.sent_messages())
        assert delivered == dict.fromkeys(set(chats) - blocked, 1)
        assert fake.rate_violations() == []
        assert sum(1 for c in fake.calls if c.status == 429) == 3
    assert Counter(r["state"] for r in rows) == {"sent": 2000 - len(blocked), "skipped": len(blocked)}
    inactive = await store.run(lambda db: {r[0] for r in db.execute("SELECT chat_id FROM subscribers "
                                                                    "WHERE active = 0")})
    assert inactive == blocked


async def test_a_worker_that_died_elsewhere_has_its_claims_taken_over_when_its_lease_runs_out(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, store: StoreThread) -> None:
    chats = [20_000 + i for i in range(300)]
    alert_everyone(db_path, chats, settings)
    options = {"limits": Limits(overall=100), "poll_interval": 0.05, "concurrency": 4, "lease": 1.0}
    async with Bot(fake_bot_api.token, base_url=fake_bot_api.base_url) as bot:
        first = Delivery(bot, store, DeliveryOptions(worker="other-host:1:1", **options))
        task = first.start()
        await until(store, lambda db: count_in(db, "sent") >= 100)
        task.cancel()  # killed: no clean stop, its claimed rows are not given back, its lease is not renewed
        await asyncio.sleep(0.3)  # requests already on the wire finish and are recorded
        orphaned = await store.run(count_in, "sending")
        assert orphaned > 0
        last_lease = await store.run(lease_of, "other-host:1:1")
        second = Delivery(bot, store, DeliveryOptions(worker="second", **options))
        second.start()
        await until(store, settled)
        await second.stop()
        assert await store.run(lease_of, "other-host:1:1") == last_lease  # a dead worker renews nothing
    assert Counter(m["chat"]["id"] for m in fake_bot_api.sent_messages()) == dict.fromkeys(chats, 1)


def lease_of(db: Any, worker: str) -> str | None:
    row = db.execute("SELECT lease_until FROM workers WHERE worker = ?", (worker,)).fetchone()
    return row[0] if row else None


KILLED_WORKER = """
import sys
from datetime import UTC, datetime
from communique.bot import outbox_state
from communique.process import identity
from communique.store import open_db, transaction
db = open_db(sys.argv[1])
with transaction(db):
    lease, rows = outbox_state.claim(db, identity(), clock=lambda: datetime.now(UTC), lease=30, limit=int(sys.argv[2]))
print(len(rows), flush=True)
sys.stdin.read()  # until killed
"""


async def test_a_restarted_process_takes_back_the_claims_of_its_killed_predecessor_at_once_in_order(
        fake_bot_api: FakeBotAPI, db_path: Path, store: StoreThread) -> None:
    chats = [21_000 + i for i in range(10)]
    queue(db_path, *(Alert(f"news:{n}", chat, f"Item {n}") for n in range(3) for chat in chats))
    predecessor = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, str(db_path), str(len(chats))],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert predecessor.stdout is not None and predecessor.stdout.readline() == f"{len(chats)}\n"
    predecessor.kill()  # kill -9: its claims stay `sending`, its lease has 30 s to run
    predecessor.wait()
    started = time.monotonic()
    await deliver(fake_bot_api, store)  # as the restarted process: this process's own identity
    assert time.monotonic() - started < 10
    for chat in chats:
        assert fake_bot_api.texts(chat) == ["Item 0", "Item 1", "Item 2"]


async def test_a_live_worker_keeps_its_claims_and_its_chats_wait_for_it(
        fake_bot_api: FakeBotAPI, db_path: Path, store: StoreThread) -> None:
    busy, free = [22_001, 22_002], [22_003, 22_004]
    queue(db_path, *(Alert(f"news:{n}", chat, f"Item {n}") for n in range(2) for chat in busy + free))

    def other_worker_claims(db: Any) -> list[int]:
        workers.renew(db, "other-host:7:7", datetime.now(UTC) + timedelta(seconds=30))
        return [row["chat_id"] for row in outbox.claim(db, "other-host:7:7", now=datetime.now(UTC), limit=2)]

    assert await store.run(other_worker_claims) == busy
    async with Bot(fake_bot_api.token, base_url=fake_bot_api.base_url) as bot:
        delivery = Delivery(bot, store, DeliveryOptions(worker="this", limits=FAST, poll_interval=0.05))
        delivery.start()
        await until(store, lambda db: count_in(db, "sent") == 4)
        await asyncio.sleep(0.3)
        await delivery.stop()
    assert {chat: fake_bot_api.texts(chat) for chat in busy + free} == {
        22_001: [], 22_002: [], 22_003: ["Item 0", "Item 1"], 22_004: ["Item 0", "Item 1"]}
    assert await store.run(count_in, "sending") == 2


async def test_a_burst_and_one_transient_error_lose_nothing(fake_bot_api: FakeBotAPI, db_path: Path,
                                                            store: StoreThread) -> None:
    queue(db_path, *(Alert(f"news:{n}", READER, f"Item {n}") for n in range(20)))
    # The store's clock runs 20 times faster, so each row is put back to wait for the chat's limit, and
    # picked up again, many times in a few seconds (one row a round: `defer_after` is under one send).
    started = time.monotonic()
    fast_clock = lambda: datetime.now(UTC) + timedelta(seconds=(time.monotonic() - started) * 19)  # noqa: E731

    async def a_502_late_in_the_burst() -> None:
        await until(store, lambda db: count_in(db, "sent") >= 15)
        fake_bot_api.fail_next(1, ApiError(502, "Bad Gateway"), chat_id=READER)

    injector = asyncio.create_task(a_502_late_in_the_burst())
    options = DeliveryOptions(worker="test", limits=FAST, poll_interval=0.02, defer_after=0.01, retry_backoff=0.1)
    async with Bot(fake_bot_api.token, base_url=fake_bot_api.base_url) as bot:
        delivery = Delivery(bot, store, options, clock=fast_clock)
        delivery.start()
        await until(store, settled)
        await delivery.stop()
    await injector
    rows = await store.run(lambda db: list(db.query("SELECT * FROM outbox ORDER BY id")))
    assert [c.status for c in fake_bot_api.calls_to("sendMessage", READER)].count(502) == 1
    assert fake_bot_api.texts(READER) == [f"Item {n}" for n in range(20)]
    assert {r["state"] for r in rows} == {"sent"}
    assert sorted(r["attempts"] for r in rows) == [0] * 19 + [1]  # only the real failure counts


async def test_two_workers_at_once_never_send_the_same_alert_twice(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings) -> None:
    chats = [30_000 + i for i in range(200)]
    alert_everyone(db_path, chats, settings)
    stores = [StoreThread(db_path), StoreThread(db_path)]
    async with Bot(fake_bot_api.token, base_url=fake_bot_api.base_url) as bot:
        workers = [Delivery(bot, s, DeliveryOptions(worker=f"w{i}", limits=Limits(overall=60), backlog=20,
                                                    poll_interval=0.02)) for i, s in enumerate(stores)]
        for worker in workers:
            worker.start()
        await until(stores[0], settled, progress=done)
        for worker in workers:
            await worker.stop()
    senders = await stores[0].run(lambda db: dict(db.execute("SELECT claimed_by, count(*) FROM outbox "
                                                             "GROUP BY claimed_by").fetchall()))
    for s in stores:
        s.close()
    assert Counter(m["chat"]["id"] for m in fake_bot_api.sent_messages()) == dict.fromkeys(chats, 1)
    assert set(senders) == {"w0", "w1"}  # both took part


async def test_a_worker_holds_its_lease_before_its_first_claim_so_another_never_takes_its_rows(
        fake_bot_api: FakeBotAPI, db_path: Path, settings: Settings, store: StoreThread) -> None:
    chats = [31_000 + i for i in range(20)]
    alert_everyone(db_path, chats, settings)
    async with Bot(fake_bot_api.token, base_url=fake_bot_api.base_url) as bot:
        # Started in the same moment on one store thread, their first store calls queue one behind the other.
        pair = [Delivery(bot, store, DeliveryOptions(worker=f"w{i}", limits=Limits(overall=60), poll_interval=0.02))
                for i in range(2)]
        for worker in pair:
            worker.start()
        await until(store, settled)
        for worker in pair:
            await worker.stop()
    assert Counter(m["chat"]["id"] for m in fake_bot_api.sent_messages()) == dict.fromkeys(chats, 1)


def test_two_workers_starting_at_once_never_claim_the_same_rows(db_path: Path) -> None:
    # A worker's first claim takes its lease in the same transaction: a claim without a live lease would be taken
    # over by the other worker's next claim, and both would send it.
    queue(db_path, *(Alert(f"news:{n}", 24_000 + n, f"Item {n}") for n in range(4)))
    db = open_db(db_path)
    claimed = {}
    for worker in ("w0", "w1"):
        with transaction(db):
            _, rows = outbox_state.claim(db, worker, clock=lambda: datetime.now(UTC), lease=30, limit=2)
        claimed[worker] = [row["chat_id"] for row in rows]
    db.conn.close()
    assert claimed == {"w0": [24_000, 24_001], "w1": [24_002, 24_003]}


async def test_a_worker_held_up_past_its_lease_does_not_send_what_another_worker_took_over(
        fake_bot_api: FakeBotAPI, db_path: Path, store: StoreThread) -> None:
    chat = 23_001
    queue(db_path, *(Alert(f"news:{n}", chat, f"Item {n}") for n in range(3)))
    late = [timedelta()]
    clock = lambda: datetime.now(UTC) + late[0]  # noqa: E731
    # One message per 2 s to the chat: after Item 0 the first worker waits, holding Items 1 and 2.
    options = {"limits": Limits(chat_window=2.0), "poll_interval": 0.05}
    async with Bot(fake_bot_api.token, base_url=fake_bot_api.base_url) as bot:
        first = Delivery(bot, store, DeliveryOptions(worker="held-up", **options), clock=clock)
        first.start()
        await until(store, lambda db: count_in(db, "sent") == 1)
        late[0] = timedelta(minutes=1)  # the first worker was held up: its 30 s lease has run out meanwhile
        other_store = StoreThread(db_path)
        other = Delivery(bot, other_store, DeliveryOptions(worker="other", **options), clock=clock)
        other.start()
        await until(store, settled)
        await asyncio.sleep(2.5)  # the first worker's turn for the chat comes again
        await other.stop()
        await first.stop()
        other_store.close()
    assert fake_bot_api.texts(chat) == ["Item 0", "Item 1", "Item 2"]


async def test_a_burst_to_one_group_keeps_its_order_and_the_group_and_chat_limits(
        db_path: Path, store: StoreThread) -> None:
    # Telegram's counts; windows of 1 s (not 60) per group and 50 ms (not 1 s) per chat, to keep the test short.
    windows = {"group_window": 1.0, "chat_window": 0.05}
    group = -1001234567890
    queue(db_path, *(Alert(f"news:{i}", group, f"Item {i}") for i in range(26)))
    with FakeBotAPI(enforce_rate_limits=True, limits=RateLimits(**windows)) as fake:
        fake.throttle_next(1, retry_after=1, method="sendMessage", chat_id=group)  # the first try of Item 0
        rows = await deliver(fake, store, limits=Limits(margin=0.3, **windows))
        assert fake.calls_to("sendMessage", group)[0].status == 429
        assert fake.texts(group) == [f"Item {i}" for i in range(26)]
        assert fake.rate_violations(tolerance=0.25) == []
    assert {r["state"] for r in rows} == {"sent"}


async def test_an_over_long_message_is_split_between_blocks(fake_bot_api: FakeBotAPI, db_path: Path,
                                                           store: StoreThread) -> None:
    blocks = [f"<b>Block {i}</b> " + " ".join(["слово"] * 300) for i in range(4)]  # ~1,800 characters each
    text = "\n\n".join(blocks)
    assert length(text) > MESSAGE_LIMIT
    queue(db_path, Alert("digest:1", READER, text, kind="digest"))
    [row] = await deliver(fake_bot_api, store)
    texts = fake_bot_api.texts(READER)
    assert row["state"] == "sent" and row["message_ids"] == "[1, 2]"
    assert len(texts) == 2 and all(len(t) <= MESSAGE_LIMIT for t in texts)
    assert "\n\n".join(texts) == "\n\n".join(b.replace("<b>", "").replace("</b>", "") for b in blocks)


async def test_html_telegram_cannot_parse_goes_out_as_plain_text(fake_bot_api: FakeBotAPI, db_path: Path,
                                                                 store: StoreThread) -> None:
    queue(db_path, Alert("alert:x/1", READER, "<b>Заявление</b> &amp; <unknown>тег</unknown>"))
    [row] = await deliver(fake_bot_api, store)
    [refused, plain] = fake_bot_api.calls_to("sendMessage", READER)
    assert refused.status == 400 and plain.params.get("parse_mode") is None
    # Telegram's own tags go; markup it does not know stays visible as text, so nothing is lost.
    assert fake_bot_api.texts(READER) == ["Заявление & <unknown>тег</unknown>"]
    assert row["state"] == "sent"


async def test_a_digest_photo_carries_its_caption_or_precedes_a_long_text(fake_bot_api: FakeBotAPI, db_path: Path,
                                                                           store: StoreThread) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    long_text = "<b>Daily digest</b> · 28 Nov\n\n" + " ".join(["запись"] * 400)
    queue(db_path, Alert("digest:a", READER, "<b>Daily digest</b> · 3 statements", kind="digest", photo=png),
          Alert("digest:b", OTHER, long_text, kind="digest", photo=png))
    rows = await deliver(fake_bot_api, store)
    assert [r["state"] for r in rows] == ["sent", "sent"]
    [captioned] = fake_bot_api.sent_messages(READER)
    assert captioned["caption"] == "Daily digest · 3 statements" and captioned["caption_entities"][0]["type"] == "bold"
    photo, text = fake_bot_api.sent_messages(OTHER)
    assert photo["caption"] == "Daily digest · 28 Nov" and "photo" in photo
    assert text["text"].startswith("Daily digest · 28 Nov\n\nзапись")
    [upload] = fake_bot_api.calls_to("sendPhoto", OTHER)
    assert upload.files["photo"] == png


async def test_a_group_upgraded_to_a_supergroup_is_followed(fake_bot_api: FakeBotAPI, db_path: Path,
                                                            settings: Settings, store: StoreThread) -> None:
    old, new = -4242, -1004242
    alert_everyone(db_path, [old], settings)
    fake_bot_api.migrate(old, new)
    [row] = await deliver(fake_bot_api, store)
    assert row["state"] == "sent" and row["chat_id"] == new
    assert fake_bot_api.texts(new)[0].startswith("🔔 Минобороны России")
    follows = await store.run(lambda db: db.execute("SELECT chat_id, value FROM subscriptions").fetchall())
    assert follows == [(new, "mod_russia")]


async def test_network_failures_are_retried_and_recorded_as_failed_only_after_the_give_up_time(
        fake_bot_api: FakeBotAPI, db_path: Path, store: StoreThread) -> None:
    queue(db_path, Alert("alert:x/1", READER, "first"), Alert("alert:x/2", OTHER, "second"))
    fake_bot_api.fail_next(1, ApiError(502, "Bad Gateway"), chat_id=READER)
    fake_bot_api.fail_next(1000, ApiError(502, "Bad Gateway"), chat_id=OTHER)
    started = time.monotonic()
    fast_clock = lambda: datetime.now(UTC) + timedelta(seconds=(time.monotonic() - started) * 99)  # noqa: E731
    async with Bot(fake_bot_api.token, base_url=fake_bot_api.base_url) as bot:
        delivery = Delivery(bot, store, DeliveryOptions(worker="test", limits=FAST, poll_interval=0.02,
                                                        retry_backoff=1.0, give_up_after=timedelta(minutes=2)),
                            clock=fast_clock)
        delivery.start()
        await until(store, settled)
        await delivery.stop()
    rows = await store.run(lambda db: list(db.query("SELECT * FROM outbox ORDER BY id")))
    assert fake_bot_api.texts(READER) == ["first"]
    assert [(r["state"], r["attempts"]) for r in rows[:1]] == [("sent", 1)]
    assert rows[1]["state"] == "failed" and rows[1]["error"] == "network: Bad Gateway"
    retried_for = from_db(rows[1]["not_before"]) - from_db(rows[1]["failing_since"])  # type: ignore[operator]
    assert rows[1]["attempts"] >= 5 and retried_for >= timedelta(minutes=1)


READER, OTHER = 4242, 4343
