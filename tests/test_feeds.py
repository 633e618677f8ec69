"""Feed polling over real HTTP (a loopback site): entries stored once, polite conditional requests,
hostile feeds that cost at most an entry, backoff and pause with word to the admins, and coverage
of a statement by a later article.  `communique feeds` and `communique poll` at the end."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from communique.monitors.feed_state import Backoff, describe, get_feed
from communique.monitors.feeds import FeedPoller, PollPolicy, new_client
from conftest import NOW, SAMPLES
from feedsite import FeedSite, site_fixture  # noqa: F401  (the `site` fixture)
from sqlite_utils import Database

from communique.cli import main
from communique.models import Statement
from communique.pipeline import ingest_statement
from communique.settings import FeedConfig, Settings
from communique.store import StoreThread, transaction
from communique.store.matches import coverage
from communique.store.outbox import claim, mark_sent, pending_for
from communique.store.subscribers import ensure_subscriber, subscribe, update_subscriber

FEEDS = SAMPLES / "feeds"
MB = 1024 * 1024
POLICY = PollPolicy(timeout=0.5, max_redirects=3, backoff=Backoff(pause_after=3, max_delay=timedelta(hours=1)))
ADMINS = frozenset({111, 222})


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def rss(*items: str, declaration: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return f'{declaration}<rss version="2.0"><channel><title>Wire</title>{"".join(items)}</channel></rss>'.encode()


def item(guid: str, title: str, *, date: str | None = "Sat, 28 Nov 2026 10:00:00 +0000", link: str = "",
         text: str = "") -> str:
    parts = [f"<guid>{guid}</guid>", f"<title>{title}</title>", f"<pubDate>{date}</pubDate>" if date else ""]
    parts += [f"<link>{link}</link>" if link else "", f"<description>{text}</description>" if text else ""]
    return f"<item>{''.join(parts)}</item>"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(POLICY, trust_env=False) as http:
        yield http


def poller_for(store: StoreThread, client: httpx.AsyncClient, settings: Settings, *feeds: FeedConfig,
               clock: Clock | None = None) -> FeedPoller:
    return FeedPoller(store, replace(settings, feeds=feeds, admins=ADMINS), client, policy=POLICY,
                      clock=clock or Clock())


def titles(db: Database, feed: FeedConfig) -> list[str]:
    return [r[0] for r in db.execute("SELECT title FROM news WHERE feed = ? ORDER BY id", (feed.url,))]


# --- stored once, fetched politely -------------------------------------------------------


async def test_new_entries_are_stored_once_and_the_next_poll_sends_the_validators_and_gets_304(
        site: FeedSite, store: StoreThread, client: httpx.AsyncClient, settings: Settings, db: Database) -> None:
    modified = "Sat, 28 Nov 2026 12:00:00 GMT"
    feeds = tuple(
        FeedConfig(site.serve(f"/{name}", (FEEDS / name).read_bytes(), content_type=kind,
                              headers={"ETag": f'"{name}-1"', "Last-Modified": modified}), outlet, lang)
        for name, kind, outlet, lang in [("wire_en.xml", "application/rss+xml", "Sample Wire", "en"),
                                         ("wire_ar.xml", "application/rss+xml", "Sample Wire AR", "ar"),
                                         ("vesti_ru.atom", "application/atom+xml", "Vesti", "ru")])
    poller = poller_for(store, client, settings, *feeds)

    first = await poller.poll_all()
    assert [(r.status, len(r.new), r.seen) for r in first] == [("updated", 11, 0), ("updated", 10, 0),
                                                              ("updated", 10, 0)]
    assert "Минобороны Белоруссии начало внезапную проверку боеготовности" in titles(db, feeds[2])

    second = await poller.poll_all()
    assert [r.status for r in second] == ["not-modified"] * 3
    sent = site.requests_to("/wire_ar.xml")[-1]
    assert (sent["If-None-Match"], sent["If-Modified-Since"]) == ('"wire_ar.xml-1"', modified)
    assert db.execute("SELECT count(*) FROM news").fetchone()[0] == 31
    state = get_feed(db, feeds[0].url)
    assert state is not None and (state.items, state.last_success, state.error_count) == (11, NOW, 0)


async def test_the_same_article_under_a_tracking_link_is_not_stored_again_and_a_retouched_copy_is_linked_to_it(
        site: FeedSite, store: StoreThread, client: httpx.AsyncClient, settings: Settings, db: Database) -> None:
    drills = "Finland says allied naval drills in the Baltic will start in December"
    feed = FeedConfig(site.serve("/w.xml", rss(item("a1", drills, link="https://w.example/a1")),
                                 headers={"ETag": '"1"'}), "Wire")
    poller = poller_for(store, client, settings, feed)
    assert len((await poller.poll(feed)).new) == 1

    site.serve("/w.xml", rss(item("a1", drills, link="https://w.example/a1"),
                             item("a1-amp", "Naval drills: Finland", link="https://w.example/a1?utm_source=tg"),
                             item("a1-v2", drills + "!", link="https://w.example/a1-updated"),
                             item("b2", "Grain ships leave Odesa", link="https://w.example/b2")),
               headers={"ETag": '"2"'})
    second = await poller.poll(feed)
    assert ([s.item.guid for s in second.new], second.seen) == (["a1-v2", "b2"], 2)
    assert titles(db, feed) == [drills, drills + "!", "Grain ships leave Odesa"]
    assert db.execute("SELECT d.guid FROM news n JOIN news d ON d.id = n.duplicate_of WHERE n.guid = 'a1-v2'"
                      ).fetchall() == [("a1",)]


async def test_an_outlets_many_feeds_are_fetched_two_at_a_time_not_all_at_once(
        site: FeedSite, store: StoreThread, client: httpx.AsyncClient, settings: Settings) -> None:
    sections = tuple(FeedConfig(site.serve(f"/section{n}.xml", rss(item(f"s{n}", f"Section {n} news")), delay=0.2),
                                f"Outlet section {n}") for n in range(5))

    results = await poller_for(store, client, settings, *sections).poll_all()

    assert [r.status for r in results] == ["updated"] * 5
    assert site.most_in_flight == 2  # one host (the policy's per_host), whatever the overall concurrency


@pytest.mark.parametrize("status", [301, 308])
async def test_a_feed_that_moved_for_good_is_fetched_at_its_new_address_and_the_admins_are_told_once(
        site: FeedSite, store: StoreThread, client: httpx.AsyncClient, settings: Settings, db: Database,
        status: int) -> None:
    new_url = site.serve("/rss/new.xml", rss(item("m1", "Moved but alive")))
    feed = FeedConfig(site.serve("/rss.xml", status=status, headers={"Location": new_url}), "Mover")
    poller = poller_for(store, client, settings, feed)

    assert (await poller.poll(feed)).status == "updated"
    assert (await poller.poll(feed)).status == "updated"

    assert (len(site.requests_to("/rss.xml")), len(site.requests_to("/rss/new.xml"))) == (1, 2)
    state = get_feed(db, feed.url)
    assert state is not None and state.moved_to == new_url
    assert f"  moved permanently to {new_url}" in "\n".join(describe(state))
    notices = [row["text"] for row in pending_for(db) if row["kind"] == "admin"]
    assert len(notices) == len(ADMINS) and all(f"moved permanently from {feed.url} to {new_url}" in n for n in notices)


async def test_a_temporary_redirect_is_followed_but_not_remembered(
        site: FeedSite, store: StoreThread, client: httpx.AsyncClient, settings: Settings, db: Database) -> None:
    new_url = site.serve("/today.xml", rss(item("t1", "Today")))
    feed = FeedConfig(site.serve("/latest.xml", status=302, headers={"Location": new_url}), "Hopper")

    assert (await poller_for(store, client, settings, feed).poll(feed)).status == "updated"

    state = get_feed(db, feed.url)
    assert state is not None and state.moved_to is None and pending_for(db) == []


# --- hostile feeds -------------------------------------------------------------------------


def good_feed(site: FeedSite) -> FeedConfig:
    return FeedConfig(site.serve("/good.xml", rss(item("g1", "Good news one"), item("g2", "Good news two"))), "Good")


@pytest.mark.parametrize(
    ("route", "error"),
    [
        ({"status": 503}, "HTTP 503 Service Unavailable"),
        ({"body": rss(item("1", "Slow")), "trickle": 0.05}, "no complete answer within 0.5 s"),
        ({"status": 302, "headers": {"Location": "/bad.xml"}}, "more than 3 redirects (a redirect loop?)"),
        ({"body": b" " * (20 * MB)}, "response of 20.0 MB is over the 5 MB limit; not read"),
        ({"stream": 20 * MB}, "response is over the 5 MB limit; stopped reading"),
        ({"body": b"<!DOCTYPE html><html><body>Our new website!</body></html>", "content_type": "text/html"},
         "an HTML page (served as text/html), not an RSS or Atom feed; is the feed address right?"),
    ],
    ids=["5xx", "timeout", "redirect-loop", "20MB", "20MB-without-length", "html-page"],
)
async def test_a_feed_that_cannot_be_read_fails_with_a_clear_log_line_and_the_other_feeds_are_polled(
        route: dict, error: str, site: FeedSite, store: StoreThread, client: httpx.AsyncClient,
        settings: Settings, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    bad, good = FeedConfig(site.serve("/bad.xml", **route), "Bad Wire"), good_feed(site)
    results = await poller_for(store, client, settings, bad, good).poll_all()

    assert (results[0].status, results[0].error) == ("failed", error)
    assert any(r.levelno == logging.WARNING and "Bad Wire" in r.getMessage() and error in r.getMessage()
               for r in caplog.records)
    assert titles(db, good) == ["Good news one", "Good news two"]
    state = get_feed(db, bad.url)
    assert state is not None and (state.error_count, state.last_error) == (1, error)


@pytest.mark.parametrize(
    ("body", "headers", "warning", "stored"),
    [
        (rss(item("1", "Good one"), item("2", "Broken &amp; <b>bold")).removesuffix(b"</channel></rss>"), {},
         "not well-formed", ["Good one", "Broken & bold"]),
        (rss(item("1", "Минобороны сообщило"), item("2", "Второе")).decode().encode("cp1251"), {},
         "read as windows-1251", ["Минобороны сообщило", "Второе"]),
        (rss(item("1", "وزارة الدفاع تعلن"), declaration="").decode().encode("cp1256"),
         {"content_type": "application/rss+xml"}, "read as windows-1256", ["وزارة الدفاع تعلن"]),
        (rss(item("1", "Undated", date=None), item("2", "Dated")), {}, "1 entry has no date", ["Dated", "Undated"]),
        (rss(item("1", "From 2030", date="Tue, 01 Jan 2030 00:00:00 +0000"), item("2", "Dated")), {},
         "entry 1 is dated 2030-01-01 00:00 UTC, in the future", ["Dated", "From 2030"]),
        (rss(item("1", "First"), item("1", "Same id again"), item("2", "Second")), {},
         "entry 2 repeats id '1'; kept the first", ["First", "Second"]),
    ],
    ids=["malformed-xml", "wrong-encoding", "missing-encoding", "no-date", "future-date", "duplicate-guid"],
)
async def test_a_bad_entry_or_encoding_gives_a_log_line_and_loses_no_good_entry(
        body: bytes, headers: dict, warning: str, stored: list[str], site: FeedSite, store: StoreThread,
        client: httpx.AsyncClient, settings: Settings, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    language = {"read as windows-1251": "ru", "read as windows-1256": "ar"}.get(warning)
    feed = FeedConfig(site.serve("/feed.xml", body, **headers), "Odd Wire", language)
    result = await poller_for(store, client, settings, feed).poll(feed)

    assert result.status == "updated"
    assert sorted(titles(db, feed)) == sorted(stored)
    assert any(r.levelno == logging.WARNING and "Odd Wire" in r.getMessage() and warning in r.getMessage()
               for r in caplog.records)


# --- backoff, pause, resume ----------------------------------------------------------------


async def test_a_failing_feed_backs_off_then_pauses_and_tells_the_admins_once_and_resumes_when_it_answers(
        site: FeedSite, store: StoreThread, client: httpx.AsyncClient, settings: Settings, db: Database) -> None:
    clock = Clock()
    feed = FeedConfig(site.serve("/down.xml", status=503), "Flaky", interval=600)
    poller = poller_for(store, client, settings, feed, clock=clock)

    waits = []
    for _ in range(4):
        result = await poller.poll(feed)
        assert result.next_poll is not None
        waits.append((result.next_poll - clock.now, result.paused))
        clock.now = result.next_poll
    minutes = [(int(wait.total_seconds() // 60), paused) for wait, paused in waits]
    assert minutes == [(20, False), (40, False), (60, True), (60, True)]  # 600 s * 2^n, capped at 1 h

    notices = [(row["chat_id"], row["kind"], row["text"]) for row in pending_for(db)]
    assert sorted(chat for chat, _, _ in notices) == sorted(ADMINS)
    assert all(kind == "admin" and "Flaky" in text and "paused after 3 failures in a row" in text
               and "HTTP 503 Service Unavailable" in text for _, kind, text in notices)

    site.serve("/down.xml", rss(item("1", "Back online")))
    assert (await poller.poll(feed)).status == "updated"
    state = get_feed(db, feed.url)
    assert state is not None and (state.paused, state.error_count) == (False, 0)
    resumed = [row for row in pending_for(db) if "answers again after 4 failures" in row["text"]]
    assert sorted(row["chat_id"] for row in resumed) == sorted(ADMINS)


@pytest.mark.parametrize(("status", "headers", "wait", "said"), [
    (429, {"Retry-After": "3600"}, timedelta(hours=1), "HTTP 429 Too Many Requests (asked to wait 1 h)"),
    (503, {"Date": "Sun, 29 Nov 2026 21:00:00 GMT", "Retry-After": "Sun, 29 Nov 2026 23:00:00 GMT"},
     timedelta(hours=2), "HTTP 503 Service Unavailable (asked to wait 2 h)"),
    (429, {"Retry-After": "30"}, timedelta(minutes=20), "HTTP 429 Too Many Requests (asked to wait 30 s)"),
    (429, {"Retry-After": "soon"}, timedelta(minutes=20), "HTTP 429 Too Many Requests"),
])
async def test_a_server_that_asks_us_to_wait_is_not_polled_sooner(
        site: FeedSite, store: StoreThread, client: httpx.AsyncClient, settings: Settings,
        status: int, headers: dict[str, str], wait: timedelta, said: str) -> None:
    clock = Clock()
    feed = FeedConfig(site.serve("/busy.xml", status=status, headers=headers), "Busy", interval=600)

    result = await poller_for(store, client, settings, feed, clock=clock).poll(feed)

    # the wait asked for, or the usual backoff (600 s * 2) when that is longer or none was given
    assert result.next_poll == clock.now + wait
    assert result.error == said


async def test_admin_notices_go_to_the_given_notifier_instead_of_the_outbox(
        site: FeedSite, store: StoreThread, client: httpx.AsyncClient, settings: Settings, db: Database) -> None:
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    feed = FeedConfig(site.serve("/down.xml", status=500), "Broken")
    poller = FeedPoller(store, replace(settings, feeds=(feed,), admins=ADMINS), client, notify_admins=notify,
                        policy=replace(POLICY, backoff=Backoff(pause_after=1)), clock=Clock())
    await poller.poll(feed)
    assert len(told) == 1 and "Feed Broken" in told[0] and "HTTP 500 Internal Server Error" in told[0]
    assert pending_for(db) == []


# --- both directions: a statement, then an article that reports it -----------------------


POSTED = NOW - timedelta(hours=3)
REPORT_TEXT = ("Средства ПВО перехватили и уничтожили 24 беспилотных летательных аппарата над Белгородской областью, "
               "сообщило Минобороны России.")


def _alerted_statement(db: Database, settings: Settings) -> int:
    """A Defence Ministry post, alerted to chat 1 (wants coverage follow-ups) and chat 2 (does not)."""
    with transaction(db):
        for chat, wants_coverage in ((1, 1), (2, 0)):
            ensure_subscriber(db, chat, now=POSTED)
            subscribe(db, chat, "channel", "mod_russia", now=POSTED)
            update_subscriber(db, chat, coverage_followups=wants_coverage)
        outcome = ingest_statement(db, Statement(
            channel="mod_russia", ext_id="501", message_id=501, date=POSTED, lang="ru", source="telethon",
            text="Дежурными средствами ПВО в течение прошедшей ночи перехвачены и уничтожены 24 украинских "
                 "беспилотных летательных аппарата над территорией Белгородской области."), settings=settings,
            now=POSTED)
        for row in claim(db, "bot", now=POSTED):
            mark_sent(db, row["id"], [1], now=POSTED)
    assert outcome.covered_by == []
    return outcome.statement_id


def _vesti(guid: str, title: str, text: str) -> str:
    return item(guid, title, date=(POSTED + timedelta(minutes=40)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
                link=f"https://vesti.example/{guid}", text=text)


async def test_an_article_40_minutes_after_a_statement_is_its_coverage_and_only_the_asking_chat_is_told(
        site: FeedSite, store: StoreThread, client: httpx.AsyncClient, settings: Settings, db: Database) -> None:
    statement_id = _alerted_statement(db, settings)

    report = _vesti("7", "Над Белгородской областью ночью уничтожены 24 украинских беспилотника", REPORT_TEXT)
    feed = FeedConfig(site.serve("/vesti.xml", rss(report)), "Вести", "ru")
    result = await poller_for(store, client, settings, feed).poll(feed)

    assert result.new[0].reports == [statement_id] and result.followups == 1
    [covered] = coverage(db, [statement_id])[statement_id]
    assert (covered["source"], covered["delay_minutes"], covered["url"]) == ("Вести", 40, "https://vesti.example/7")
    followups = [(row["chat_id"], row["kind"]) for row in pending_for(db)]
    assert followups == [(1, "coverage")]
    assert "Вести" in pending_for(db)[0]["text"] and "+40 min" in pending_for(db)[0]["text"]


async def test_a_flash_the_outlet_later_fills_in_is_matched_again_and_becomes_coverage(
        site: FeedSite, store: StoreThread, client: httpx.AsyncClient, settings: Settings, db: Database) -> None:
    statement_id = _alerted_statement(db, settings)
    feed = FeedConfig(site.serve("/vesti.xml", rss(_vesti("8", "Молния", "Подробности позже."))), "Вести", "ru")
    poller = poller_for(store, client, settings, feed)
    assert (await poller.poll(feed)).new[0].reports == []

    site.serve("/vesti.xml", rss(_vesti("8", "Над Белгородской областью уничтожены 24 беспилотника", REPORT_TEXT)))
    result = await poller.poll(feed)

    assert (result.new, result.seen, result.followups) == ([], 1, 1)
    assert [n["title"] for n in coverage(db, [statement_id])[statement_id]] == [
        "Над Белгородской областью уничтожены 24 беспилотника"]
    assert db["news"].count == 1 and [row["kind"] for row in pending_for(db)] == ["coverage"]
    assert (await poller.poll(feed)).followups == 0  # the same text again: nothing new


# --- the commands ----------------------------------------------------------------------------


def test_poll_prints_what_each_feed_brought_and_feeds_lists_their_state(
        site: FeedSite, tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site.serve("/en.xml", (FEEDS / "wire_en.xml").read_bytes())
    site.serve("/down.xml", status=502)
    config = tmp_path / "communique.toml"
    config.write_text(f'[[feed]]\nurl = "{site.url("/en.xml")}"\noutlet = "Sample Wire"\n\n'
                      f'[[feed]]\nurl = "{site.url("/down.xml")}"\noutlet = "Down Wire"\n', encoding="utf-8")
    run = ["--config", str(config)]

    assert main([*run, "poll", "--db", str(db_path), "sample"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Sample Wire: 11 new, 0 already stored\n")
    assert "  + 2026-11-28 10:30 Finland says allied naval drills in the Baltic will start in December\n" in out

    assert main([*run, "poll", "--db", str(db_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["Sample Wire: 0 new, 11 already stored", "Down Wire: failed: HTTP 502 Bad Gateway"]

    assert main([*run, "feeds", "--db", str(db_path)]) == 0
    listing = capsys.readouterr().out
    assert f"Sample Wire  {site.url('/en.xml')}\n  last success: " in listing and "items: 11 · next poll: " in listing
    assert "Down Wire" in listing and "last success: never · items: 0" in listing
    assert ": HTTP 502 Bad Gateway (1 failure(s) in a row)" in listing

    assert main([*run, "poll", "--db", str(db_path), "nowhere"]) == 2
    assert "no configured feed matches 'nowhere' (feeds: Sample Wire, Down Wire)" in capsys.readouterr().err
