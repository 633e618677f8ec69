"""Telethon specifics the monitor relies on: the reconnect hook, what to resolve, what errors mean."""

from __future__ import annotations

from collections.abc import Callable

from telethon import TelegramClient, errors, utils
from telethon.tl import types

from communique.settings import ChannelConfig


class MonitorClient(TelegramClient):
    """A TelegramClient that also tells its listeners when it has reconnected on its own.

    Telethon reconnects silently after a network drop and has no public hook for it, so
    this overrides the method its sender calls after reconnecting.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.reconnect_listeners: list[Callable[[], None]] = []

    async def _handle_auto_reconnect(self) -> None:
        for listener in list(self.reconnect_listeners):
            listener()
        await super()._handle_auto_reconnect()


def channel_target(channel: ChannelConfig) -> str | types.PeerChannel:
    """What to resolve: the username, else the numeric id (plain, or marked -100...)."""
    if channel.username:
        return channel.username
    assert channel.tg_id is not None
    return types.PeerChannel(utils.resolve_id(channel.tg_id)[0] if channel.tg_id < 0 else channel.tg_id)


def broken_reason(exc: BaseException) -> str:
    """Why a channel cannot be read, in words an admin can act on.

    Telethon turns an unknown username or an uncached id into a ValueError while resolving it.
    """
    if isinstance(exc, errors.ChannelPrivateError):
        return "it is private now, or this account was banned from it"
    if isinstance(exc, errors.ChannelInvalidError | errors.ChannelBannedError | errors.ChannelPublicGroupNaError):
        return "Telegram says the channel is invalid or banned"
    if isinstance(exc, errors.ChatForbiddenError):
        return "this account may not read it"
    if isinstance(exc, errors.UsernameInvalidError):
        return "the username is not valid"
    if isinstance(exc, errors.UsernameNotOccupiedError | ValueError):
        return f"Telegram does not know it (renamed or deleted?): {exc}"
    return f"{type(exc).__name__}: {exc}"
