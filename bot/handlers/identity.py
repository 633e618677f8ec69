"""`/whoami`: the ids a new operator needs, without a third-party bot to find them."""

from __future__ import annotations

from communique.bot.context import Context
from communique.bot.handlers.common import is_admin, reply
from telegram import Update


async def whoami(update: Update, context: Context) -> None:
    """Reply with the sender's Telegram user id and this chat's id, for `admins` in the configuration."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    lines = [f"Your Telegram user id: <code>{user.id}</code>"]
    if chat.id != user.id:
        lines.append(f"This chat's id: <code>{chat.id}</code>")
    lines.append("You are one of this bot's administrators." if is_admin(update, context) else
                 f"To administer this bot, add {user.id} to <code>admins</code> in communique.toml and restart it.")
    await reply(update, "\n".join(lines))
