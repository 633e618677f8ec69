"""`/whoami`: the ids a new operator needs, without a third-party bot to find them."""

from __future__ import annotations

from communique.bot.context import Context
from communique.bot.handlers.common import is_admin, reply, translator
from telegram import Update


async def whoami(update: Update, context: Context) -> None:
    """Reply with the sender's Telegram user id and this chat's id, for `admins` in the configuration."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    t = translator(update, context)
    lines = [t.gettext("Your Telegram user id: {id}").format(id=f"<code>{user.id}</code>")]
    if chat.id != user.id:
        lines.append(t.gettext("This chat's id: {id}").format(id=f"<code>{chat.id}</code>"))
    lines.append(t.gettext("You are one of this bot's administrators.") if is_admin(update, context) else
                 t.gettext("To administer this bot, add {id} to {admins} in communique.toml and restart it.").format(
                     id=user.id, admins="<code>admins</code>"))
    await reply(update, "\n".join(lines), t=t)
