"""`communique demo`: the whole path on bundled sample data, offline, with no credentials.

Imports the sample news feeds and an official channel's Telegram export, matches and
alerts as if the posts had just been published, and prints what each sample subscriber
would receive, then their digests.
"""

from __future__ import annotations

import tempfile
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from communique import alert_coverage, embedding_index
from communique.digest import build_digest, render_digest
from communique.embedding_worker import BATCH, configured_embedder
from communique.errors import ConfigError
from communique.i18n import choose, tr
from communique.locations import samples_dir
from communique.messages import to_terminal
from communique.monitors.importing import import_file
from communique.settings import Settings
from communique.store import open_db, transaction
from communique.store.subscribers import ensure_subscriber, subscribe, update_subscriber

# The sample posts are from 26-28 November 2026: the demo's clock stands just after them.
DEMO_NOW = datetime.fromisoformat("2026-11-28T21:00:00+00:00")

GO_LIVE = """\
Going live
  1. Create a bot with @BotFather and put its token in .env as TELEGRAM_BOT_TOKEN=...
  2. For live channel monitoring, get an API id and hash at my.telegram.org and set
     TELEGRAM_API_ID and TELEGRAM_API_HASH; then run `communique login` once.
     (Without them, channels are read from their public t.me/s/ preview pages.)
  3. `communique init` writes your own communique.toml (channels, feeds, topics, admins)
     and .env.example, and says where communique will find them.
  4. Run `communique run`."""


def load_subscribers(db: Database, path: Path, settings: Settings, *, now: datetime) -> dict[int, str]:
    """Create the sample subscribers; returns chat id -> display name."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read sample subscribers ({exc})") from exc
    names = {}
    for entry in data.get("subscriber", []):
        chat_id = int(entry["chat_id"])
        names[chat_id] = entry.get("name", str(chat_id))
        ensure_subscriber(db, chat_id, now=now, title=names[chat_id])
        update_subscriber(db, chat_id, timezone=entry.get("timezone", settings.timezone),
                          digest_time=entry.get("digest", settings.digest_time),
                          language=choose(entry.get("language")))
        for follow in entry.get("follows", []):
            kind, _, value = follow.partition(":")
            if kind == "topic" and settings.topic(value) is None:
                raise ConfigError(f"{path}: chat {chat_id} follows unknown topic {value!r}")
            subscribe(db, chat_id, kind, value.lstrip("@").lower() if kind == "channel" else value, now=now)
    return names


def run_demo(out: TextIO, settings: Settings, *, samples: Path | None = None, db_path: Path | None = None,
             now: datetime = DEMO_NOW) -> None:
    """Run the demo on `samples` (default: the samples installed with the package)."""
    samples = samples or samples_dir()
    with tempfile.TemporaryDirectory(prefix="communique-demo-") as tmp:
        db = open_db(db_path or Path(tmp) / "demo.db")
        try:
            _run(db, out, settings, samples, now)
        finally:
            db.conn.close()


def _run(db: Database, out: TextIO, settings: Settings, samples: Path, now: datetime) -> None:
    print("Communique demo: offline, on bundled sample data (fictional).\n", file=out)
    with transaction(db):
        names = load_subscribers(db, samples / "subscribers.toml", settings, now=now)
    for feed in sorted((samples / "feeds").iterdir()):
        print("imported", import_file(db, feed, settings, now=now).line(), file=out)
    export = samples / "mod_russia_export" / "result.json"
    print("imported", import_file(db, export, settings, now=now, alert=True).line(), file=out)
    embedder = configured_embedder(settings)
    if embedder is not None:  # what `communique run` does behind ingest, done here at once
        done = embedding_index.embed_pending(db, embedder, settings=settings, now=now, batch=BATCH)
        print(f"embedding pass: {done.statements + done.news} texts embedded, {len(done.matches)} more report(s) "
              "found by meaning", file=out)
    for chat_id, name in names.items():
        rows = list(db.query("SELECT text FROM outbox WHERE chat_id = ? ORDER BY id", [chat_id]))
        print(f"\n{'=' * 72}\n{name} (chat {chat_id}): {len(rows)} alert(s)\n{'=' * 72}", file=out)
        for row in rows:
            print(f"\n{to_terminal(alert_coverage.complete(db, row['text']))}\n{'-' * 40}", file=out)
        sub = db.execute("SELECT timezone, language FROM subscribers WHERE chat_id = ?", (chat_id,)).fetchone()
        digest = build_digest(db, chat_id, start=now - timedelta(days=3), end=now, settings=settings)
        print(f"\n--- daily digest for {name} ---", file=out)
        for message in render_digest(digest, ZoneInfo(sub[0] or settings.timezone), tr(sub[1])):
            print(to_terminal(message), file=out)
    print(f"\n{GO_LIVE}", file=out)
