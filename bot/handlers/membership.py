"""The bot's own membership in a chat: Telegram says when it is blocked, unblocked, added or removed."""

from __future__ import annotations

from communique.bot.context import Context, schedule_changed, store_of
from communique.bot.handlers.common import log, register_chat
from telegram import ChatMember, Update

from communique.store.subscribers import deactivate

GONE = (ChatMember.LEFT, ChatMember.BANNED)


async def membership(update: Update, context: Context) -> None:
    """Blocked or removed: stop sending there at once; unblocked or added: the chat is served again."""
    change = update.my_chat_member
    assert change is not None
    chat_id, status = change.chat.id, change.new_chat_member.status
    if status in GONE:
        await store_of(context).run(deactivate, chat_id)
        await schedule_changed(context, chat_id)
        log.info("chat %s removed or blocked the bot; marked inactive", chat_id)
    elif change.old_chat_member.status in GONE:
        await register_chat(update, context, announce=True)  # reactivates a known chat, registers a new one
        log.info("chat %s added or unblocked the bot", chat_id)
