"""Campaign: kill -9 `communique bot` during a fan-out, restart it, and count what was lost or sent twice.

A fan-out of alerts (`--chats` chats, `--alerts` alerts each, a group for every nine private chats)
is queued in the outbox of a fresh store; `communique bot` (a real process, PTB's real HTTP stack)
delivers it to the local fake Bot API server (tests/fakebotapi.py, run inside this script, answering
each request after `--delay` seconds and enforcing Telegram's limits).  Once the bot says it is
serving, it is killed with SIGKILL at a random moment (`--seed`) and started again at once, `--kills`
times; the last one delivers the rest and is stopped with SIGTERM.  Then, from what the server
received and what the store held at each kill:

- lost: alerts queued but never received by the server (want 0);
- sent twice: alerts received more than once, and whether each was in flight at a kill (claimed by
  the killed process, not recorded as sent, and already on the wire: its answer never arrived);
- re-sent after a restart: how long after its restart each claim of a killed process reached the
  server (the worst one; want under 30 s);
- each chat's order, 429 answers, limits broken, and tracebacks in the bot's logs.

Then a loop over the CLI with the hostile inputs of tests/test_hostile_inputs.py (and the issue's
campaign) counts exit statuses and tracebacks on stderr (want 0).

    .venv/bin/python bench/kill_campaign.py                     # 12 kills, 150 ms answers (~3 min)
    .venv/bin/python bench/kill_campaign.py --kills 3 --chats 100 --skip-inputs
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from communique.store.sqlite import sqlite3

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakebotapi import FakeBotAPI  # noqa: E402

from communique.models import Alert  # noqa: E402
from communique.store import open_db, outbox, transaction  # noqa: E402

CONFIG = ROOT / "config" / "communique.toml"


@dataclass
class Receipt:
    """One sendMessage the server answered 200: when it reached the server and when it was answered."""

    text: str
    chat_id: int
    start: float
    end: float


@dataclass
class Kill:
    started: float  # the process was spawned
    serving: float  # it logged "is serving"
    killed: float
    claims: dict[int, str] = field(default_factory=dict)  # outbox id -> text, `sending` at the kill
    restarted: float = 0.0


class RecordingFakeBotAPI(FakeBotAPI):
    """The fake server, also recording when each accepted sendMessage arrived and was answered."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.receipts: list[Receipt] = []

    def handle(self, path: str, query: str, content_type: str, body: bytes) -> tuple[int, dict[str, Any]]:
        start = time.monotonic()
        status, payload = super().handle(path, query, content_type, body)
        if path.endswith("/sendMessage") and status == 200:
            message = payload["result"]
            with self._cond:
                self.receipts.append(Receipt(message["text"], message["chat"]["id"], start, time.monotonic()))
        return status, payload


def chat_ids(count: int) -> list[int]:
    return [-1_000_000_000_000 - i if i % 10 == 0 else 10_000 + i for i in range(count)]


def queue_fan_out(db_path: Path, chats: list[int], alerts: int) -> dict[int, list[str]]:
    """One alert after another, each to every chat, as a fan-out queues them; returns each chat's texts."""
    db = open_db(db_path)
    texts: dict[int, list[str]] = defaultdict(list)
    with transaction(db):
        for n in range(alerts):
            for chat in chats:
                text = f"Alert {n} to chat {chat}"
                outbox.enqueue(db, Alert(f"alert:campaign/{n}", chat, text), now=datetime.now(UTC))
                texts[chat].append(text)
    db.conn.close()
    return texts


def outbox_rows(db_path: Path, state: str) -> dict[int, str]:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return dict(conn.execute("SELECT id, text FROM outbox WHERE state = ?", (state,)).fetchall())


def unsettled(db_path: Path) -> int:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0]


def start_bot(db_path: Path, fake: FakeBotAPI, log_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BOT_API_URL": fake.base_url,
           "COMMUNIQUE_CONFIG": str(CONFIG)}
    with log_path.open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "communique.cli", "bot", "--db", str(db_path)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=log_path.parent, env=env)


def wait_serving(process: subprocess.Popen[bytes], log_path: Path, timeout: float = 120.0) -> float:
    deadline = time.monotonic() + timeout
    while b"is serving" not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the bot did not start; its log:\n{log_path.read_text()}")
        time.sleep(0.02)
    return time.monotonic()


def run_campaign(work: Path, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    db_path = work / "campaign.db"
    chats = chat_ids(args.chats)
    expected = queue_fan_out(db_path, chats, args.alerts)
    queued = sum(len(t) for t in expected.values())
    kills: list[Kill] = []
    with RecordingFakeBotAPI(enforce_rate_limits=True, latency=args.delay) as fake:
        started = time.monotonic()
        log_path = work / "bot-0.log"
        process = start_bot(db_path, fake, log_path)
        for life in range(1, args.kills + 1):
            serving = wait_serving(process, log_path)
            time.sleep(rng.uniform(0.0, args.max_wait))
            if not unsettled(db_path):
                print(f"the outbox was delivered before kill {life}; stopping the kills there")
                break
            process.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            process.wait()
            kill = Kill(started=kills[-1].restarted if kills else started, serving=serving, killed=killed,
                        claims=outbox_rows(db_path, "sending"))
            log_path = work / f"bot-{life}.log"
            process = start_bot(db_path, fake, log_path)
            kill.restarted = time.monotonic()
            kills.append(kill)
        wait_serving(process, log_path)
        while unsettled(db_path):
            if process.poll() is not None:
                raise SystemExit(f"the bot stopped; its log:\n{log_path.read_text()}")
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=60)
        throttled = sum(1 for c in fake.calls if c.status == 429)
        violations = fake.rate_violations()
        receipts = sorted(fake.receipts, key=lambda r: r.start)
    report(work, args, queued, expected, kills, receipts, elapsed, status, throttled, violations)


def report(work: Path, args: argparse.Namespace, queued: int, expected: dict[int, list[str]], kills: list[Kill],
           receipts: list[Receipt], elapsed: float, status: int, throttled: int, violations: list[str]) -> None:
    received = Counter(r.text for r in receipts)
    lost = [t for texts in expected.values() for t in texts if t not in received]
    twice = {text for text, n in received.items() if n > 1}
    firsts: dict[str, Receipt] = {}
    for receipt in receipts:
        firsts.setdefault(receipt.text, receipt)
    # In flight at a kill: claimed by the killed process, not recorded as sent, and on the server before the restart.
    in_flight = {text for kill in kills for text in kill.claims.values()
                 if text in firsts and firsts[text].start < kill.restarted}
    resend_delays, never_resent = [], 0
    for kill in kills:
        for text in kill.claims.values():
            again = next((r for r in receipts if r.text == text and r.start >= kill.restarted), None)
            if again is None:
                never_resent += 1
            else:
                resend_delays.append(again.end - kill.restarted)
    out_of_order = 0
    for chat, texts in expected.items():
        order = [r.text for r in receipts if r.chat_id == chat]
        firsts_in_order = list(dict.fromkeys(order))
        out_of_order += sum(1 for a, b in itertools.pairwise(firsts_in_order) if texts.index(a) > texts.index(b))
    logs = sorted(work.glob("bot-*.log"))
    tracebacks = sum(p.read_text(errors="replace").count("Traceback") for p in logs)
    starts = [k.serving - k.started for k in kills]
    print(f"fan-out: {queued:,} alerts to {len(expected):,} chats; answers after {args.delay * 1000:.0f} ms; "
          f"Telegram's limits enforced; seed {args.seed}")
    print(f"kill -9: {len(kills)} times, {sum(len(k.claims) for k in kills):,} claims held by the killed "
          f"processes in all; start to serving {min(starts, default=0):.1f}-{max(starts, default=0):.1f} s")
    print(f"delivered in {elapsed:.1f} s; the last process stopped with status {status}")
    print(f"lost: {len(lost)}")
    print(f"sent twice: {len(twice)}, of which in flight at a kill: {len(twice & in_flight)} "
          f"(sends in flight at the kills: {len(in_flight)})")
    print(f"claims of a killed process re-sent after its restart: {len(resend_delays)}, the last after "
          f"{max(resend_delays, default=0):.1f} s (median {sorted(resend_delays)[len(resend_delays) // 2]:.1f} s)"
          if resend_delays else "no claims held at the kills")
    print(f"claims of a killed process never sent after its restart: {never_resent}")
    print(f"chats' messages out of order: {out_of_order} pairs; 429 answers: {throttled}; limits broken: "
          f"{len(violations)}")
    print(f"tracebacks in the bot's logs ({len(logs)} processes): {tracebacks}")
    ok = not lost and not never_resent and twice <= in_flight and max(resend_delays, default=0) < 30 and not tracebacks
    print("campaign: " + ("held" if ok else "FAILED"))


# -- hostile inputs --------------------------------------------------------------------------------------

def _export(message: dict[str, Any]) -> str:
    base = {"id": 1, "type": "message", "date": "2026-11-28T10:00:00", "date_unixtime": "1795860000",
            "text": "Заявление"}
    return json.dumps({"name": "x", "type": "public_channel", "id": 1, "messages": [base | message]})


def _statement(**fields: Any) -> str:
    return json.dumps({"id": "1", "text": "x", "channel": "mod_russia"} | fields)


def _feed(item: str, head: str = "") -> str:
    return (f'<?xml version="1.0"?>{head}<rss version="2.0"><channel><title>Wire</title>'
            f"<item><guid>1</guid>{item}</item></channel></rss>")


_LAUGHS = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
# name -> (file name, content, extra arguments); the file is imported with `communique import`.
IMPORTS: dict[str, tuple[str, str, list[str]]] = {
    "date 1e20": ("s.jsonl", '{"id": "1", "text": "x", "channel": "mod_russia", "date": 1e20}', ["--as", "statements"]),
    "date Infinity": ("s.jsonl", '{"id": "1", "text": "x", "channel": "mod_russia", "date": Infinity}',
                      ["--as", "statements"]),
    "date 9999-12-31": ("s.jsonl", _statement(date="9999-12-31"), ["--as", "statements"]),
    "date 0001-01-01": ("s.jsonl", _statement(date="0001-01-01"), ["--as", "statements"]),
    "id of 20 digits": ("s.jsonl", '{"id": 12345678901234567890, "text": "x", "channel": "mod_russia"}',
                        ["--as", "statements"]),
    "id of 20 digits, quoted": ("s.jsonl", _statement(id="12345678901234567890"), ["--as", "statements"]),
    "id of 5,000 digits": ("s.jsonl", '{"id": ' + "9" * 5000 + ', "text": "x"}', ["--as", "statements"]),
    "id ²": ("s.jsonl", _statement(id="²"), ["--as", "statements"]),
    "lone surrogate": ("s.jsonl", '{"id": "1", "text": "a\\ud800b", "channel": "mod_russia"}', ["--as", "statements"]),
    "100,000-deep nesting": ("s.jsonl", '{"id": "1", "text": ' + "[" * 100_000 + "]" * 100_000 + "}",
                             ["--as", "statements"]),
    "not JSON": ("s.jsonl", '{"id": "1", "text": ', ["--as", "statements"]),
    "javascript: link": ("s.jsonl", _statement(url="javascript:alert(1)"), ["--as", "statements"]),
    "data: link": ("n.jsonl", json.dumps({"id": "1", "text": "x", "url": "data:text/html,<script>alert(1)</script>"}),
                   ["--as", "news"]),
    "channel with markup": ("s.jsonl", _statement(channel="<b>mod</b>"), ["--as", "statements"]),
    "channel with a space": ("s.jsonl", _statement(channel="mod russia"), ["--as", "statements"]),
    "10 MB line": ("n.jsonl", json.dumps({"id": "1", "text": "x" * 10_000_000}), ["--as", "news"]),
    "200,000-character text": ("n.jsonl", json.dumps({"id": "1", "text": "word " * 40_000}), ["--as", "news"]),
    "export: date_unixtime 1e20": ("result.json", _export({"date_unixtime": "100000000000000000000"}), []),
    "export: year 1": ("result.json", _export({"date_unixtime": None, "date": "0001-01-01T00:00:00"}), []),
    "export: id 10**30": ("result.json", _export({"id": 10**30}), []),
    "export: lone surrogate": ("result.json", _export({"text": "a\ud800b"}), []),
    "export: 100,000-deep nesting": ("result.json", '{"messages": ' + "[" * 100_000 + "]" * 100_000 + "}", []),
    "export: 26 MB message": ("result.json", _export({"text": "Statement " * 2_600_000}), []),
    "feed: pubDate in year 1": ("wire.xml", _feed("<title>Air defences downed 24 drones</title>"
                                                  "<pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate>"), []),
    "feed: entity bomb": ("wire.xml", _feed("<title>Laughs</title><description>&lol9;</description>",
                                            f'<!DOCTYPE rss [<!ENTITY lol0 "lol">{_LAUGHS}]>'), []),
    "feed: external entity": ("wire.xml", _feed("<title>&xxe;</title>",
                                                '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'), []),
}
# name -> arguments; the command's output is read for one line, then its pipe is closed (`| head -1`).
PIPES: dict[str, list[str]] = {
    "demo | head -1": ["demo"],
    "feeds | head -1": ["feeds"],
    "match | head -1": ["match", "--statements", "many.jsonl", "--news", "many.jsonl"],
}


@dataclass
class Outcome:
    name: str
    status: int
    stderr: str


def _cli(work: Path) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "COMMUNIQUE_CONFIG": str(CONFIG), "COMMUNIQUE_DB": str(work / "inputs.db")}
    return [sys.executable, "-m", "communique.cli"], env


def try_import(work: Path, name: str) -> Outcome:
    file_name, content, extra = IMPORTS[name]
    folder = work / f"input-{list(IMPORTS).index(name)}"
    folder.mkdir()
    path = folder / file_name
    path.write_text(content + "\n", encoding="utf-8", errors="surrogatepass")
    command, env = _cli(work)
    env["COMMUNIQUE_DB"] = str(folder / "c.db")
    done = subprocess.run([*command, "import", *extra, str(path)], capture_output=True, text=True, cwd=folder,
                          env=env, timeout=600)
    return Outcome(name, done.returncode, done.stderr)


def try_pipe(work: Path, name: str) -> Outcome:
    command, env = _cli(work)
    process = subprocess.Popen([*command, *PIPES[name]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=work,
                               env=env)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode(errors="replace")
    return Outcome(name, process.wait(timeout=600), stderr)


def run_inputs(work: Path) -> None:
    (work / "many.jsonl").write_text("".join(json.dumps({"id": f"s{n}", "text": f"Statement {n} about drones"})
                                             + "\n" for n in range(3000)))
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda name: try_import(work, name), IMPORTS))
        outcomes += list(pool.map(lambda name: try_pipe(work, name), PIPES))
    for outcome in outcomes:
        lines = outcome.stderr.strip().splitlines()
        said = lines[-1].replace(f"{work}/", "") if lines else ""
        print(f"  {outcome.name:32} exit {outcome.status:3}  {len(lines)} line(s)  {said[:110]}")
    tracebacks = sum(1 for o in outcomes if "Traceback" in o.stderr)
    errors = [o for o in outcomes if o.status == 2]
    long_errors = [o.name for o in errors if len(o.stderr.strip().splitlines()) != 1]
    other = [o.name for o in outcomes if o.status not in (0, 2, 128 + signal.SIGPIPE)]
    print(f"hostile inputs: {len(outcomes)} commands; {len(errors)} refused with exit 2 "
          f"({len(long_errors)} in more than one line), {sum(o.status == 0 for o in outcomes)} accepted, "
          f"{sum(o.status == 128 + signal.SIGPIPE for o in outcomes)} ended by the closed pipe; "
          f"other statuses: {other or 0}; tracebacks: {tracebacks}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--delay", type=float, default=0.15, help="seconds the server takes to answer a request")
    parser.add_argument("--chats", type=int, default=400)
    parser.add_argument("--alerts", type=int, default=5, help="alerts queued for each chat")
    parser.add_argument("--max-wait", type=float, default=6.0,
                        help="each kill comes at a random moment up to this many seconds after the bot serves")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--skip-inputs", action="store_true", help="only the kill campaign")
    parser.add_argument("--keep", action="store_true", help="keep the store and the logs (printed path)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="communique-campaign-"))
    try:
        run_campaign(work, args)
        if not args.skip_inputs:
            run_inputs(work)
    finally:
        if args.keep:
            print(f"store and logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
