"""Building and running the bot: the PTB Application, its start-up and shutdown, and the delivery loop.

`communique bot` calls `run_bot`; `communique run` builds the same Application with
`build_application(..., on_startup=[...], on_shutdown=[...])` to start the monitors and job-queue
jobs in the same event loop, then runs it with `serve`.

Lifecycle (what `serve` does, in PTB's order): initialize (getMe: a wrong token or an unreachable
server stops here with `BotUnavailable`) -> post_init (the configuration seeds the store's catalogue;
command menu and description, best effort; the delivery loop; the `on_startup` hooks) -> polling
-> start (handlers, job queue) ... stop -> post_stop (the delivery loop finishes what is on the wire)
-> shutdown -> post_shutdown (the `on_shutdown` hooks).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from communique.bot import redact
from communique.bot.chats import chat_languages
from communique.bot.context import CHAT_LANGUAGES, DELIVERY, SECRETS, SETTINGS, STORE
from communique.bot.delivery import Delivery, DeliveryOptions
from communique.bot.handlers import menu, register
from communique.bot.ratelimit import SlidingWindowLimiter
from communique.bot.reply_limiter import ReplyLimiter
from telegram import BotCommandScopeChat, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, Defaults

from communique.errors import CommuniqueError
from communique.i18n import DEFAULT, LANGUAGES, N_, tr
from communique.settings import Secrets, Settings
from communique.store import StoreThread
from communique.store.catalogue import FOLLOW_EVERY, LiveSettings
from communique.store.lock import serving

log = logging.getLogger("communique.bot")
App = Application[Any, Any, Any, Any, Any, Any]
Hook = Callable[[App], Awaitable[None]]
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
DESCRIPTION = N_("Alerts when official channels (ministries, governments) post, with the news outlets that have "
                 "reported each statement, or a note that none has yet. Subscribe to topics, keywords or channels; "
                 "get a daily digest at your hour.")
SHORT_DESCRIPTION = N_("Official statements, and whether the news has picked them up.")


class BotUnavailable(CommuniqueError):
    """The Bot API refused the token or could not be reached; the bot cannot start."""


def build_application(settings: Settings, secrets: Secrets, store: StoreThread, *,
                      on_startup: Sequence[Hook] = (), on_shutdown: Sequence[Hook] = (),
                      delivery: DeliveryOptions | None = None) -> App:
    """The bot's Application, handlers registered; `on_startup` hooks run after the bot is set up
    (the job queue exists, polling has not begun), `on_shutdown` hooks after it has shut down."""
    token = secrets.require_bot()
    redact.install(token)
    builder = (ApplicationBuilder().token(token)
               .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
               .post_init(lambda app: _post_init(app, on_startup))
               .post_stop(_post_stop)
               .post_shutdown(lambda app: _post_shutdown(app, on_shutdown)))
    if secrets.bot_api_url:
        base = secrets.bot_api_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(_file_url(base))
    options = delivery or delivery_options(settings)
    limiter = SlidingWindowLimiter(options.limits)  # replies and alerts share Telegram's limits
    application = builder.rate_limiter(ReplyLimiter(limiter)).build()
    application.bot_data.update({SETTINGS: LiveSettings(settings), SECRETS: secrets, STORE: store,
                                 DELIVERY: Delivery(application.bot, store, options, limiter=limiter)})
    register(application)
    return application


def delivery_options(settings: Settings) -> DeliveryOptions:
    return DeliveryOptions(give_up_after=timedelta(hours=settings.give_up_hours))


def _file_url(base_url: str) -> str:
    """`http://host:8081/bot` -> `http://host:8081/file/bot`, as a self-hosted Bot API server serves files."""
    head, _, tail = base_url.rpartition("/")
    return f"{head}/file/{tail}"


async def _post_init(application: App, hooks: Sequence[Hook]) -> None:
    application.bot_data[CHAT_LANGUAGES] = await application.bot_data[STORE].run(chat_languages)
    live: LiveSettings = application.bot_data[SETTINGS]
    store: StoreThread = application.bot_data[STORE]
    await store.run(live.start, now=datetime.now(UTC))  # the configuration seeds the catalogue

    async def follow_catalogue(context: object) -> None:  # changes this bot did not make (another process's seed)
        await store.run(live.refresh)

    assert application.job_queue is not None
    application.job_queue.run_repeating(follow_catalogue, interval=FOLLOW_EVERY, first=FOLLOW_EVERY,
                                        name="catalogue:follow")
    await set_up_profile(application)
    application.bot_data[DELIVERY].start()
    for hook in hooks:
        await hook(application)


async def set_up_profile(application: App) -> None:
    """The command menu (admins also see theirs) and the description, in each language (Telegram shows a
    user the ones for their app's language, else the default, English); failures are logged, not fatal."""
    settings: Settings = application.bot_data[SETTINGS].current
    bot = application.bot
    calls: list[tuple[str, Awaitable[Any]]] = []
    for lang in LANGUAGES:
        t, code = tr(lang), None if lang == DEFAULT else lang
        where = f" in {lang}" if code else ""
        calls += [
            (f"command menu{where}", bot.set_my_commands(menu(t=t), language_code=code)),
            (f"description{where}", bot.set_my_description(t.gettext(DESCRIPTION), language_code=code)),
            (f"short description{where}", bot.set_my_short_description(t.gettext(SHORT_DESCRIPTION),
                                                                       language_code=code)),
        ]
        calls += [(f"admin menu for {admin}{where}", bot.set_my_commands(
            menu(admin=True, t=t), scope=BotCommandScopeChat(admin), language_code=code))
            for admin in sorted(settings.admins)]
    for what, call in calls:
        try:
            await call
        except TelegramError as exc:
            log.warning("could not set the bot's %s (%s); serving anyway", what, exc)


async def _post_stop(application: App) -> None:
    await application.bot_data[DELIVERY].stop()


async def _post_shutdown(application: App, hooks: Sequence[Hook]) -> None:
    for hook in hooks:
        await hook(application)


async def serve(application: App, stop: asyncio.Event) -> None:
    """Run the bot (long polling) until `stop` is set, then shut everything down in order."""
    try:
        await application.initialize()
    except InvalidToken as exc:
        raise BotUnavailable("the Bot API server refused TELEGRAM_BOT_TOKEN (wrong or revoked token; "
                             "get one from @BotFather)") from exc
    except NetworkError as exc:
        raise BotUnavailable(f"cannot reach the Bot API server at {_server(application)}: {exc}") from exc
    except TelegramError as exc:
        raise BotUnavailable(f"the Bot API server at {_server(application)} refused to start the bot: {exc}") \
            from exc
    conflict: list[Conflict] = []

    def polling_failed(exc: TelegramError) -> None:
        if isinstance(exc, Conflict):  # another process is polling with this token
            conflict.append(exc)
            stop.set()
        else:
            log.error("polling for updates failed; retrying", exc_info=exc)

    try:
        if application.post_init:
            await application.post_init(application)
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES, error_callback=polling_failed)
        await application.start()
        log.info("bot @%s is serving", application.bot.username)
        await stop.wait()
    finally:
        await _shut_down(application, quiet_updater=bool(conflict))
    if conflict:
        raise BotUnavailable("another process is reading this bot's updates (Telegram answered 409 Conflict: "
                             "only one bot instance may run per token); stopped")


async def _shut_down(application: App, *, quiet_updater: bool = False) -> None:
    """Stop in PTB's order.  With `quiet_updater` (another instance holds getUpdates), the updater's last
    getUpdates, which marks updates read, fails the same way; that is the other instance's job, not an error."""
    if application.updater is not None and application.updater.running:
        updater_log = logging.getLogger("telegram.ext.Updater")
        level = updater_log.level
        if quiet_updater:
            updater_log.setLevel(logging.CRITICAL)
        try:
            await application.updater.stop()
        finally:
            updater_log.setLevel(level)
    if application.running:
        await application.stop()
    if application.post_stop:
        await application.post_stop(application)
    await application.shutdown()
    if application.post_shutdown:
        await application.post_shutdown(application)


def _server(application: App) -> str:
    """The Bot API server's address without the token."""
    return application.bot.base_url.rpartition("/bot")[0] or "the Bot API"


def run_bot(settings: Settings, secrets: Secrets, db_path: str | Path, *, on_startup: Sequence[Hook] = (),
            on_shutdown: Sequence[Hook] = (), delivery: DeliveryOptions | None = None) -> int:
    """`communique bot`: serve until SIGINT or SIGTERM; returns the exit status."""
    store = StoreThread(db_path)
    try:
        store.open()  # a store that cannot be opened stops the start, before the bot says it is serving
        with serving(db_path):
            application = build_application(settings, secrets, store, on_startup=on_startup,
                                             on_shutdown=on_shutdown, delivery=delivery)
            asyncio.run(_serve_until_signalled(application))
    finally:
        store.close()
    return 0


async def _serve_until_signalled(application: App) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(application, stop)
